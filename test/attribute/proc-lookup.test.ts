/**
 * Real processes in real network namespaces: the attributor (running in the test's own
 * namespace) must find a client socket living in the fake instance namespace and name the pid
 * the test itself started.
 */
import t from 'tap';
import type { ChildProcess } from 'node:child_process';
import { ProcAttributor } from '../../src/attribute/proc-attributor.js';
import { createImdsLink, type ImdsLink } from '../helpers/netns.js';
import { clientScript, closedAtEnd, flowOf, PYTHON, startImds, waitForLine } from './helpers.js';

let link: ImdsLink;
let servers: ChildProcess[];

t.before(async () => {
  link = await createImdsLink('at');
  servers = await startImds(link.imds);
});
t.teardown(async () => {
  for (const s of servers) s.kill();
  await link.destroy();
});

t.test('a client holding a connection is named with its pid, args and uid', async (t) => {
  const child = link.instance.spawn(PYTHON, ['-c', clientScript, '169.254.169.254', 'hold']);
  t.teardown(() => {
    child.kill();
  });
  const line = await waitForLine(child, /^connected /);
  const [, pid, localPort] = line.split(' ');
  const flow = flowOf('192.0.2.2', Number(localPort), '169.254.169.254');
  const a = closedAtEnd(t, new ProcAttributor());
  const r = await a.lookup(flow, Date.now());
  t.equal(r.status, 'ok', r.status === 'ok' ? 'named' : r.reason);
  if (r.status !== 'ok') return;
  t.equal(r.process.pid, Number(pid));
  t.equal(r.process.uid, 0);
  t.equal(r.process.userName, 'root');
  t.ok(r.process.args.includes('hold'), 'args read from /proc/<pid>/cmdline');
  t.match(r.process.executable, /python3/);
  t.ok(r.process.ancestors.length >= 1, 'parent chain');
  t.equal(r.process.ancestors[r.process.ancestors.length - 1]?.pid, 1, 'chain ends at pid 1');
});
