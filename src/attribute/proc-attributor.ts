/**
 * Attribution through /proc: flow -> socket inode (sock_diag, or socket-locator's tables) ->
 * pid whose /proc/<pid>/fd/* links to socket:[inode] -> ProcessFacts.
 *
 * Built for one-shot clients that close their socket under a millisecond after their SYN:
 * - lookup() asks sock_diag (SocketLookup) for the flow's socket in our own namespace at once:
 *   the kernel samples state, uid and inode inside that call, an exact hash probe instead of a
 *   walk of the whole table;
 * - a lookup arriving while no pass runs starts one at once, synchronously inside lookup();
 *   lookups arriving during a pass (a burst) are resolved together in the next one (tables
 *   read once, one scan for all);
 * - the pass first meets the processes that are new since the last index refresh while they
 *   live (NewProcessWatch: their socket links and own files); a socket sock_diag or a table
 *   then names is attributed to the process met holding it, even if it has exited since;
 * - sockets sock_diag did not find in our namespace are searched in the other namespaces'
 *   tables (containers); without sock_diag every table is read, ours on a worker thread
 *   (TableReadAhead) during the pre-scan;
 * - the scan goes newest pid first (from the last pid in /proc/loadavg) and skips pids that
 *   cannot own the socket (other network namespace, then other uid, from a background index);
 * - every socket link seen is remembered (inode -> pid, fd), so long-lived processes are
 *   answered from the cache after one check of the single fd;
 * - the owner's own files are read the moment it is found; parents and user name after the
 *   scan (ancestors are cached: they are long-lived).
 * Only an exact inode link names a process: a closed socket (inode 0) or a missing one is
 * reported 'exited'/'unknown' even when the pre-scan met a single candidate. The socket is
 * always hashed when its SYN is captured (connect() hashes it before sending), so a missing one
 * is gone and is not retried by default.
 *
 * Cost bound: sock_diag answers each lookup in one hash probe (its question costs 0.1-0.3 ms
 * of this thread on a CPU just woken); the pre-scan of new processes runs for at most
 * `prescanBudgetMs` (default: one slice); socket tables (other namespaces, or every one without
 * sock_diag; only the namespaces owning the client's address when one does, see
 * NamespaceAddresses) are read once per pass, each read walking the kernel's whole established hash
 * (3.5-9 ms on a 2-CPU host with 262144 buckets, whatever the number of sockets); the fd scan
 * of processes not met by the pre-scan then runs synchronously for at most `sliceMs` (default
 * 8 ms) before yielding to the event loop, so capture callbacks run between slices; a pass
 * stops scanning after `passBudgetMs` (default 250 ms) and its remaining lookups resolve
 * 'unknown'. Lookups arriving meanwhile wait for the next pass.
 */
import type { Attribution, Attributor } from './attribution.js';
import type { FlowInfo } from '../flows/flow.js';
import { UserNames } from './passwd.js';
import { listPids, newestFirst, parseLastPid, PidIndex } from './pid-index.js';
import { missingCapabilities } from './privileges.js';
import { NamespaceAddresses } from './namespace-addresses.js';
import { NewProcessWatch } from './new-process-watch.js';
import { isListing, realProcFs, type ProcFs } from './proc-fs.js';
import { ProcessFactsReader, type OwnFacts } from './process-facts.js';
import { TCP_TIME_WAIT, TCP_STATE_NAMES, type TcpSocketEntry } from './proc-net-tcp.js';
import { ENOENT, type DiagReply } from './sock-diag.js';
import type { SocketLookup } from './socket-lookup.js';
import { TableSnapshot, type LocatedSocket } from './socket-locator.js';
import { TableReadAhead } from './table-read-ahead.js';

export interface ProcAttributorOptions {
  readonly fs?: ProcFs;
  /** Wall clock (ms since the epoch) for latencyMs against the packet's capture time. */
  readonly now?: () => number;
  /** Delays between attempts when the socket is not (yet) in any table. */
  readonly retryDelaysMs?: readonly number[];
  /** Longest synchronous stretch of scanning before yielding to the event loop. */
  readonly sliceMs?: number;
  /** Longest scan of one pass; lookups still unresolved then are reported 'unknown'. */
  readonly passBudgetMs?: number;
  /** Background refresh of the pid index (namespaces, owners). */
  readonly indexRefreshMs?: number;
  /** Resolve pending lookups together (true) or one pass per lookup (false, for the bench). */
  readonly batch?: boolean;
  /** Scan newest pids first (true) or in /proc order (false, for the bench). */
  readonly newestFirst?: boolean;
  /**
   * Meet new processes (not in the pid index yet) while they live, before the socket table is
   * read: 'before-table' (default) or 'off' (the bench's comparison).
   */
  readonly prescan?: PrescanMode;
  /** Longest pre-scan of new processes per pass. */
  readonly prescanBudgetMs?: number;
  /**
   * Start a pass synchronously inside lookup() when none runs (true), or on the next turn of
   * the event loop (false: lookups of one capture callback share the pass, but the first waits).
   */
  readonly startSync?: boolean;
  /**
   * Read our namespace's table on a worker thread while the pre-scan runs (true), or after it
   * on the main thread (false). Only with the real /proc.
   */
  readonly readAhead?: boolean;
  /**
   * The kernel's sock_diag, asked at lookup() for the flow's socket in our own namespace (an
   * exact hash probe instead of a walk of the whole table). Undefined: tables only.
   */
  readonly socketLookup?: SocketLookup;
  /** Timeline hook for the benchmark: called with a phase name as each phase ends. */
  readonly trace?: (phase: string) => void;
  /** Skip pids of other namespaces / uids when the index knows them (true). */
  readonly skipByIndex?: boolean;
  readonly clockTicks?: number;
}

interface Pending {
  readonly flow: FlowInfo;
  readonly timeMs: number;
  readonly resolve: (a: Attribution) => void;
  attempts: number;
  /** sock_diag's answer for our own namespace: undefined until it came, or when not asked. */
  diag: DiagReply | undefined;
  /** Settles when sock_diag answered (or was not asked). */
  readonly diagDone: Promise<void>;
}

interface Wanted {
  readonly located: LocatedSocket;
  readonly items: Pending[];
}

export type PrescanMode = 'off' | 'before-table';

interface FoundOwner {
  readonly w: Wanted;
  readonly pid: number;
  readonly own: OwnFacts | undefined;
}

const MAX_SOCKET_CACHE = 16_384;

export class ProcAttributor implements Attributor {
  readonly #fs: ProcFs;
  readonly #now: () => number;
  readonly #opts: Required<Omit<ProcAttributorOptions, 'fs' | 'now' | 'trace' | 'socketLookup'>>;
  readonly #socketLookup: SocketLookup | undefined;
  readonly #trace: ((phase: string) => void) | undefined;
  readonly #watch: NewProcessWatch;
  readonly #readAhead: TableReadAhead | undefined;
  readonly #index: PidIndex;
  readonly #facts: ProcessFactsReader;
  readonly #ownNs: string;
  readonly #addresses: NamespaceAddresses;
  /** Without CAP_SYS_PTRACE other users' namespaces are invisible: worth saying in reasons. */
  readonly #ptraceMissing: boolean;
  /** "socket:[inode]" -> where it was last seen. */
  readonly #sockets = new Map<string, { pid: number; fd: string }>();
  #pending: Pending[] = [];
  #running = false;
  #closed = false;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #retryTimers = new Set<NodeJS.Timeout>();
  /** Counters for the benchmark and the start-up log. */
  readonly stats = {
    passes: 0,
    pidsScanned: 0,
    cacheHits: 0,
    prescanHits: 0,
    /** Lookups whose socket sock_diag found in our namespace (no table read for them). */
    diagHits: 0,
    /** New pids read by pre-scans, sockets met, pre-scans cut by their budget. */
    prescanPids: 0,
    prescanSockets: 0,
    prescanBudgetHit: 0,
    prescanMs: 0,
    slicesYielded: 0,
    budgetExceeded: 0,
    /** Milliseconds spent reading socket tables, scanning fds, reading facts (sums). */
    locateMs: 0,
    /** Socket table files read, and lookups whose socket was in no table at first. */
    tableReads: 0,
    misses: 0,
    refreshMs: 0,
    /** The periodic index refresh (it holds the loop: a SYN arriving meanwhile waits). */
    backgroundRefreshMs: 0,
    scanMs: 0,
    factsMs: 0,
  };

  constructor(options: ProcAttributorOptions = {}) {
    this.#fs = options.fs ?? realProcFs;
    this.#now = options.now ?? Date.now;
    this.#opts = {
      // No retry by default: connect() hashes the socket before its SYN leaves, so a row absent
      // at lookup is gone (the server closed first and the client followed: Python urllib with
      // Connection: close), and each retry re-read every namespace's tables for nothing
      // (measured: ~30 ms of blocked loop per lone urllib call).
      retryDelaysMs: options.retryDelaysMs ?? [],
      sliceMs: options.sliceMs ?? 8,
      passBudgetMs: options.passBudgetMs ?? 250,
      indexRefreshMs: options.indexRefreshMs ?? 1000,
      batch: options.batch ?? true,
      newestFirst: options.newestFirst ?? true,
      skipByIndex: options.skipByIndex ?? true,
      prescan: options.prescan ?? 'before-table',
      // One slice: measured on bursts of 100 curls (bench/attribution.md), 8 ms named 85-92%
      // at nice -10 where 3 ms named 70-79%; a lone client's pre-scan ends long before.
      prescanBudgetMs: options.prescanBudgetMs ?? options.sliceMs ?? 8,
      startSync: options.startSync ?? true,
      // The worker reads the real /proc itself: never under a fixture ProcFs. With sock_diag
      // our namespace's table is never read, so no worker thread is started for it.
      readAhead:
        options.readAhead ?? (this.#fs === realProcFs && options.socketLookup === undefined),
      clockTicks: options.clockTicks ?? 100,
    };
    this.#index = new PidIndex(this.#fs);
    this.#index.refresh();
    this.#ownNs = this.#fs.readLink('/proc/self/ns/net') ?? 'net:[self]';
    this.#addresses = new NamespaceAddresses(this.#fs, this.#ownNs);
    this.#ptraceMissing =
      missingCapabilities(['CAP_SYS_PTRACE'], this.#fs.readText('/proc/self/status')).length > 0;
    this.#facts = new ProcessFactsReader({
      fs: this.#fs,
      users: new UserNames(this.#fs),
      bootTimeMs: ProcessFactsReader.bootTimeMs(this.#fs),
      clockTicks: this.#opts.clockTicks,
    });
    this.#watch = new NewProcessWatch(this.#fs, this.#facts, this.#index);
    this.#readAhead = this.#opts.readAhead ? new TableReadAhead() : undefined;
    this.#trace = options.trace;
    this.#socketLookup = options.socketLookup;
    if (this.#opts.indexRefreshMs > 0) {
      this.#timer = setInterval(() => {
        const t0 = performance.now();
        this.#index.refresh();
        // Here rather than in a lookup, which would otherwise re-read every namespace's
        // addresses each time they expire, ahead of the table it needs.
        this.#addresses.refresh(this.#index.namespaces());
        this.stats.backgroundRefreshMs += performance.now() - t0;
        this.#trace?.('refresh');
      }, this.#opts.indexRefreshMs);
      this.#timer.unref();
    }
  }

  lookup(flow: FlowInfo, timeMs: number): Promise<Attribution> {
    return new Promise<Attribution>((resolve) => {
      if (this.#closed) {
        resolve({ status: 'unknown', reason: 'attribution stopped' });
        return;
      }
      // Asked now: the kernel samples the socket inside this call, while the client lives.
      const asked = this.#socketLookup?.query(flow.family, flow.client, flow.server);
      const p: Pending = {
        flow,
        timeMs,
        resolve,
        attempts: 0,
        diag: undefined,
        diagDone:
          asked === undefined
            ? Promise.resolve()
            : asked.then((r) => {
                p.diag = r;
              }),
      };
      this.#enqueue(p);
    });
  }

  close(): void {
    this.#closed = true;
    this.#readAhead?.close();
    this.#socketLookup?.close();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const t of this.#retryTimers) clearTimeout(t);
    this.#retryTimers.clear();
    for (const p of this.#pending.splice(0))
      p.resolve({ status: 'unknown', reason: 'attribution stopped' });
  }

  #enqueue(p: Pending): void {
    this.#pending.push(p);
    if (this.#running) return;
    this.#running = true;
    // A lone client exits 1-3 ms after its SYN: every millisecond before the table read counts,
    // so the pass starts here. Lookups arriving meanwhile (a burst) wait for the next pass.
    if (this.#opts.startSync) void this.#drain();
    else setImmediate(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0 && !this.#closed) {
        const batch = this.#opts.batch ? this.#pending.splice(0) : this.#pending.splice(0, 1);
        await this.#pass(batch);
        // The other SYNs of the same capture callback join one batch.
        if (this.#opts.startSync) await new Promise<void>((r) => setImmediate(r));
      }
    } catch (err) {
      // Never reject a lookup: whatever slipped through resolves as unknown.
      for (const p of this.#pending.splice(0)) {
        p.resolve({ status: 'unknown', reason: `attribution failed: ${String(err)}` });
      }
    } finally {
      this.#running = false;
    }
  }

  #retryOrGiveUp(p: Pending, reason: string): void {
    const delay = this.#opts.retryDelaysMs[p.attempts];
    if (delay === undefined || this.#closed) {
      p.resolve({ status: 'unknown', reason });
      return;
    }
    p.attempts += 1;
    const t = setTimeout(() => {
      this.#retryTimers.delete(t);
      this.#enqueue(p);
    }, delay);
    this.#retryTimers.add(t);
  }

  /** Reads the owner's facts and resolves; an owner gone before its stat was read is 'exited'. */
  #found(p: Pending, pid: number, uid: number, own?: OwnFacts): void {
    const t0 = performance.now();
    const o = own ?? this.#facts.readOwn(pid, uid);
    const process = o === undefined ? undefined : this.#facts.complete(o);
    this.stats.factsMs += performance.now() - t0;
    const latencyMs = this.#now() - p.timeMs;
    if (process !== undefined) {
      p.resolve({ status: 'ok', method: 'proc', process, latencyMs });
      return;
    }
    p.resolve({
      status: 'exited',
      method: 'proc',
      reason: `process ${pid} held the socket but exited before its facts were read`,
      uid,
      userName: this.#facts.userName(uid),
      latencyMs,
    });
  }

  async #pass(batch: Pending[]): Promise<void> {
    this.stats.passes += 1;
    this.#trace?.('pass');
    const t0 = performance.now();
    // Without sock_diag, the first table the batch needs (tcp for IPv4, tcp6 for IPv6) is read
    // on the worker meanwhile; the rest, if needed, on this thread.
    const first = batch[0]?.flow.family === 'ipv6' ? 'tcp6' : 'tcp';
    const ahead =
      this.#socketLookup === undefined && this.#readAhead?.start(first) === true
        ? this.#readAhead
        : undefined;
    if (this.#opts.prescan === 'before-table') {
      // First, before anything else: a lone curl closes its socket 0.7 ms after its SYN
      // against a fast IMDS (tcpdump in the fake instance), and exits soon after.
      const r = this.#watch.scan(this.#opts.prescanBudgetMs, this.#ownNs);
      this.stats.prescanPids += r.read;
      this.stats.prescanSockets += r.sockets;
      if (r.budgetHit) this.stats.prescanBudgetHit += 1;
      this.stats.prescanMs += performance.now() - t0;
      this.#trace?.('prescan');
    }
    // sock_diag sampled each socket when its lookup began; the replies come with this turn of
    // the event loop. A socket row: located already. ENOENT: the socket lives in another
    // namespace, only theirs are read. Unasked or unanswered: every table.
    await Promise.all(batch.map((p) => p.diagDone));
    const direct: [Pending, LocatedSocket][] = [];
    const elsewhere: Pending[] = [];
    const tables: Pending[] = [];
    for (const p of batch) {
      if (p.diag?.kind === 'socket') direct.push([p, this.#diagLocated(p.flow, p.diag)]);
      else if (p.diag?.kind === 'error' && p.diag.errno === ENOENT) elsewhere.push(p);
      else tables.push(p);
    }
    this.stats.diagHits += direct.length;
    const snapshot = this.#snapshot();
    if (ahead !== undefined) {
      // A read takes 3.5-15 ms; a worker starved for longer is dropped (read here instead).
      const got = ahead.wait(200);
      if (got !== undefined) snapshot.preload(this.#ownNs, got.name, got.text);
      this.#trace?.(`read ${first} (worker)`);
    }
    const { located, retry } = this.#locate(snapshot, tables, elsewhere);
    const wanted = new Map<string, Wanted>();
    for (const [p, l] of [...direct, ...located]) {
      const { entry } = l;
      if (entry.inode === 0) {
        // The socket is closed: nobody holds it any more. TIME_WAIT rows print uid 0.
        const uid = entry.state === TCP_TIME_WAIT ? undefined : entry.uid;
        p.resolve({
          status: 'exited',
          method: 'proc',
          reason: `socket already closed (${TCP_STATE_NAMES[entry.state] ?? entry.state}) before lookup`,
          uid,
          userName: uid === undefined ? undefined : this.#facts.userName(uid),
          latencyMs: this.#now() - p.timeMs,
        });
        continue;
      }
      const key = `socket:[${entry.inode}]`;
      const w = wanted.get(key);
      if (w === undefined) wanted.set(key, { located: l, items: [p] });
      else w.items.push(p);
    }
    const hidden =
      this.#index.unreadable > 0 && this.#ptraceMissing
        ? ` (the network namespace of ${this.#index.unreadable} processes is unreadable: reading another user's /proc/<pid>/ns/net needs CAP_SYS_PTRACE)`
        : '';
    for (const p of retry) {
      this.#retryOrGiveUp(p, `socket not found in any network namespace${hidden}`);
    }
    this.stats.tableReads += snapshot.reads;
    this.stats.locateMs += performance.now() - t0;
    this.#trace?.('located');
    if (wanted.size === 0) return;

    // Owners met by a pre-scan (this pass's or an earlier one's) while they lived: the inode
    // links them, and their own files were read then.
    for (const [key, w] of wanted) {
      const hit = this.#watch.get(key);
      if (hit === undefined) continue;
      for (const p of w.items) this.#found(p, hit.pid, w.located.entry.uid, hit.own);
      this.stats.prescanHits += 1;
      wanted.delete(key);
    }
    this.#trace?.('met');

    // Long-lived owners: one readlink confirms the cached fd still holds the socket.
    for (const [key, w] of wanted) {
      const hit = this.#sockets.get(key);
      if (hit === undefined) continue;
      if (this.#fs.readLink(`/proc/${hit.pid}/fd/${hit.fd}`) !== key) continue;
      for (const p of w.items) this.#found(p, hit.pid, w.located.entry.uid);
      this.stats.cacheHits += 1;
      wanted.delete(key);
    }
    if (wanted.size === 0) return;

    const t1 = performance.now();
    const found: FoundOwner[] = [];
    const denied = await this.#scan(wanted, found);
    for (const { w, pid, own } of found) {
      for (const p of w.items) this.#found(p, pid, w.located.entry.uid, own);
    }
    this.stats.scanMs += performance.now() - t1;
    this.#trace?.('scan');
    for (const [key, w] of wanted) {
      const { entry } = w.located;
      const partly =
        denied.pids > 0
          ? ` (permission denied reading /proc/<pid>/fd for ${denied.pids} processes, e.g. /proc/${denied.example}/fd)`
          : '';
      for (const p of w.items) {
        if (denied.budget) {
          p.resolve({
            status: 'unknown',
            reason: `lookup budget of ${this.#opts.passBudgetMs} ms exhausted before ${key} was found`,
          });
        } else if (denied.pids > 0) {
          p.resolve({ status: 'unknown', reason: `no readable process holds ${key}${partly}` });
        } else {
          p.resolve({
            status: 'exited',
            method: 'proc',
            reason: `no live process holds ${key}: the process exited before lookup`,
            uid: entry.uid,
            userName: this.#facts.userName(entry.uid),
            latencyMs: this.#now() - p.timeMs,
          });
        }
      }
    }
  }

  /** sock_diag's row as a table entry of our own namespace. */
  #diagLocated(flow: FlowInfo, d: { state: number; uid: number; inode: number }): LocatedSocket {
    const entry: TcpSocketEntry = {
      family: flow.family,
      local: flow.client,
      remote: flow.server,
      state: d.state,
      uid: d.uid,
      inode: d.inode,
    };
    return { entry, ns: this.#ownNs, client: flow.client, viaConntrack: false };
  }

  /**
   * Finds sockets in the tables: every namespace for `tables`, every other one for `elsewhere`
   * (sock_diag found no such socket in ours). A miss refreshes the namespace list once (a
   * container just started) and looks again.
   */
  #locate(
    snapshot: TableSnapshot,
    tables: Pending[],
    elsewhere: Pending[],
  ): { located: [Pending, LocatedSocket][]; retry: Pending[] } {
    const located: [Pending, LocatedSocket][] = [];
    const retry: Pending[] = [];
    let refreshed = false;
    for (const p of [...tables, ...elsewhere]) {
      const skipOwn = p.diag !== undefined;
      let l = snapshot.locate(p.flow, skipOwn);
      if (l === undefined) this.stats.misses += 1;
      if (l === undefined && !refreshed) {
        refreshed = true;
        const before = snapshot.allNamespaces().length;
        const tr = performance.now();
        this.#index.refresh();
        this.stats.refreshMs += performance.now() - tr;
        const namespaces = this.#index.namespaces();
        if (namespaces.size + (namespaces.has(this.#ownNs) ? 0 : 1) !== before) {
          snapshot.setNamespaces(namespaces);
          l = snapshot.locate(p.flow, skipOwn);
        }
      }
      if (l === undefined) retry.push(p);
      else located.push([p, l]);
    }
    return { located, retry };
  }

  #snapshot(): TableSnapshot {
    const s = new TableSnapshot(this.#fs, this.#ownNs, this.#index.namespaces(), this.#addresses);
    const trace = this.#trace;
    if (trace !== undefined)
      s.onRead = (_ns, name) => {
        trace(`read ${name}`);
      };
    return s;
  }

  /**
   * One scan of /proc/<pid>/fd for every wanted socket. Resolves (and removes from `wanted`)
   * each socket found; returns how many pids could not be read and whether the budget ran out.
   */
  async #scan(
    wanted: Map<string, Wanted>,
    found: FoundOwner[],
  ): Promise<{ pids: number; example: number | undefined; budget: boolean }> {
    const fs = this.#fs;
    const namespaces = new Set<string>();
    const uids = new Set<number>();
    for (const w of wanted.values()) {
      namespaces.add(w.located.ns);
      uids.add(w.located.entry.uid);
    }
    const pids = listPids(fs);
    const ordered = this.#opts.newestFirst
      ? newestFirst(pids, parseLastPid(fs.readText('/proc/loadavg') ?? ''))
      : pids;
    // Pids the index places in another namespace or uid come last.
    const later: number[] = [];
    const passStart = performance.now();
    let sliceStart = passStart;
    let deniedPids = 0;
    let example: number | undefined;

    const scanPid = (pid: number): void => {
      const fdDir = `/proc/${pid}/fd`;
      const fds = fs.readDir(fdDir);
      this.stats.pidsScanned += 1;
      if (!isListing(fds)) {
        if (fds.error === 'EACCES' || fds.error === 'EPERM') {
          deniedPids += 1;
          example ??= pid;
        }
        return;
      }
      for (const fd of fds) {
        const link = fs.readLink(`${fdDir}/${fd}`);
        // "socket:[" : only sockets are interesting; 's' first is a cheap pre-check.
        if (link?.charCodeAt(0) !== 115 || !link.startsWith('socket:[')) continue;
        if (this.#sockets.size >= MAX_SOCKET_CACHE) this.#sockets.clear();
        this.#sockets.set(link, { pid, fd });
        const w = wanted.get(link);
        if (w === undefined) continue;
        // The owner's own files now (a one-shot client may be gone a millisecond later);
        // parents and user name once the scan is over, so the scan reaches the next one sooner.
        const t0 = performance.now();
        const own = this.#facts.readOwn(pid, w.located.entry.uid);
        this.stats.factsMs += performance.now() - t0;
        found.push({ w, pid, own });
        wanted.delete(link);
      }
    };

    for (const phase of [ordered, later]) {
      for (const pid of phase) {
        if (wanted.size === 0) return { pids: deniedPids, example, budget: false };
        if (phase === ordered && this.#opts.skipByIndex) {
          const info = this.#index.get(pid);
          // The index may be up to one refresh old (a process may have entered the namespace
          // or changed uid since): skipped pids are only postponed to a second phase.
          if (
            info !== undefined &&
            ((info.ns !== undefined && !namespaces.has(info.ns)) ||
              (info.uid !== undefined && !uids.has(info.uid)))
          ) {
            later.push(pid);
            continue;
          }
        }
        scanPid(pid);
        const t = performance.now();
        if (t - passStart > this.#opts.passBudgetMs) {
          this.stats.budgetExceeded += 1;
          return { pids: deniedPids, example, budget: true };
        }
        if (t - sliceStart > this.#opts.sliceMs) {
          this.stats.slicesYielded += 1;
          await new Promise<void>((r) => setImmediate(r));
          sliceStart = performance.now();
        }
      }
    }
    return { pids: deniedPids, example, budget: false };
  }
}
