/**
 * Fallback attribution through `lsof` (hosts where /proc lookup is not possible, or
 * `--attribution lsof`). Output is read in lsof's machine-readable `-F` form: one field per
 * line, the first character names the field (p pid, c command, u uid, L login, R ppid,
 * f fd, n name), a `p` line starts a new process set.
 *
 * lsof resolves socket addresses from its own network namespace's tables, so it only sees
 * clients in our namespace; the /proc path is the one that reaches containers.
 */
import { execFile } from 'node:child_process';
import type { Attribution, Attributor, ProcessFacts } from './attribution.js';
import type { Endpoint, FlowInfo } from '../flows/flow.js';
import { canonicalIpv6 } from './conntrack.js';
import { sameIp } from './proc-net-tcp.js';
import type { ProcessFactsReader } from './process-facts.js';

export interface LsofSocket {
  readonly pid: number;
  readonly command: string;
  readonly uid: number | undefined;
  readonly login: string | undefined;
  readonly ppid: number | undefined;
  readonly fd: string;
  readonly local: Endpoint;
  readonly remote: Endpoint;
}

/** "[2001:db8::2]:40000" or "192.0.2.2:40000" to an endpoint. */
function parseLsofEndpoint(text: string): Endpoint | undefined {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return undefined;
  let host = text.slice(0, colon);
  const port = Number.parseInt(text.slice(colon + 1), 10);
  if (Number.isNaN(port)) return undefined;
  if (host.startsWith('[') && host.endsWith(']')) {
    const ip = canonicalIpv6(host.slice(1, -1));
    return ip === undefined ? undefined : { ip, port };
  }
  if (host.includes(':')) return undefined;
  host = host.trim();
  return { ip: host, port };
}

/** Connected TCP sockets (names `local->remote`) of `lsof -F pcuLRfn` output. */
export function parseLsofF(text: string): LsofSocket[] {
  const out: LsofSocket[] = [];
  let proc: Omit<LsofSocket, 'fd' | 'local' | 'remote'> | undefined;
  let fd = '';
  for (const line of text.split('\n')) {
    const tag = line[0];
    const value = line.slice(1);
    switch (tag) {
      case 'p': {
        const pid = Number.parseInt(value, 10);
        proc = Number.isNaN(pid)
          ? undefined
          : { pid, command: '', uid: undefined, login: undefined, ppid: undefined };
        fd = '';
        break;
      }
      case 'c':
        if (proc !== undefined) proc = { ...proc, command: value };
        break;
      case 'u': {
        const uid = Number.parseInt(value, 10);
        if (proc !== undefined && !Number.isNaN(uid)) proc = { ...proc, uid };
        break;
      }
      case 'L':
        if (proc !== undefined) proc = { ...proc, login: value };
        break;
      case 'R': {
        const ppid = Number.parseInt(value, 10);
        if (proc !== undefined && !Number.isNaN(ppid)) proc = { ...proc, ppid };
        break;
      }
      case 'f':
        fd = value;
        break;
      case 'n': {
        const arrow = value.indexOf('->');
        if (proc === undefined || arrow < 0) break;
        // A state suffix may follow with -T: "a->b (ESTABLISHED)".
        const local = parseLsofEndpoint(value.slice(0, arrow));
        const remote = parseLsofEndpoint(value.slice(arrow + 2).split(' ')[0] ?? '');
        if (local !== undefined && remote !== undefined) out.push({ ...proc, fd, local, remote });
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/** lsof arguments listing TCP sockets to one server: numeric, no warnings, -F fields. */
export function lsofArgs(server: Endpoint): string[] {
  const host = server.ip.includes(':') ? `[${server.ip}]` : server.ip;
  return ['-nP', '-w', '-F', 'pcuLRfn', `-iTCP@${host}:${server.port}`];
}

export function findLsofClient(
  sockets: readonly LsofSocket[],
  client: Endpoint,
  server: Endpoint,
): LsofSocket | undefined {
  return sockets.find(
    (s) =>
      s.local.port === client.port &&
      s.remote.port === server.port &&
      sameIp(s.local.ip, client.ip) &&
      sameIp(s.remote.ip, server.ip),
  );
}

/** What lsof alone says about a process, when /proc cannot add more. */
export function lsofOnlyFacts(s: LsofSocket): ProcessFacts {
  return {
    pid: s.pid,
    name: s.command,
    executable: undefined,
    args: [],
    commandLine: s.command,
    start: '',
    parent: s.ppid === undefined ? undefined : { pid: s.ppid, name: '' },
    ancestors: [],
    uid: s.uid ?? -1,
    userName: s.login,
    cgroup: undefined,
    systemdUnit: undefined,
    container: undefined,
    podUid: undefined,
  };
}

export type LsofRunner = (args: readonly string[]) => Promise<{ stdout: string; error?: string }>;

/** Runs the real lsof. Exit status 1 with empty output only means "nothing matched". */
export function realLsof(path = 'lsof', timeoutMs = 5000): LsofRunner {
  return (args) =>
    new Promise((resolve) => {
      execFile(
        path,
        [...args],
        { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err !== null && stdout === '' && stderr.trim() !== '') {
            resolve({ stdout, error: stderr.trim().split('\n')[0] ?? err.message });
            return;
          }
          if (err !== null && (err as { code?: unknown }).code === 'ENOENT') {
            resolve({ stdout: '', error: `${path} is not installed` });
            return;
          }
          resolve({ stdout });
        },
      );
    });
}

interface Pending {
  readonly flow: FlowInfo;
  readonly timeMs: number;
  readonly resolve: (a: Attribution) => void;
  attempts: number;
}

export interface LsofAttributorOptions {
  readonly run?: LsofRunner;
  /** Reads full facts for the pid found; undefined when /proc is not readable. */
  readonly facts?: ProcessFactsReader | undefined;
  readonly now?: () => number;
  /** Further lsof runs when the socket is not listed yet. */
  readonly retries?: number;
}

export class LsofAttributor implements Attributor {
  readonly #run: LsofRunner;
  readonly #facts: ProcessFactsReader | undefined;
  readonly #now: () => number;
  readonly #retries: number;
  #pending: Pending[] = [];
  #running = false;
  #closed = false;

  constructor(options: LsofAttributorOptions = {}) {
    this.#run = options.run ?? realLsof();
    this.#facts = options.facts;
    this.#now = options.now ?? Date.now;
    this.#retries = options.retries ?? 1;
  }

  lookup(flow: FlowInfo, timeMs: number): Promise<Attribution> {
    return new Promise((resolve) => {
      if (this.#closed) {
        resolve({ status: 'unknown', reason: 'attribution stopped' });
        return;
      }
      this.#pending.push({ flow, timeMs, resolve, attempts: 0 });
      if (!this.#running) {
        this.#running = true;
        setImmediate(() => void this.#drain());
      }
    });
  }

  close(): void {
    this.#closed = true;
    for (const p of this.#pending.splice(0))
      p.resolve({ status: 'unknown', reason: 'attribution stopped' });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0 && !this.#closed) {
        await this.#pass(this.#pending.splice(0));
      }
    } catch (err) {
      for (const p of this.#pending.splice(0))
        p.resolve({ status: 'unknown', reason: `lsof failed: ${String(err)}` });
    } finally {
      this.#running = false;
    }
  }

  /** One lsof run per distinct server in the batch. */
  async #pass(batch: Pending[]): Promise<void> {
    const servers = new Map<string, Pending[]>();
    for (const p of batch) {
      const key = `${p.flow.server.ip} ${p.flow.server.port}`;
      const list = servers.get(key);
      if (list === undefined) servers.set(key, [p]);
      else list.push(p);
    }
    for (const items of servers.values()) {
      const first = items[0];
      if (first === undefined) continue;
      const { stdout, error } = await this.#run(lsofArgs(first.flow.server));
      const sockets = parseLsofF(stdout);
      for (const p of items) {
        const s = findLsofClient(sockets, p.flow.client, p.flow.server);
        if (s === undefined) {
          if (error === undefined && p.attempts < this.#retries) {
            p.attempts += 1;
            this.#pending.push(p);
          } else {
            p.resolve({
              status: 'unknown',
              reason:
                error ??
                'lsof lists no process with this socket (exited, or in another network namespace)',
            });
          }
          continue;
        }
        const process = this.#facts?.read(s.pid, s.uid) ?? lsofOnlyFacts(s);
        p.resolve({ status: 'ok', method: 'lsof', process, latencyMs: this.#now() - p.timeMs });
      }
    }
  }
}
