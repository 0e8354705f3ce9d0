/** The /proc attributor against a fixture /proc: batching, namespaces, NAT, every failure kind. */
import t from 'tap';
import { newestFirst, parseLastPid } from '../../src/attribute/pid-index.js';
import { ProcAttributor } from '../../src/attribute/proc-attributor.js';
import { closedAtEnd } from './helpers.js';
import { FakeProcFs } from '../../src/attribute/proc-fs.js';
import type { FlowInfo } from '../../src/flows/flow.js';

const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
/** A little-endian row: 192.0.2.2:<port> -> 169.254.169.254:80 (or another client address). */
const row = (clientHex: string, port: number, state: string, uid: number, inode: number): string =>
  `   0: ${clientHex}:${port.toString(16).toUpperCase().padStart(4, '0')} FEA9FEA9:0050 ${state} 00000000:00000000 00:00000000 00000000 ${uid} 0 ${inode} 1\n`;
const HOST_CLIENT = '020200C0'; // 192.0.2.2
const NS_CLIENT = '026433C6'; // 198.51.100.2

const stat = (pid: number, comm: string, ppid: number): string =>
  `${pid} (${comm}) S ${ppid} 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n`;

function flow(clientIp: string, port: number): FlowInfo {
  return {
    id: `C${port}`,
    communityId: '1:x',
    family: 'ipv4',
    client: { ip: clientIp, port },
    server: { ip: '169.254.169.254', port: 80 },
    startMs: 0,
    sawSyn: true,
    twinOf: undefined,
  };
}

function host(): FakeProcFs {
  const fs = new FakeProcFs();
  const f = fs.files;
  f.set('/etc/passwd', 'root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n');
  f.set('/proc/stat', 'btime 1764000000\n');
  f.set('/proc/loadavg', '0.00 0.00 0.00 1/50 950\n');
  f.set('/proc/self/status', 'Uid:\t0\t0\t0\t0\n');
  fs.links.set('/proc/self/ns/net', 'net:[1]');
  f.set('/proc/self/net/tcp6', HEADER);
  f.set(
    '/proc/self/net/tcp',
    HEADER +
      row(HOST_CLIENT, 40000, '01', 0, 1001) +
      row(HOST_CLIENT, 40001, '01', 65534, 1002) +
      row(HOST_CLIENT, 40002, '06', 0, 0) +
      row(HOST_CLIENT, 40003, '01', 0, 1004),
  );
  f.set(
    '/proc/self/net/nf_conntrack',
    'ipv4 2 tcp 6 117 ESTABLISHED src=198.51.100.2 dst=169.254.169.254 sport=50000 dport=80 src=169.254.169.254 dst=192.0.2.2 sport=80 dport=45000 [ASSURED] mark=0 use=1\n',
  );
  const proc = (pid: number, comm: string, uid: number, ns: string, sockets: number[]): void => {
    f.set(`/proc/${pid}/stat`, stat(pid, comm, 1));
    f.set(`/proc/${pid}/cmdline`, `${comm}\0--flag\0`);
    f.set(`/proc/${pid}/status`, `Uid:\t${uid}\t${uid}\t${uid}\t${uid}\n`);
    fs.owners.set(`/proc/${pid}`, uid);
    fs.links.set(`/proc/${pid}/ns/net`, ns);
    fs.links.set(`/proc/${pid}/fd/0`, '/dev/null');
    sockets.forEach((s, i) => fs.links.set(`/proc/${pid}/fd/${i + 3}`, `socket:[${s}]`));
  };
  proc(1, 'init', 0, 'net:[1]', []);
  proc(900, 'curl', 0, 'net:[1]', [1001]);
  proc(901, 'wget', 65534, 'net:[1]', [1002]);
  // A container namespace: its own table, read through one of its pids.
  proc(800, 'sh', 0, 'net:[2]', []);
  proc(801, 'app', 0, 'net:[2]', [2001, 2002]);
  f.set(
    '/proc/800/net/tcp',
    HEADER + row(NS_CLIENT, 41000, '01', 0, 2001) + row(NS_CLIENT, 50000, '01', 0, 2002),
  );
  f.set('/proc/800/net/tcp6', HEADER);
  return fs;
}

const opts = { retryDelaysMs: [1], indexRefreshMs: 0, now: () => 1000 };

t.test('lookups arriving together are answered by one pass', async (t) => {
  // Deferred start: the pass runs on the next loop turn, so both lookups share it.
  const a = closedAtEnd(t, new ProcAttributor({ fs: host(), ...opts, startSync: false }));
  const [r1, r2] = await Promise.all([
    a.lookup(flow('192.0.2.2', 40000), 990),
    a.lookup(flow('192.0.2.2', 40001), 995),
  ]);
  t.equal(a.stats.passes, 1);
  t.equal(r1.status === 'ok' && r1.process.pid, 900);
  t.equal(r1.status === 'ok' && r1.latencyMs, 10, 'latency from the packet time');
  t.equal(r2.status === 'ok' && r2.process.pid, 901);
  t.equal(r2.status === 'ok' && r2.process.userName, 'nobody');
  t.same(r1.status === 'ok' && r1.process.args, ['curl', '--flag']);
});

t.test('a socket found again is answered from the cache with one readlink', async (t) => {
  const a = closedAtEnd(t, new ProcAttributor({ fs: host(), ...opts }));
  await a.lookup(flow('192.0.2.2', 40000), 0);
  const scanned = a.stats.pidsScanned;
  const r = await a.lookup(flow('192.0.2.2', 40000), 0);
  t.equal(r.status === 'ok' && r.process.pid, 900);
  t.equal(a.stats.cacheHits, 1);
  t.equal(a.stats.pidsScanned, scanned, 'no scan');
});

t.test('a container socket is found in its namespace table', async (t) => {
  const a = closedAtEnd(t, new ProcAttributor({ fs: host(), ...opts }));
  const r = await a.lookup(flow('198.51.100.2', 41000), 0);
  t.equal(r.status === 'ok' && r.process.pid, 801);
});

t.test('a flow seen after NAT is mapped back through conntrack', async (t) => {
  const a = closedAtEnd(t, new ProcAttributor({ fs: host(), ...opts }));
  const r = await a.lookup(flow('192.0.2.2', 45000), 0);
  t.equal(r.status === 'ok' && r.process.pid, 801);
});

t.test('a socket nobody holds any more: exited, with the uid from the table', async (t) => {
  const a = closedAtEnd(t, new ProcAttributor({ fs: host(), ...opts }));
  const r = await a.lookup(flow('192.0.2.2', 40003), 0);
  t.equal(r.status, 'exited');
  t.match(r, { uid: 0, userName: 'root', reason: /no live process holds socket:\[1004\]/ });
  const tw = await a.lookup(flow('192.0.2.2', 40002), 0);
  t.match(tw, { status: 'exited', uid: undefined, reason: /already closed \(TIME_WAIT\)/ });
});

t.test('a socket in no table: unknown after the retries, never a rejection', async (t) => {
  const a = closedAtEnd(t, new ProcAttributor({ fs: host(), ...opts }));
  const r = await a.lookup(flow('192.0.2.2', 49999), 0);
  t.same(r, { status: 'unknown', reason: 'socket not found in any network namespace' });
  t.equal(a.stats.passes, 2, 'one retry');
});

t.test('unreadable fd tables make the answer unknown, naming the path', async (t) => {
  const fs = host();
  fs.denied.add('/proc/1/fd');
  fs.denied.add('/proc/900/fd');
  const a = closedAtEnd(t, new ProcAttributor({ fs, ...opts }));
  const r = await a.lookup(flow('192.0.2.2', 40000), 0);
  t.equal(r.status, 'unknown');
  t.match(r, {
    reason: /permission denied reading \/proc\/<pid>\/fd for 2 processes, e\.g\. \/proc\/900\/fd/,
  });
});

t.test('close() settles pending lookups', async (t) => {
  const a = new ProcAttributor({ fs: host(), ...opts, startSync: false });
  const p = a.lookup(flow('192.0.2.2', 40000), 0);
  a.close();
  t.same(await p, { status: 'unknown', reason: 'attribution stopped' });
  t.same(await a.lookup(flow('192.0.2.2', 40000), 0), {
    status: 'unknown',
    reason: 'attribution stopped',
  });
});

t.test('newest pid first, across a pid wrap', (t) => {
  t.equal(parseLastPid('0.05 0.20 0.11 1/88 7942\n'), 7942);
  t.equal(parseLastPid(''), undefined);
  t.same(newestFirst([1, 5, 300, 7942, 30000, 31000], 7942), [7942, 300, 5, 1, 31000, 30000]);
  t.same(newestFirst([3, 1, 2], undefined), [3, 2, 1]);
  t.same(newestFirst([3, 1, 2], 0), [3, 2, 1]);
  t.end();
});
