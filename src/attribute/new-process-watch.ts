/**
 * Meets one-shot clients while they still live, before their socket's inode is known.
 *
 * A lone `curl` against a fast IMDS closes its socket 0.7 ms after its SYN (tcpdump in the
 * fake instance) and exits soon after. So each pass first lists the processes that are new
 * (not in the pid index yet, or added by its latest refresh: readdir /proc costs 0.07-0.3 ms),
 * reads their socket links and, for each one holding a socket, its own files (stat, cmdline,
 * status, exe, cgroup). When sock_diag or the table then gives the flow's inode, a socket met
 * here names its process even if that process has exited since: it held the socket when we
 * read its fd, with the facts read then.
 *
 * Only an exact inode link names a process. Nothing here guesses by elimination.
 */
import { listPids, newestFirst, parseLastPid, type PidIndex } from './pid-index.js';
import { isListing, type ProcFs } from './proc-fs.js';
import type { OwnFacts, ProcessFactsReader } from './process-facts.js';

export interface MetSocket {
  readonly pid: number;
  readonly fd: string;
  /** The owner's own files, read when the socket was met; undefined when it vanished mid-read. */
  readonly own: OwnFacts | undefined;
  /** performance.now() when met. */
  readonly atMs: number;
}

export interface WatchScan {
  /** New pids listed, and how many of them were read (the rest: budget). */
  readonly fresh: number;
  readonly read: number;
  readonly sockets: number;
  readonly budgetHit: boolean;
}

/** Bounds: sockets met are kept this long (a lookup comes within one pass of its SYN). */
const MET_TTL_MS = 5000;
const MAX_MET = 16_384;

export class NewProcessWatch {
  /** "socket:[inode]" -> the process met holding it. */
  readonly #met = new Map<string, MetSocket>();
  #prunedAt = 0;

  constructor(
    private readonly fs: ProcFs,
    private readonly facts: ProcessFactsReader,
    private readonly index: PidIndex,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(link: string): MetSocket | undefined {
    return this.#met.get(link);
  }

  get size(): number {
    return this.#met.size;
  }

  /**
   * Reads the new pids, newest first, for at most `budgetMs`. Synchronous on purpose: it runs
   * as a lookup begins, while the client that sent the SYN still lives.
   */
  scan(budgetMs: number, ownNs: string): WatchScan {
    const start = this.now();
    const over = (): boolean => this.now() - start > budgetMs;
    if (start - this.#prunedAt > 1000) this.#prune(start);
    const fs = this.fs;
    const fresh = listPids(fs).filter(
      (pid) => this.index.get(pid) === undefined || this.index.isRecent(pid),
    );
    if (fresh.length === 0) return { fresh: 0, read: 0, sockets: 0, budgetHit: false };
    const ordered =
      fresh.length === 1
        ? fresh
        : newestFirst(fresh, parseLastPid(fs.readText('/proc/loadavg') ?? ''));
    // Our own network namespace first: on a shared host most new processes live elsewhere
    // (measured here: other test suites' node processes, ~1 ms each to read), and a flow seen
    // on our interface is nearly always from our namespace. Other namespaces (containers)
    // follow while the budget lasts.
    const later: number[] = [];
    const counts = { read: 0, sockets: 0 };
    for (const pid of ordered) {
      if (over()) return this.#result(fresh.length, counts, true);
      if (fs.readLink(`/proc/${pid}/ns/net`) !== ownNs) later.push(pid);
      else this.#read(pid, counts);
    }
    for (const pid of later) {
      if (over()) return this.#result(fresh.length, counts, true);
      this.#read(pid, counts);
    }
    return this.#result(fresh.length, counts, false);
  }

  #result(fresh: number, c: { read: number; sockets: number }, budgetHit: boolean): WatchScan {
    return { fresh, read: c.read, sockets: c.sockets, budgetHit };
  }

  /**
   * Remembers every socket `pid` holds, then reads its own files once. Links first, newest fd
   * first: a one-shot client may exit while its facts are read, and its TCP socket is usually
   * its last fd, after others (curl's wake-up socketpair). Measured in the fake instance: read
   * at its first socket, curl's facts took 0.2 ms, it exited meanwhile, and its TCP socket was
   * never seen.
   */
  #read(pid: number, counts: { read: number; sockets: number }): void {
    const fs = this.fs;
    counts.read += 1;
    const fdDir = `/proc/${pid}/fd`;
    const fds = fs.readDir(fdDir);
    if (!isListing(fds)) return;
    const links: { fd: string; link: string }[] = [];
    for (let i = fds.length - 1; i >= 0; i--) {
      const fd = fds[i] ?? '';
      const link = fs.readLink(`${fdDir}/${fd}`);
      // "socket:[": 's' first is a cheap pre-check.
      if (link?.charCodeAt(0) !== 115 || !link.startsWith('socket:[')) continue;
      // Met already (a burst lists the same new pids pass after pass): facts read then.
      if (this.#met.get(link)?.pid === pid) continue;
      links.push({ fd, link });
    }
    if (links.length === 0) return;
    const own = this.facts.readOwn(pid);
    const atMs = this.now();
    for (const { fd, link } of links) {
      if (this.#met.size >= MAX_MET) this.#met.clear();
      this.#met.set(link, { pid, fd, own, atMs });
    }
    counts.sockets += links.length;
  }

  #prune(now: number): void {
    this.#prunedAt = now;
    for (const [link, m] of this.#met) if (now - m.atMs > MET_TTL_MS) this.#met.delete(link);
  }
}
