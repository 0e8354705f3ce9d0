/**
 * Community ID v1 flow hash (https://github.com/corelight/community-id-spec), so a SIEM can join
 * our events with Zeek's and Suricata's records of the same connection (ECS
 * `network.community_id`).
 *
 * Hash input, all big-endian: seed (2 bytes) | lower ip | higher ip | proto (1) | 0 (1) |
 * lower-side port (2) | higher-side port (2), where "lower" is the endpoint whose ip:port is
 * numerically smaller, so both directions of a connection hash alike. Output: "1:" + base64(SHA-1).
 */
import { createHash } from 'node:crypto';

export const PROTO_TCP = 6;

/** Community ID v1 of a port-carrying flow (TCP by default). '' when an address does not parse (the spec allows an empty id). */
export function communityIdV1(
  srcIp: string,
  srcPort: number,
  dstIp: string,
  dstPort: number,
  proto: number = PROTO_TCP,
  seed = 0,
): string {
  const src = ipToBytes(srcIp);
  const dst = ipToBytes(dstIp);
  if (src === undefined || dst?.length !== src.length) return '';
  const order = Buffer.compare(src, dst);
  const swap = order > 0 || (order === 0 && srcPort > dstPort);
  const [ip1, ip2, port1, port2] = swap
    ? [dst, src, dstPort, srcPort]
    : [src, dst, srcPort, dstPort];

  const input = Buffer.alloc(2 + ip1.length * 2 + 2 + 4);
  let at = input.writeUInt16BE(seed & 0xffff, 0);
  at += ip1.copy(input, at);
  at += ip2.copy(input, at);
  at = input.writeUInt8(proto & 0xff, at);
  at = input.writeUInt8(0, at);
  at = input.writeUInt16BE(port1 & 0xffff, at);
  input.writeUInt16BE(port2 & 0xffff, at);
  return '1:' + createHash('sha1').update(input).digest('base64');
}

/** Network-order bytes of an IPv4 dotted quad or an IPv6 address (with `::` and an optional trailing dotted quad). */
export function ipToBytes(ip: string): Buffer | undefined {
  return ip.includes(':') ? ipv6ToBytes(ip) : ipv4ToBytes(ip);
}

const IPV4_PART = /^\d{1,3}$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function ipv4ToBytes(ip: string): Buffer | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] ?? '';
    if (!IPV4_PART.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function ipv6ToBytes(ip: string): Buffer | undefined {
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** 16-bit groups of one side of `::`; a trailing dotted quad counts as two groups. */
function parseGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (i === parts.length - 1 && part.includes('.')) {
      const v4 = ipv4ToBytes(part);
      if (v4 === undefined) return undefined;
      groups.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
    } else {
      if (!IPV6_GROUP.test(part)) return undefined;
      groups.push(parseInt(part, 16));
    }
  }
  return groups;
}
