/**
 * ProcessFacts from /proc/<pid>/{stat,status,cmdline,exe,cgroup}. Called the moment a socket's
 * owner is found: a one-shot client may exit a millisecond later, so the process's own files
 * are read first, and whatever was read before it vanished is still returned.
 */
import type { AncestorFacts, ProcessFacts } from './attribution.js';
import { parseCgroup } from './cgroup.js';
import type { ProcFs } from './proc-fs.js';
import type { UserNames } from './passwd.js';

export interface StatFacts {
  readonly pid: number;
  readonly comm: string;
  readonly ppid: number;
  /** Clock ticks after boot. */
  readonly startTicks: number;
}

/** /proc/<pid>/stat: `pid (comm) state ppid ... starttime(22) ...`; comm may hold spaces and ')'. */
export function parseStat(text: string): StatFacts | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number.parseInt(text.slice(0, open), 10);
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const ppid = Number.parseInt(rest[1] ?? '', 10);
  const startTicks = Number.parseInt(rest[19] ?? '', 10);
  if (Number.isNaN(pid) || Number.isNaN(ppid) || Number.isNaN(startTicks)) return undefined;
  return { pid, comm: text.slice(open + 1, close), ppid, startTicks };
}

/** Effective uid from the `Uid:` line of /proc/<pid>/status (real, effective, saved, fs). */
export function parseStatusUid(text: string): number | undefined {
  const m = /^Uid:\s+\d+\s+(\d+)/m.exec(text);
  return m?.[1] === undefined ? undefined : Number.parseInt(m[1], 10);
}

/** NUL-separated argv; the trailing NUL is not an empty argument. */
export function parseCmdline(text: string): string[] {
  if (text === '') return [];
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** argv joined for display; arguments with blanks or quotes are single-quoted. */
export function commandLineOf(args: readonly string[]): string {
  return args
    .map((a) => (a === '' || /[\s'"\\]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a))
    .join(' ');
}

/** `btime` of /proc/stat: boot time in seconds since the epoch. */
export function parseBootTime(text: string): number | undefined {
  const m = /^btime\s+(\d+)/m.exec(text);
  return m?.[1] === undefined ? undefined : Number.parseInt(m[1], 10);
}

export interface FactsContext {
  readonly fs: ProcFs;
  readonly users: UserNames;
  /** Boot time in ms since the epoch (btime of /proc/stat). */
  readonly bootTimeMs: number;
  /** USER_HZ; 100 on every Linux architecture we run on (getconf CLK_TCK). */
  readonly clockTicks: number;
}

interface AncestorEntry extends AncestorFacts {
  readonly ppid: number;
}

/** Ancestors are long-lived: cache them by pid, checked against the start time (pid reuse). */
const MAX_ANCESTOR_CACHE = 4096;
const ANCESTOR_TTL_MS = 2000;

/** A process's own files as read at the moment its socket was found. */
export interface OwnFacts {
  readonly pid: number;
  readonly stat: StatFacts | undefined;
  readonly cmdlineText: string | undefined;
  readonly statusText: string | undefined;
  readonly executable: string | undefined;
  readonly cgroupText: string | undefined;
  readonly knownUid: number | undefined;
}

export class ProcessFactsReader {
  readonly #ancestors = new Map<
    number,
    { entry: AncestorEntry; startTicks: number; checkedAt: number }
  >();

  constructor(
    private readonly ctx: FactsContext,
    private readonly now: () => number = () => performance.now(),
  ) {}

  userName(uid: number): string | undefined {
    return this.ctx.users.name(uid);
  }

  static bootTimeMs(fs: ProcFs): number {
    const btime = parseBootTime(fs.readText('/proc/stat') ?? '');
    return btime === undefined ? 0 : btime * 1000;
  }

  /**
   * Facts for `pid`, or undefined when not even its stat could be read (already gone).
   * `knownUid` (from the socket table) fills in when status could not be read.
   */
  read(pid: number, knownUid?: number): ProcessFacts | undefined {
    const own = this.readOwn(pid, knownUid);
    return own === undefined ? undefined : this.complete(own);
  }

  /**
   * Only the process's own files, the part that vanishes when a one-shot client exits: read
   * this the moment the owner is found, and `complete` (parents, user name) afterwards.
   */
  readOwn(pid: number, knownUid?: number): OwnFacts | undefined {
    const { fs } = this.ctx;
    const base = `/proc/${pid}`;
    // In the order of their value, in case the process exits midway.
    const cmdlineText = fs.readText(`${base}/cmdline`);
    const statText = fs.readText(`${base}/stat`);
    const stat = statText === undefined ? undefined : parseStat(statText);
    if (stat === undefined && cmdlineText === undefined) return undefined;
    const statusText = fs.readText(`${base}/status`);
    const executable = fs.readLink(`${base}/exe`);
    const cgroupText = fs.readText(`${base}/cgroup`);
    return { pid, stat, cmdlineText, statusText, executable, cgroupText, knownUid };
  }

  complete(own: OwnFacts): ProcessFacts {
    const { pid, stat, statusText, executable } = own;
    const args = parseCmdline(own.cmdlineText ?? '');
    const name = stat?.comm ?? /^Name:\s+(.*)$/m.exec(statusText ?? '')?.[1] ?? '';
    const uid = parseStatusUid(statusText ?? '') ?? own.knownUid ?? -1;
    const cg = parseCgroup(own.cgroupText ?? '');
    const ancestors = stat === undefined ? [] : this.ancestorsOf(stat.ppid);
    const parentFacts = ancestors[0];
    return {
      pid,
      name,
      executable: executable?.replace(/ \(deleted\)$/, ''),
      args,
      commandLine: args.length > 0 ? commandLineOf(args) : name === '' ? '' : `[${name}]`,
      start:
        stat === undefined
          ? ''
          : new Date(
              this.ctx.bootTimeMs + (stat.startTicks * 1000) / this.ctx.clockTicks,
            ).toISOString(),
      parent:
        parentFacts !== undefined
          ? { pid: parentFacts.pid, name: parentFacts.name }
          : stat !== undefined && stat.ppid > 0
            ? { pid: stat.ppid, name: '' }
            : undefined,
      ancestors: ancestors.map(({ pid: p, name: n, commandLine: c }) => ({
        pid: p,
        name: n,
        commandLine: c,
      })),
      uid,
      userName: uid >= 0 ? this.ctx.users.name(uid) : undefined,
      cgroup: cg.path,
      systemdUnit: cg.systemdUnit,
      container: cg.container,
      podUid: cg.podUid,
    };
  }

  /** Parent first, up to and including pid 1 (at most 64 levels: a loop guard). */
  ancestorsOf(ppid: number): AncestorEntry[] {
    const out: AncestorEntry[] = [];
    let pid = ppid;
    for (let depth = 0; pid > 0 && depth < 64; depth++) {
      const a = this.ancestor(pid);
      if (a === undefined) break;
      out.push(a);
      if (pid === 1) break;
      pid = a.ppid;
    }
    return out;
  }

  private ancestor(pid: number): AncestorEntry | undefined {
    // Ancestors are shells, daemons, init: long-lived. A cached entry checked within the last
    // ANCESTOR_TTL_MS is trusted without a read (measured: re-reading a 10-level chain for
    // each of 100 parallel curls cost more than the fd scan itself).
    const cached = this.#ancestors.get(pid);
    const now = this.now();
    if (cached !== undefined && now - cached.checkedAt < ANCESTOR_TTL_MS) return cached.entry;
    const statText = this.ctx.fs.readText(`/proc/${pid}/stat`);
    const stat = statText === undefined ? undefined : parseStat(statText);
    if (stat === undefined) return undefined;
    if (cached?.startTicks === stat.startTicks) {
      cached.checkedAt = now;
      return cached.entry;
    }
    const args = parseCmdline(this.ctx.fs.readText(`/proc/${pid}/cmdline`) ?? '');
    const entry: AncestorEntry = {
      pid,
      name: stat.comm,
      commandLine: args.length > 0 ? commandLineOf(args) : `[${stat.comm}]`,
      ppid: stat.ppid,
    };
    if (this.#ancestors.size >= MAX_ANCESTOR_CACHE) this.#ancestors.clear();
    this.#ancestors.set(pid, { entry, startTicks: stat.startTicks, checkedAt: now });
    return entry;
  }
}
