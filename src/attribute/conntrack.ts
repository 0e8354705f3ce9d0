/**
 * /proc/net/nf_conntrack: undoes NAT. A container's connection leaves the host masqueraded
 * (client = host address); conntrack keeps the original tuple next to the reply tuple:
 *
 *   ipv4 2 tcp 6 117 ESTABLISHED src=198.51.100.2 dst=169.254.169.254 sport=40000 dport=80
 *        src=169.254.169.254 dst=192.0.2.2 sport=80 dport=40000 [ASSURED] mark=0 zone=0 use=2
 *
 * A flow captured after NAT (192.0.2.2:40000 -> 169.254.169.254:80) is the reply tuple read
 * backwards; its original tuple names the client socket inside the container's namespace.
 */
import { ipv6Text } from '../decode/ip-text.js';
import type { Endpoint } from '../flows/flow.js';

export interface ConntrackTuple {
  readonly src: Endpoint;
  readonly dst: Endpoint;
}

export interface ConntrackEntry {
  readonly original: ConntrackTuple;
  readonly reply: ConntrackTuple;
}

/** Canonical text of an IPv6 address in any spelling (conntrack prints all 8 groups, zero-padded). */
export function canonicalIpv6(text: string): string | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      groups.push(Number.parseInt(g, 16));
    }
    return groups;
  };
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const buf = Buffer.alloc(16);
  [...head, ...new Array<number>(fill).fill(0), ...tail].forEach((g, i) => {
    buf.writeUInt16BE(g, i * 2);
  });
  return ipv6Text(buf, 0);
}

function canonicalIp(text: string): string | undefined {
  if (text.includes(':')) return canonicalIpv6(text);
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(text) ? text : undefined;
}

/** TCP entries of an nf_conntrack table; other protocols and malformed lines are skipped. */
export function parseConntrack(text: string): ConntrackEntry[] {
  const entries: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[2] !== 'tcp') continue;
    const values: Record<'src' | 'dst' | 'sport' | 'dport', string[]> = {
      src: [],
      dst: [],
      sport: [],
      dport: [],
    };
    for (const field of f) {
      const eq = field.indexOf('=');
      if (eq < 0) continue;
      const key = field.slice(0, eq);
      if (key === 'src' || key === 'dst' || key === 'sport' || key === 'dport') {
        values[key].push(field.slice(eq + 1));
      }
    }
    const tuple = (i: number): ConntrackTuple | undefined => {
      const src = canonicalIp(values.src[i] ?? '');
      const dst = canonicalIp(values.dst[i] ?? '');
      const sport = Number.parseInt(values.sport[i] ?? '', 10);
      const dport = Number.parseInt(values.dport[i] ?? '', 10);
      if (src === undefined || dst === undefined || Number.isNaN(sport) || Number.isNaN(dport)) {
        return undefined;
      }
      return { src: { ip: src, port: sport }, dst: { ip: dst, port: dport } };
    };
    const original = tuple(0);
    const reply = tuple(1);
    if (original !== undefined && reply !== undefined) entries.push({ original, reply });
  }
  return entries;
}

/**
 * The pre-NAT client and server of a flow seen after NAT: the entry whose reply tuple comes
 * from `server` to `client`, when its original tuple differs (otherwise there was no NAT).
 */
export function preNatTuple(
  entries: readonly ConntrackEntry[],
  client: Endpoint,
  server: Endpoint,
): ConntrackTuple | undefined {
  for (const e of entries) {
    const r = e.reply;
    if (r.src.ip !== server.ip || r.src.port !== server.port) continue;
    if (r.dst.ip !== client.ip || r.dst.port !== client.port) continue;
    const o = e.original;
    if (o.src.ip === client.ip && o.src.port === client.port) return undefined;
    return o;
  }
  return undefined;
}
