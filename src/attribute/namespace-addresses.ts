/**
 * Which network namespaces own an address: a socket's local address is one of its own
 * namespace's addresses, so a container's flow needs only that namespace's socket table, not
 * every namespace's. Each table read walks the kernel's whole established hash (3.5-9 ms here),
 * so on a node with 30 pods a search of every namespace held the event loop ~0.3 s.
 *
 * Addresses come from /proc/<pid>/net/fib_trie (IPv4: the "/32 host LOCAL" leaves) and
 * /proc/<pid>/net/if_inet6 (IPv6), read once per namespace and kept for `ttlMs`; the
 * attributor's background refresh renews them, a lookup reads only what is missing or expired.
 */
import { ipv6Text } from '../decode/ip-text.js';
import type { ProcFs } from './proc-fs.js';

/** IPv4 addresses the kernel routes locally in this namespace (its own addresses). */
export function parseFibTrieLocal(text: string): string[] {
  const out = new Set<string>();
  let last: string | undefined;
  for (const line of text.split('\n')) {
    const leaf = /^\s*\|-- (\d{1,3}(?:\.\d{1,3}){3})\s*$/.exec(line);
    if (leaf !== null) {
      last = leaf[1];
      continue;
    }
    if (last !== undefined && /^\s*\/32 host LOCAL\s*$/.test(line)) out.add(last);
  }
  return [...out];
}

/** IPv6 addresses of /proc/net/if_inet6: 32 hex digits, then index, prefix, scope, flags, name. */
export function parseIfInet6(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const hex = /^([0-9a-fA-F]{32})\s/.exec(line)?.[1];
    if (hex !== undefined) out.push(ipv6Text(Buffer.from(hex, 'hex'), 0));
  }
  return out;
}

interface Known {
  readonly addresses: ReadonlySet<string>;
  readonly atMs: number;
}

export class NamespaceAddresses {
  readonly #known = new Map<string, Known>();

  constructor(
    private readonly fs: ProcFs,
    /** Our own namespace, read through /proc/self. */
    private readonly ownNs: string,
    private readonly ttlMs = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The namespaces among `namespaces` (namespace -> pids inside it) that own `ip`; empty when
   * none does (an address seen after NAT, or a namespace whose files could not be read).
   */
  owners(ip: string, namespaces: ReadonlyMap<string, readonly number[]>): string[] {
    const out: string[] = [];
    for (const [ns, pids] of namespaces) {
      if (this.#current(ns, pids, this.now()).has(ip)) out.push(ns);
    }
    return out;
  }

  /**
   * Forgets namespaces that are gone and re-reads those not known or older than the time to
   * live, so that lookups (which read what is missing themselves) rarely have to.
   */
  refresh(namespaces: ReadonlyMap<string, readonly number[]>): void {
    for (const ns of this.#known.keys()) if (!namespaces.has(ns)) this.#known.delete(ns);
    const now = this.now();
    for (const [ns, pids] of namespaces) this.#current(ns, pids, now);
  }

  #current(ns: string, pids: readonly number[], now: number): ReadonlySet<string> {
    let known = this.#known.get(ns);
    if (known === undefined || now - known.atMs > this.ttlMs) {
      known = { addresses: this.#read(ns, pids), atMs: now };
      this.#known.set(ns, known);
    }
    return known.addresses;
  }

  #read(ns: string, pids: readonly number[]): Set<string> {
    const dirs = ns === this.ownNs ? ['/proc/self'] : pids.map((pid) => `/proc/${pid}`);
    for (const dir of dirs) {
      const v4 = this.fs.readText(`${dir}/net/fib_trie`);
      if (v4 === undefined) continue;
      const v6 = this.fs.readText(`${dir}/net/if_inet6`) ?? '';
      return new Set([...parseFibTrieLocal(v4), ...parseIfInet6(v6)]);
    }
    return new Set();
  }
}
