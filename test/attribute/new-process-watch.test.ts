/**
 * The pre-scan of new processes against a fixture /proc in which a one-shot client exits while
 * the socket table is being read: it is named from what was read while it lived, only through
 * an exact inode link, never by elimination.
 */
import t from 'tap';
import { PidIndex } from '../../src/attribute/pid-index.js';
import { ProcAttributor } from '../../src/attribute/proc-attributor.js';
import { closedAtEnd } from './helpers.js';
import { FakeProcFs } from '../../src/attribute/proc-fs.js';
import type { Endpoint, FlowInfo } from '../../src/flows/flow.js';
import type { DiagReply } from '../../src/attribute/sock-diag.js';
import type { SocketLookup } from '../../src/attribute/socket-lookup.js';
import type { IpFamily } from '../../src/decode/segment.js';

const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const row = (port: number, state: string, uid: number, inode: number): string =>
  `   0: 020200C0:${port.toString(16).toUpperCase()} FEA9FEA9:0050 ${state} 00000000:00000000 00:00000000 00000000 ${uid} 0 ${inode} 1\n`;

/** A /proc whose socket-table read runs `onTableRead` first: the client exits meanwhile. */
class RacyProcFs extends FakeProcFs {
  onTableRead: (() => void) | undefined;
  tableReads: string[] = [];
  override readText(path: string): string | undefined {
    if (path.startsWith('/proc/self/net/tcp')) {
      this.tableReads.push(path);
      this.onTableRead?.();
    }
    return super.readText(path);
  }
}

function hostWith(table: string): RacyProcFs {
  const fs = new RacyProcFs();
  const f = fs.files;
  f.set('/etc/passwd', 'root:x:0:0::/:/bin/sh\nalice:x:1000:1000::/:/bin/sh\n');
  f.set('/proc/stat', 'btime 1764000000\n');
  f.set('/proc/loadavg', '0.00 0.00 0.00 1/50 2000\n');
  f.set('/proc/self/status', 'Uid:\t0\t0\t0\t0\n');
  fs.links.set('/proc/self/ns/net', 'net:[1]');
  f.set('/proc/self/net/tcp', HEADER + table);
  f.set('/proc/self/net/tcp6', HEADER);
  addProc(fs, 1, 'init', 0, []);
  return fs;
}

function addProc(fs: FakeProcFs, pid: number, comm: string, uid: number, sockets: number[]): void {
  fs.files.set(
    `/proc/${pid}/stat`,
    `${pid} (${comm}) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n`,
  );
  fs.files.set(`/proc/${pid}/cmdline`, `${comm}\0-s\0http://169.254.169.254/\0`);
  fs.files.set(`/proc/${pid}/status`, `Uid:\t${uid}\t${uid}\t${uid}\t${uid}\n`);
  fs.owners.set(`/proc/${pid}`, uid);
  fs.links.set(`/proc/${pid}/ns/net`, 'net:[1]');
  fs.links.set(`/proc/${pid}/exe`, `/usr/bin/${comm}`);
  fs.links.set(`/proc/${pid}/fd/0`, '/dev/null');
  sockets.forEach((s, i) => fs.links.set(`/proc/${pid}/fd/${i + 3}`, `socket:[${s}]`));
}

/** The process exits: every /proc/<pid> entry disappears. */
function exit(fs: FakeProcFs, pid: number): void {
  for (const m of [fs.files, fs.links, fs.owners]) {
    for (const k of [...m.keys()])
      if (k.startsWith(`/proc/${pid}/`) || k === `/proc/${pid}`) m.delete(k);
  }
}

function flow(port: number): FlowInfo {
  return {
    id: `C${port}`,
    communityId: '1:x',
    family: 'ipv4',
    client: { ip: '192.0.2.2', port },
    server: { ip: '169.254.169.254', port: 80 },
    startMs: 0,
    sawSyn: true,
    twinOf: undefined,
  };
}

const opts = { indexRefreshMs: 0, now: () => 1000 };

t.test('a client that exits during the table read is named from the pre-scan', async (t) => {
  const fs = hostWith(row(40000, '01', 1000, 7001));
  const a = closedAtEnd(t, new ProcAttributor({ fs, ...opts }));
  // Started after the attributor's first index refresh: a new process.
  addProc(fs, 1500, 'curl', 1000, [7001]);
  fs.onTableRead = () => {
    exit(fs, 1500);
  };
  const r = await a.lookup(flow(40000), 990);
  t.equal(r.status, 'ok');
  if (r.status !== 'ok') return;
  t.equal(r.process.pid, 1500);
  t.equal(r.process.name, 'curl');
  t.equal(r.process.executable, '/usr/bin/curl');
  t.same(r.process.args, ['curl', '-s', 'http://169.254.169.254/']);
  t.equal(r.process.userName, 'alice');
  t.equal(a.stats.prescanHits, 1);
  t.same(fs.tableReads, ['/proc/self/net/tcp'], 'only the IPv4 table is read');
});

t.test('without the pre-scan the same client is reported exited', async (t) => {
  const fs = hostWith(row(40000, '01', 1000, 7001));
  const a = closedAtEnd(t, new ProcAttributor({ fs, ...opts, prescan: 'off' }));
  addProc(fs, 1500, 'curl', 1000, [7001]);
  fs.onTableRead = () => {
    exit(fs, 1500);
  };
  const r = await a.lookup(flow(40000), 990);
  t.equal(r.status, 'exited');
  t.equal(r.status === 'exited' && r.uid, 1000, 'uid from the socket table');
});

t.test('a closed row is never pinned on the one new process by elimination', async (t) => {
  // The only new process holds exactly one socket, but the row's inode is 0 (TIME_WAIT): no
  // link between them, so no name.
  const fs = hostWith(row(40000, '06', 0, 0));
  const a = closedAtEnd(t, new ProcAttributor({ fs, ...opts }));
  addProc(fs, 1500, 'curl', 1000, [7001]);
  fs.onTableRead = () => {
    exit(fs, 1500);
  };
  const r = await a.lookup(flow(40000), 990);
  t.equal(r.status, 'exited');
  t.match(r.status === 'exited' && r.reason, /socket already closed \(TIME_WAIT\)/);
  t.equal(a.stats.prescanSockets, 1, 'the pre-scan did meet the process');
});

t.test('a missing row is unknown, even with one new process met', async (t) => {
  const fs = hostWith('');
  const a = closedAtEnd(t, new ProcAttributor({ fs, ...opts }));
  addProc(fs, 1500, 'python3', 1000, [7001]);
  const r = await a.lookup(flow(40000), 990);
  t.same(r, { status: 'unknown', reason: 'socket not found in any network namespace' });
  t.same(fs.tableReads, ['/proc/self/net/tcp', '/proc/self/net/tcp6'], 'no retry');
});

t.test('a socket met holding another inode does not name the flow', async (t) => {
  const fs = hostWith(row(40000, '01', 1000, 7002));
  const a = closedAtEnd(t, new ProcAttributor({ fs, ...opts }));
  addProc(fs, 1500, 'curl', 1000, [7001]);
  addProc(fs, 1501, 'wget', 1000, [7002]);
  const r = await a.lookup(flow(40000), 990);
  t.equal(r.status === 'ok' && r.process.pid, 1501);
});

t.test(
  'old processes are not re-read by every pre-scan, even with an unreadable namespace',
  (t) => {
    const fs = hostWith('');
    addProc(fs, 2, 'sandbox-init', 0, [9000]);
    fs.links.delete('/proc/2/ns/net'); // no ptrace access to it
    const index = new PidIndex(fs);
    index.refresh();
    t.ok(index.get(2) !== undefined, 'remembered with an unknown namespace');
    t.equal(index.get(2)?.ns, undefined);
    t.notOk(index.isRecent(2), 'the first refresh marks nothing new');
    addProc(fs, 1500, 'curl', 0, []);
    index.refresh();
    t.ok(index.isRecent(1500), 'learned by the latest refresh: still new');
    t.notOk(index.isRecent(2));
    index.refresh();
    t.notOk(index.isRecent(1500), 'one refresh later it is old');
    t.end();
  },
);

/** sock_diag as the attributor sees it: a fixed answer, and a hook run as it is delivered. */
class FakeSocketLookup implements SocketLookup {
  asked: string[] = [];
  constructor(
    private readonly answer: DiagReply | undefined,
    private readonly onAnswer: () => void = () => undefined,
  ) {}
  query(_family: IpFamily, local: Endpoint): Promise<DiagReply | undefined> {
    this.asked.push(`${local.ip}:${local.port}`);
    return Promise.resolve().then(() => {
      this.onAnswer();
      return this.answer;
    });
  }
  close(): void {
    // nothing held
  }
}

t.test('sock_diag names the inode: no table is read, the client met before it exits', async (t) => {
  const fs = hostWith(row(40000, '01', 1000, 7001));
  const diag = new FakeSocketLookup(
    { seq: 1, kind: 'socket', state: 1, uid: 1000, inode: 7001 },
    () => {
      exit(fs, 1500);
    },
  );
  const a = closedAtEnd(t, new ProcAttributor({ fs, ...opts, socketLookup: diag }));
  addProc(fs, 1500, 'curl', 1000, [7001]);
  const r = await a.lookup(flow(40000), 990);
  t.same(diag.asked, ['192.0.2.2:40000'], 'asked at lookup() for the client end');
  t.equal(r.status === 'ok' && r.process.pid, 1500);
  t.same(fs.tableReads, [], 'no socket table read');
  t.equal(a.stats.diagHits, 1);
});

t.test('sock_diag says closed: exited, the uid unknown for TIME_WAIT', async (t) => {
  const fs = hostWith(row(40000, '01', 1000, 7001));
  const diag = new FakeSocketLookup({ seq: 1, kind: 'socket', state: 6, uid: 0, inode: 0 });
  const a = closedAtEnd(t, new ProcAttributor({ fs, ...opts, socketLookup: diag }));
  addProc(fs, 1500, 'curl', 1000, [7001]);
  const r = await a.lookup(flow(40000), 990);
  t.match(r, { status: 'exited', reason: /socket already closed \(TIME_WAIT\)/, uid: undefined });
  t.same(fs.tableReads, [], 'the stale table row is not consulted');
});

t.test('sock_diag finds no such socket here: only other namespaces are read', async (t) => {
  const fs = hostWith(row(40000, '01', 1000, 7001));
  // A container's namespace, where the socket lives.
  addProc(fs, 1200, 'containerd-shim', 0, []);
  fs.links.set('/proc/1200/ns/net', 'net:[2]');
  fs.files.set('/proc/1200/net/tcp', HEADER + row(40000, '01', 1000, 7005));
  const diag = new FakeSocketLookup({ seq: 1, kind: 'error', errno: 2 });
  const a = closedAtEnd(t, new ProcAttributor({ fs, ...opts, socketLookup: diag }));
  addProc(fs, 1500, 'curl', 1000, [7005]);
  fs.links.set('/proc/1500/ns/net', 'net:[2]');
  const r = await a.lookup(flow(40000), 990);
  t.equal(r.status === 'ok' && r.process.pid, 1500);
  t.same(fs.tableReads, [], 'our own table (whose row is not this socket) is never read');
});

t.test('sock_diag silent: the tables answer as before', async (t) => {
  const fs = hostWith(row(40000, '01', 1000, 7001));
  const a = closedAtEnd(
    t,
    new ProcAttributor({ fs, ...opts, socketLookup: new FakeSocketLookup(undefined) }),
  );
  addProc(fs, 1500, 'curl', 1000, [7001]);
  const r = await a.lookup(flow(40000), 990);
  t.equal(r.status === 'ok' && r.process.pid, 1500);
  t.same(fs.tableReads, ['/proc/self/net/tcp']);
});
