/**
 * Finds a flow's client socket in the TCP tables of every network namespace: our own first,
 * then one pid's view of each other namespace (containers), then through conntrack for flows
 * seen after NAT. Tables are read at most once per batch of lookups.
 */
import type { FlowInfo, Endpoint } from '../flows/flow.js';
import { parseConntrack, preNatTuple, type ConntrackEntry } from './conntrack.js';
import {
  findClientSocket,
  parseProcNetTcp,
  tableNames,
  type TcpSocketEntry,
} from './proc-net-tcp.js';
import type { NamespaceAddresses } from './namespace-addresses.js';
import type { ProcFs } from './proc-fs.js';

export interface LocatedSocket {
  readonly entry: TcpSocketEntry;
  /** Network namespace link text ("net:[...]") of the table the socket was found in. */
  readonly ns: string;
  /** The client as the socket sees it (differs from the flow's when found through conntrack). */
  readonly client: Endpoint;
  readonly viaConntrack: boolean;
}

/** Per-batch reader: every table file is read once however many lookups ask for it. */
export class TableSnapshot {
  readonly #tables = new Map<string, TcpSocketEntry[] | undefined>();
  readonly #conntrack = new Map<string, ConntrackEntry[] | undefined>();
  /** Tables actually read in this snapshot (for the cost accounting in the benchmark). */
  reads = 0;
  /** Called after each table file is read (the benchmark's timeline). */
  onRead: ((ns: string, name: string) => void) | undefined;

  constructor(
    private readonly fs: ProcFs,
    /** Our own namespace link text ("net:[...]"), read from /proc/self/ns/net. */
    readonly ownNs: string,
    /** Namespace -> pids inside it; our own namespace is read through /proc/self. */
    private namespaces: Map<string, number[]>,
    /** Which namespaces own an address; without it every namespace is searched. */
    private readonly addresses?: NamespaceAddresses,
  ) {}

  /** After an index refresh: tables already read stay (a namespace's table is the same). */
  setNamespaces(namespaces: Map<string, number[]>): void {
    this.namespaces = namespaces;
  }

  /** `/proc/self/net/<file>` or the first readable `/proc/<pid>/net/<file>` of a namespace. */
  private readNs(ns: string, file: string): string | undefined {
    if (ns === this.ownNs) return this.fs.readText(`/proc/self/net/${file}`);
    for (const pid of this.namespaces.get(ns) ?? []) {
      const text = this.fs.readText(`/proc/${pid}/net/${file}`);
      if (text !== undefined) return text;
    }
    return undefined;
  }

  /** Uses text already read (by the read-ahead worker, while the pre-scan ran) for a table. */
  preload(ns: string, name: 'tcp' | 'tcp6', text: string): void {
    this.reads += 1;
    this.#tables.set(`${ns} ${name}`, parseProcNetTcp(text, name === 'tcp' ? 'ipv4' : 'ipv6'));
  }

  table(ns: string, name: 'tcp' | 'tcp6'): TcpSocketEntry[] | undefined {
    const key = `${ns} ${name}`;
    if (this.#tables.has(key)) return this.#tables.get(key);
    const text = this.readNs(ns, name);
    this.reads += 1;
    this.onRead?.(ns, name);
    const parsed =
      text === undefined ? undefined : parseProcNetTcp(text, name === 'tcp' ? 'ipv4' : 'ipv6');
    this.#tables.set(key, parsed);
    return parsed;
  }

  conntrack(ns: string): ConntrackEntry[] | undefined {
    if (this.#conntrack.has(ns)) return this.#conntrack.get(ns);
    const text = this.readNs(ns, 'nf_conntrack');
    const parsed = text === undefined ? undefined : parseConntrack(text);
    this.#conntrack.set(ns, parsed);
    return parsed;
  }

  /** Namespaces in search order: ours first. */
  allNamespaces(): string[] {
    return [this.ownNs, ...[...this.namespaces.keys()].filter((n) => n !== this.ownNs)];
  }

  /**
   * The flow's row in one namespace. The first table holding the tuple answers, closed or not:
   * an IPv4 flow reads tcp6 (IPv4-mapped dual-stack sockets) only when tcp has no row, since
   * every table read walks the kernel's whole established hash (3.5-9 ms each).
   */
  findIn(
    ns: string,
    family: FlowInfo['family'],
    client: Endpoint,
    server: Endpoint,
  ): TcpSocketEntry | undefined {
    for (const name of tableNames(family)) {
      const e = findClientSocket(this.table(ns, name) ?? [], client, server);
      if (e !== undefined) return e;
    }
    return undefined;
  }

  /**
   * The namespaces that own `ip` (a socket's local address belongs to its namespace), in
   * search order; all of them when none is known to (no address map, or an address no
   * namespace has: seen after NAT, or files unreadable).
   */
  private ownersOf(ip: string): string[] {
    const all = this.allNamespaces();
    if (this.addresses === undefined) return all;
    const withOwn = new Map(this.namespaces);
    if (!withOwn.has(this.ownNs)) withOwn.set(this.ownNs, []);
    const owners = this.addresses.owners(ip, withOwn);
    return owners.length > 0 ? all.filter((ns) => owners.includes(ns)) : all;
  }

  /**
   * The first namespace whose table has the tuple answers (ours first: the common case costs
   * one or two table reads); a closed row (TIME_WAIT) answers too, since re-reading every other
   * namespace for each closed socket made a burst of one-shot clients cost seconds. Only the
   * namespaces owning the client's address are searched when one does.
   * `skipOwn`: sock_diag already said our namespace has no socket with the flow's tuple.
   */
  locate(flow: FlowInfo, skipOwn = false): LocatedSocket | undefined {
    const owners = this.ownersOf(flow.client.ip);
    for (const ns of owners) {
      if (skipOwn && ns === this.ownNs) continue;
      const entry = this.findIn(ns, flow.family, flow.client, flow.server);
      if (entry !== undefined) return { entry, ns, client: flow.client, viaConntrack: false };
    }
    // Seen after NAT: the namespace that did the NAT owns the rewritten address and holds the
    // original tuple in its conntrack table.
    for (const natNs of owners) {
      const original = preNatTuple(this.conntrack(natNs) ?? [], flow.client, flow.server);
      if (original === undefined) continue;
      for (const ns of this.ownersOf(original.src.ip)) {
        const entry = this.findIn(ns, flow.family, original.src, original.dst);
        if (entry !== undefined) return { entry, ns, client: original.src, viaConntrack: true };
      }
    }
    return undefined;
  }
}
