/**
 * Which processes exist, newest first, with the facts that let a scan skip them cheaply
 * (network namespace, owner uid). Refreshed in the background so that "new since the last
 * refresh" costs one readdir of /proc during a lookup.
 */
import { isListing, type ProcFs } from './proc-fs.js';

export interface PidInfo {
  /** Link text of /proc/<pid>/ns/net, e.g. "net:[4026531840]"; undefined when unreadable. */
  readonly ns: string | undefined;
  /** Owner of /proc/<pid> (the effective uid); undefined when unreadable. */
  readonly uid: number | undefined;
}

/** Numeric entries of /proc (thread-group leaders only: threads live under /proc/<pid>/task). */
export function listPids(fs: ProcFs): number[] {
  const names = fs.readDir('/proc');
  if (!isListing(names)) return [];
  const pids: number[] = [];
  for (const n of names) {
    const c = n.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(n));
  }
  return pids;
}

/** Last pid handed out by the kernel: the 5th field of /proc/loadavg ("0.05 0.20 0.11 1/88 7942"). */
export function parseLastPid(loadavg: string): number | undefined {
  const f = loadavg.trim().split(/\s+/);
  const n = Number.parseInt(f[4] ?? '', 10);
  return Number.isNaN(n) ? undefined : n;
}

/**
 * Newest first: pids are handed out increasing and wrap at pid_max, so descending from the
 * last pid, then descending from the top (processes created before the wrap).
 */
export function newestFirst(pids: readonly number[], lastPid: number | undefined): number[] {
  const sorted = [...pids].sort((a, b) => b - a);
  if (lastPid === undefined) return sorted;
  const cut = sorted.findIndex((p) => p <= lastPid);
  if (cut <= 0) return sorted;
  return [...sorted.slice(cut), ...sorted.slice(0, cut)];
}

export class PidIndex {
  readonly #info = new Map<number, PidInfo>();
  /** Pids first learned by the latest refresh: still "new" for the pre-scan of one-shot clients. */
  #recent = new Set<number>();
  #refreshedAt = -Infinity;
  /** Pids whose namespace could not be read at the last refresh (no ptrace access). */
  unreadable = 0;

  constructor(
    private readonly fs: ProcFs,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get refreshedAt(): number {
    return this.#refreshedAt;
  }

  get(pid: number): PidInfo | undefined {
    return this.#info.get(pid);
  }

  /** True when `pid` was first learned by the latest refresh (it may have started a moment ago). */
  isRecent(pid: number): boolean {
    return this.#recent.has(pid);
  }

  /** Reads the namespace and owner of one pid and remembers them. */
  learn(pid: number): PidInfo {
    const info: PidInfo = {
      ns: this.fs.readLink(`/proc/${pid}/ns/net`),
      uid: this.fs.ownerUid(`/proc/${pid}`),
    };
    // Remembered even when the namespace is unreadable (no ptrace access, e.g. another user's
    // process, or a sandbox's init): it is then not "new", so the pre-scan of new processes
    // does not re-read it pass after pass (measured: pid 1 with 263 fds cost 3-4 ms a pass).
    // A pid gone mid-read is forgotten at the next refresh.
    this.#info.set(pid, info);
    return info;
  }

  /**
   * Forgets vanished pids and re-reads every pid's namespace and owner: both change after
   * `setns`/`setuid` + exec (ip netns exec, nsenter, runc, setpriv), so nothing is trusted for
   * longer than one refresh interval. Returns the number of new pids.
   */
  refresh(): number {
    const pids = listPids(this.fs);
    const alive = new Set(pids);
    for (const pid of this.#info.keys()) if (!alive.has(pid)) this.#info.delete(pid);
    let unreadable = 0;
    const recent = new Set<number>();
    for (const pid of pids) {
      if (!this.#info.has(pid)) recent.add(pid);
      if (this.learn(pid).ns === undefined) unreadable += 1;
    }
    // The first refresh learns every process there is: none of them is new.
    this.#recent = this.#refreshedAt === -Infinity ? new Set() : recent;
    this.unreadable = unreadable;
    this.#refreshedAt = this.now();
    return recent.size;
  }

  /**
   * The pids of each distinct network namespace, lowest first (usually the namespace's init):
   * reading one pid's /proc/<pid>/net/tcp reads the whole namespace's table, and the next pid
   * serves when the first has exited.
   */
  namespaces(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [pid, info] of this.#info) {
      if (info.ns === undefined) continue;
      const list = out.get(info.ns);
      if (list === undefined) out.set(info.ns, [pid]);
      else list.push(pid);
    }
    for (const list of out.values()) list.sort((a, b) => a - b);
    return out;
  }
}
