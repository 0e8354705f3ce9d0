/**
 * Parser for /proc/net/tcp and /proc/net/tcp6 (also /proc/<pid>/net/tcp* of another network
 * namespace). The kernel prints each address as 32-bit words with `%08X` in host byte order,
 * so on little-endian hosts every 4-byte word reads reversed; ports are plain big hex numbers.
 *
 *   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
 *    0: 0202000A:9C40 FEA9FEA9:0050 01 00000000:00000000 00:00000000 00000000     0        0 123 ...
 */
import os from 'node:os';
import { ipv4Text, ipv6Text } from '../decode/ip-text.js';
import type { IpFamily } from '../decode/segment.js';
import type { Endpoint } from '../flows/flow.js';

/** TCP states as the kernel numbers them (include/net/tcp_states.h). */
export const TCP_STATE_NAMES: Readonly<Record<number, string>> = {
  1: 'ESTABLISHED',
  2: 'SYN_SENT',
  3: 'SYN_RECV',
  4: 'FIN_WAIT1',
  5: 'FIN_WAIT2',
  6: 'TIME_WAIT',
  7: 'CLOSE',
  8: 'CLOSE_WAIT',
  9: 'LAST_ACK',
  10: 'LISTEN',
  11: 'CLOSING',
  12: 'NEW_SYN_RECV',
};
export const TCP_TIME_WAIT = 6;

export interface TcpSocketEntry {
  /** Table family: tcp6 entries may hold IPv4-mapped addresses (::ffff:a.b.c.d). */
  readonly family: IpFamily;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly state: number;
  /**
   * Owner uid of the socket. The kernel prints 0 for TIME_WAIT entries (no socket left), so
   * treat it as unknown there.
   */
  readonly uid: number;
  /** Socket inode; 0 when no file holds the socket any more (TIME_WAIT, orphaned FIN_WAIT). */
  readonly inode: number;
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

/** Bytes of a kernel-printed address: each 8-hex-digit word is a u32 in host byte order. */
function addressBytes(hex: string, littleEndian: boolean): Buffer | undefined {
  if (hex.length !== 8 && hex.length !== 32) return undefined;
  const buf = Buffer.alloc(hex.length / 2);
  for (let w = 0; w < hex.length / 8; w++) {
    const word = Number.parseInt(hex.slice(w * 8, w * 8 + 8), 16);
    if (Number.isNaN(word)) return undefined;
    if (littleEndian) buf.writeUInt32LE(word, w * 4);
    else buf.writeUInt32BE(word, w * 4);
  }
  return buf;
}

/** "0202000A:9C40" to an endpoint; undefined when malformed. */
export function parseHexEndpoint(text: string, littleEndian = LITTLE_ENDIAN): Endpoint | undefined {
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  const bytes = addressBytes(text.slice(0, colon), littleEndian);
  const port = Number.parseInt(text.slice(colon + 1), 16);
  if (bytes === undefined || Number.isNaN(port) || port < 0 || port > 65535) return undefined;
  const ip = bytes.length === 4 ? ipv4Text(bytes, 0) : ipv6Text(bytes, 0);
  return { ip, port };
}

/**
 * Every well-formed row of one table. The header line and malformed lines are skipped (the
 * kernel's format has been stable since 2.6; a row we cannot read is not worth an exception).
 */
export function parseProcNetTcp(
  text: string,
  family: IpFamily,
  littleEndian = LITTLE_ENDIAN,
): TcpSocketEntry[] {
  const entries: TcpSocketEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    if (f.length < 10 || !f[0]?.endsWith(':')) continue;
    const local = parseHexEndpoint(f[1] ?? '', littleEndian);
    const remote = parseHexEndpoint(f[2] ?? '', littleEndian);
    const state = Number.parseInt(f[3] ?? '', 16);
    const uid = Number.parseInt(f[7] ?? '', 10);
    const inode = Number.parseInt(f[9] ?? '', 10);
    if (local === undefined || remote === undefined) continue;
    if (Number.isNaN(state) || Number.isNaN(uid) || Number.isNaN(inode)) continue;
    entries.push({ family, local, remote, state, uid, inode });
  }
  return entries;
}

/** "::ffff:192.0.2.2" and "192.0.2.2" compare equal: a dual-stack socket serves IPv4 flows. */
export function sameIp(a: string, b: string): boolean {
  return unmapIp(a) === unmapIp(b);
}

export function unmapIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * The row for a flow's client socket: local = client, remote = server. When several rows match
 * (a TIME_WAIT leftover and a fresh socket reusing the port), the one with an inode wins.
 */
export function findClientSocket(
  entries: readonly TcpSocketEntry[],
  client: Endpoint,
  server: Endpoint,
): TcpSocketEntry | undefined {
  let best: TcpSocketEntry | undefined;
  for (const e of entries) {
    if (e.local.port !== client.port || e.remote.port !== server.port) continue;
    if (!sameIp(e.local.ip, client.ip) || !sameIp(e.remote.ip, server.ip)) continue;
    if (e.inode !== 0) return e;
    best ??= e;
  }
  return best;
}

/** Table files to read for a flow: IPv4 flows may sit in tcp6 as IPv4-mapped. */
export function tableNames(family: IpFamily): readonly ('tcp' | 'tcp6')[] {
  return family === 'ipv4' ? ['tcp', 'tcp6'] : ['tcp6'];
}
