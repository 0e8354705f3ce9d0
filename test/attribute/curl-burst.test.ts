/**
 * A burst of short-lived curls plus one keep-alive client, captured on the real capture path
 * inside the instance namespace (the benchmark's worker, compiled): every attribution that
 * names a pid names the pid that really made the call, every SYN gets an answer, and the
 * long-lived client is always named. How many curls are named in time is the benchmark's job.
 */
import t from 'tap';
import type { ChildProcess } from 'node:child_process';
import { createImdsLink, type ImdsLink } from '../helpers/netns.js';
import { ensureBuilt } from './build-dist.js';
import { startImds } from './helpers.js';
import type { BurstResult } from '../../bench/attribution-result.js';

let link: ImdsLink;
let servers: ChildProcess[] = [];
let worker: string;

t.before(async () => {
  [worker = ''] = await ensureBuilt(['bench/attribution-worker.ts']);
  link = await createImdsLink('cb');
  servers = await startImds(link.imds);
});

t.teardown(async () => {
  for (const s of servers) s.kill();
  await link.destroy();
});

t.test('20 parallel curls and a keep-alive client: no wrong pid, every SYN answered', async (t) => {
  const r = await link.instance.run(
    process.execPath,
    [worker, '20', 'tuned', '0', 'eth0'],
    120_000,
  );
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as BurstResult;
  t.equal(out.wrong, 0, 'no attribution names a wrong pid');
  t.ok(out.keepaliveRight, 'the long-lived client is named');
  t.ok(out.synsSeen > 1, `SYNs captured: ${out.synsSeen}`);
  t.equal(out.right + out.exited + out.unknown + 1, out.synsSeen, 'every captured SYN resolved');
  t.comment(
    `right ${out.right}, exited ${out.exited}, unknown ${out.unknown} of ${out.synsSeen - 1} curls seen`,
  );
});
