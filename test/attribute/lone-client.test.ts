/**
 * Lone short-lived clients, one after the other, against a fake IMDS that answers at once, on
 * the real capture path inside the instance namespace (the benchmark's worker in lone mode,
 * compiled): the attribution names the client's own pid for most of them, and never a wrong
 * one. A lone `curl` here is gone 1-5 ms after its SYN, so this is the race the pre-scan of new
 * processes and the table read-ahead exist for; before them, 0-1 of 20 were named.
 */
import t from 'tap';
import type { ChildProcess } from 'node:child_process';
import { createImdsLink, type ImdsLink } from '../helpers/netns.js';
import { ensureBuilt } from './build-dist.js';
import { startImds } from './helpers.js';
import type { LoneResult } from '../../bench/attribution-result.js';

let link: ImdsLink;
let servers: ChildProcess[] = [];
let worker: string;

t.before(async () => {
  [worker = ''] = await ensureBuilt(['bench/attribution-worker.ts']);
  link = await createImdsLink('lc');
  servers = await startImds(link.imds);
});

t.teardown(async () => {
  for (const s of servers) s.kill();
  await link.destroy();
});

async function runLone(client: 'curl' | 'urllib', n: number): Promise<LoneResult> {
  const r = await link.instance.run(
    process.execPath,
    [worker, String(n), 'tuned', '-10', 'eth0', client],
    180_000,
  );
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as LoneResult;
}

/**
 * Threshold, from bench/attribution.md (2-CPU host shared with other suites, load 5-20, nice
 * -10 as the service runs): lone curls were named 28-32 of 40 with sock_diag and the pre-scan
 * (16-17 of 20 in this test), 10 of 40 (p ~ 0.25) without the pre-scan. Half of 20 fails by
 * chance with p = 0.7 under 2% of the time and passes with p = 0.25 about 1%: stable on a
 * loaded machine, and still catches the pre-scan breaking.
 */
t.test('20 lone curl calls: at least half named with their own pid, none wrong', async (t) => {
  const out = await runLone('curl', 20);
  t.equal(out.clients, 20, 'every client ran');
  t.equal(out.synsSeen, 20, 'every SYN captured');
  t.equal(out.wrong, 0, 'no attribution names a wrong pid');
  t.equal(out.right + out.exited + out.unknown, 20, 'every lookup answered');
  t.ok(out.right >= 10, `named with the right pid: ${out.right} of 20`);
  t.comment(`right ${out.right}, exited ${out.exited}, unknown ${out.unknown}`, out.reasons);
});

/**
 * Python urllib sends `Connection: close`: the server closes first and the client's socket is
 * gone within a millisecond or two, often before the pre-scan reads the client's fds (measured
 * 14-16 of 40 named against an instant server, 7-8 of 10 in this test): no share is asserted,
 * only that whatever is named is right and that the misses say why.
 */
t.test('10 lone urllib calls: never a wrong pid, every miss with a reason', async (t) => {
  const out = await runLone('urllib', 10);
  t.equal(out.clients, 10, 'every client ran');
  t.equal(out.synsSeen, 10, 'every SYN captured');
  t.equal(out.wrong, 0, 'no attribution names a wrong pid');
  t.equal(out.right + out.exited + out.unknown, 10, 'every lookup answered');
  for (const reason of Object.keys(out.reasons)) {
    t.match(
      reason,
      /^(exited: (socket already closed|no live process holds)|unknown: socket not found)/,
    );
  }
  t.comment(`right ${out.right}, exited ${out.exited}, unknown ${out.unknown}`, out.reasons);
});
