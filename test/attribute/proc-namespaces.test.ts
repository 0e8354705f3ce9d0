/**
 * Real processes in real namespaces, attributed against pids the test started itself:
 * another user, a long-lived keep-alive client, IPv6, a client behind NAT in a third
 * namespace (pre-NAT tuple, and the post-NAT tuple through conntrack), an exited client.
 */
import t from 'tap';
import type { ChildProcess } from 'node:child_process';
import { ProcAttributor } from '../../src/attribute/proc-attributor.js';
import type { Netns } from '../helpers/netns.js';
import { createFakeInstanceNet, type FakeInstanceNet } from '../helpers/fake-instance/topology.js';
import { clientScript, flowOf, PYTHON, startImds, waitForLine } from './helpers.js';

let link: FakeInstanceNet;
let ctr: Netns;
let servers: ChildProcess[] = [];
const children: ChildProcess[] = [];
let a: ProcAttributor;

/** Starts a client in `ns` (optionally through a privilege-dropping prefix); returns pid and port. */
async function client(
  ns: Netns,
  addr: string,
  mode: string,
  prefix: string[] = [],
): Promise<{ pid: number; port: number; child: ChildProcess }> {
  const argv = [...prefix, PYTHON, '-c', clientScript, addr, mode];
  const child = ns.spawn(argv[0] ?? PYTHON, argv.slice(1));
  children.push(child);
  const line = await waitForLine(child, /^connected /);
  const [, pid, port] = line.split(' ');
  return { pid: Number(pid), port: Number(port), child };
}

t.before(async () => {
  // The fake instance's topology: a "container" namespace behind the instance, masqueraded
  // on its way to IMDS as on Docker's default bridge.
  link = await createFakeInstanceNet('an');
  ctr = link.container;
  servers = await startImds(link.imds);
  a = new ProcAttributor();
});

t.teardown(async () => {
  a.close();
  for (const c of [...children, ...servers]) c.kill();
  await link.destroy();
});

t.test('a process running as another user: its pid and uid', async (t) => {
  const c = await client(link.instance, '169.254.169.254', 'hold', [
    'setpriv',
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
  ]);
  const r = await a.lookup(flowOf('192.0.2.2', c.port, '169.254.169.254'), Date.now());
  t.equal(r.status, 'ok');
  if (r.status !== 'ok') return;
  t.equal(r.process.pid, c.pid);
  t.equal(r.process.uid, 65534);
  t.equal(r.process.userName, 'nobody');
});

t.test('a long-lived keep-alive client over IPv6', async (t) => {
  const c = await client(link.instance, 'fd00:ec2::254', 'keepalive');
  const flow = flowOf('2001:db8::2', c.port, 'fd00:ec2::254');
  const r1 = await a.lookup(flow, Date.now());
  const r2 = await a.lookup(flow, Date.now());
  t.equal(r1.status === 'ok' && r1.process.pid, c.pid);
  t.equal(
    r2.status === 'ok' && r2.process.pid,
    c.pid,
    r2.status === 'ok' ? 'same answer again' : r2.reason,
  );
});

t.test(
  'a client behind NAT: by the pre-NAT tuple, and by the post-NAT tuple via conntrack',
  async (t) => {
    // The capturing daemon lives in the instance namespace: conntrack is read through a pid there.
    const anchor = link.instance.spawn('sleep', ['300']);
    children.push(anchor);
    const c = await client(ctr, '169.254.169.254', 'keepalive');
    const pre = await a.lookup(flowOf('198.51.100.2', c.port, '169.254.169.254'), Date.now());
    t.equal(pre.status === 'ok' && pre.process.pid, c.pid, 'pre-NAT tuple (bridge/veth side)');

    const ct = await link.instance.run('cat', ['/proc/net/nf_conntrack']);
    const natPort = new RegExp(
      `sport=${c.port} dport=80 src=169\\.254\\.169\\.254 dst=192\\.0\\.2\\.2 sport=80 dport=(\\d+)`,
    ).exec(ct.stdout)?.[1];
    if (natPort === undefined) {
      t.pass('post-NAT lookup', {
        skip: `no conntrack entry in the instance namespace ${ct.stderr}`,
      });
      return;
    }
    // Force the index to learn the anchor (the background refresh might not have run yet).
    a.close();
    a = new ProcAttributor();
    const post = await a.lookup(
      flowOf('192.0.2.2', Number(natPort), '169.254.169.254'),
      Date.now(),
    );
    t.equal(
      post.status === 'ok' && post.process.pid,
      c.pid,
      post.status === 'ok' ? 'post-NAT tuple through conntrack' : post.reason,
    );
  },
);

t.test('a client that exited right after sending: exited or unknown, with a reason', async (t) => {
  const c = await client(link.instance, '169.254.169.254', 'exit');
  await new Promise<void>((resolve) => {
    if (c.child.exitCode !== null) resolve();
    else
      c.child.on('exit', () => {
        resolve();
      });
  });
  const r = await a.lookup(flowOf('192.0.2.2', c.port, '169.254.169.254'), Date.now());
  t.not(r.status, 'ok');
  t.match(r, { reason: /\S/ });
  t.comment(`${r.status}: ${r.status === 'ok' ? '' : r.reason}`);
});
