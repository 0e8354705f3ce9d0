/**
 * Least privilege, for real: the compiled probe runs as nobody with only CAP_NET_RAW,
 * CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH and must still name a root-owned client in another
 * namespace; with no capabilities it must name what is missing. And the lsof path, for real,
 * inside the instance namespace (lsof only resolves sockets of its own namespace).
 */
import t from 'tap';
import type { ChildProcess } from 'node:child_process';
import { createImdsLink, run, type ImdsLink } from '../helpers/netns.js';
import { ensureBuilt } from './build-dist.js';
import { clientScript, PYTHON, startImds, waitForLine } from './helpers.js';

interface ProbeOutput {
  method: string;
  missing: string[];
  logs: string[];
  status: string;
  pid?: number;
  uid?: number;
  userName?: string;
  reason?: string;
}

let link: ImdsLink;
let servers: ChildProcess[] = [];
let clientChild: ChildProcess;
let probe: string;
let clientPid = 0;
let clientPort = 0;

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const CAPS = '+net_raw,+sys_ptrace,+dac_read_search';

async function runProbe(prefix: string[], args: string[]): Promise<ProbeOutput> {
  const cmd = [...prefix, process.execPath, probe, ...args];
  const r = await run(cmd[0] ?? '', cmd.slice(1), 60_000);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ProbeOutput;
  } catch {
    throw new Error(`probe failed (${r.code}): ${r.stderr}`);
  }
}

t.before(async () => {
  [probe = ''] = await ensureBuilt(['test/attribute/probe.ts']);
  link = await createImdsLink('lp');
  servers = await startImds(link.imds);
  clientChild = link.instance.spawn(PYTHON, ['-c', clientScript, '169.254.169.254', 'keepalive']);
  const [, pid, port] = (await waitForLine(clientChild, /^connected /)).split(' ');
  clientPid = Number(pid);
  clientPort = Number(port);
});

t.teardown(async () => {
  clientChild.kill();
  for (const s of servers) s.kill();
  await link.destroy();
});

t.test(
  'nobody with CAP_NET_RAW, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH names a root client',
  async (t) => {
    const out = await runProbe(
      ['setpriv', ...NOBODY, `--inh-caps=${CAPS}`, `--ambient-caps=${CAPS}`],
      ['auto', '192.0.2.2', String(clientPort), '169.254.169.254'],
    );
    t.same(out.missing, [], 'no capability missing');
    t.equal(out.method, 'proc', 'auto picks /proc');
    t.equal(out.status, 'ok', out.reason ?? 'named');
    t.equal(out.pid, clientPid);
    t.equal(out.uid, 0);
    t.equal(out.userName, 'root');
  },
);

t.test('nobody without capabilities is told exactly which are missing', async (t) => {
  const out = await runProbe(
    ['setpriv', ...NOBODY],
    ['proc', '192.0.2.2', String(clientPort), '169.254.169.254'],
  );
  t.same(out.missing, ['CAP_NET_RAW', 'CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH']);
  t.match(out.logs.join('\n'), /missing CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH/);
  t.not(out.status, 'ok', 'a root-owned client cannot be named');
  t.match(out.reason ?? '', /needs CAP_SYS_PTRACE/, out.reason ?? '');
});

t.test('only CAP_SYS_PTRACE: the other one is named', async (t) => {
  const out = await runProbe(
    ['setpriv', ...NOBODY, '--inh-caps=+sys_ptrace', '--ambient-caps=+sys_ptrace'],
    ['proc', '192.0.2.2', String(clientPort), '169.254.169.254'],
  );
  t.same(out.missing, ['CAP_NET_RAW', 'CAP_DAC_READ_SEARCH']);
  t.match(out.logs.join('\n'), /missing CAP_DAC_READ_SEARCH/);
});

t.test('lsof, for real, inside the instance namespace', async (t) => {
  const out = await runProbe(
    ['ip', 'netns', 'exec', link.instance.name],
    ['lsof', '192.0.2.2', String(clientPort), '169.254.169.254'],
  );
  t.equal(out.method, 'lsof');
  t.equal(out.status, 'ok', out.reason ?? 'named');
  t.equal(out.pid, clientPid);
  t.equal(out.uid, 0);
});
