import type { DecodeResult } from './segment.js';
import { DecodeReason } from './reasons.js';
import { ipv4Text } from './ip-text.js';
import { decodeTcp } from './tcp.js';

const IPV4_MIN_HEADER = 20;
const PROTO_TCP = 6;

/**
 * Decodes the IPv4 packet starting at `offset`. The total length field, not the frame length,
 * says where the packet ends, so Ethernet padding after short packets is cut off. Fragments of
 * TCP are counted, not reassembled: IMDS requests never need fragmenting on a 1500-byte link.
 */
export function decodeIpv4(data: Buffer, offset: number): DecodeResult {
  const available = data.length - offset;
  if (available < IPV4_MIN_HEADER) return { kind: 'malformed', reason: DecodeReason.truncatedIpv4 };
  const first = data[offset] ?? 0;
  if (first >> 4 !== 4) return { kind: 'malformed', reason: DecodeReason.ipv4BadVersion };
  const headerLength = (first & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER) {
    return { kind: 'malformed', reason: DecodeReason.ipv4BadHeaderLength };
  }
  if (headerLength > available) return { kind: 'malformed', reason: DecodeReason.truncatedIpv4 };
  const totalLength = data.readUInt16BE(offset + 2);
  if (totalLength < headerLength) {
    return { kind: 'malformed', reason: DecodeReason.ipv4BadTotalLength };
  }
  // Shorter than it says: the snap length cut it, and a cut payload would corrupt the stream.
  if (totalLength > available) return { kind: 'malformed', reason: DecodeReason.truncatedIpv4 };

  const protocol = data[offset + 9] ?? 0;
  if (protocol !== PROTO_TCP) return { kind: 'ignored', reason: DecodeReason.notTcp };
  const fragment = data.readUInt16BE(offset + 6);
  const moreFragments = (fragment & 0x2000) !== 0;
  const fragmentOffset = fragment & 0x1fff;
  if (moreFragments || fragmentOffset !== 0) {
    return { kind: 'malformed', reason: DecodeReason.ipv4Fragment };
  }

  return decodeTcp(data, offset + headerLength, offset + totalLength, {
    family: 'ipv4',
    srcIp: ipv4Text(data, offset + 12),
    dstIp: ipv4Text(data, offset + 16),
    ttl: data[offset + 8] ?? 0,
  });
}
