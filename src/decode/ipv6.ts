import type { DecodeResult } from './segment.js';
import { DecodeReason } from './reasons.js';
import { ipv6Text } from './ip-text.js';
import { decodeTcp } from './tcp.js';

const IPV6_HEADER = 40;
const PROTO_TCP = 6;
const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AUTH = 51;
const DEST_OPTS = 60;
/** Real packets carry two or three; more is a crafted chain, not worth walking. */
const MAX_EXTENSION_HEADERS = 16;

/**
 * Decodes the IPv6 packet starting at `offset`, walking the extension header chain
 * (hop-by-hop, routing, destination options, fragment, AH) to the TCP header. The payload
 * length field says where the packet ends, so link padding is cut off.
 */
export function decodeIpv6(data: Buffer, offset: number): DecodeResult {
  const available = data.length - offset;
  if (available < IPV6_HEADER) return { kind: 'malformed', reason: DecodeReason.truncatedIpv6 };
  if ((data[offset] ?? 0) >> 4 !== 6) {
    return { kind: 'malformed', reason: DecodeReason.ipv6BadVersion };
  }
  const payloadLength = data.readUInt16BE(offset + 4);
  let next = data[offset + 6] ?? 0;
  // Payload length 0 with a hop-by-hop header means a jumbogram (RFC 2675): never IMDS.
  if (payloadLength === 0 && next === HOP_BY_HOP) {
    return { kind: 'malformed', reason: DecodeReason.ipv6Jumbogram };
  }
  const end = offset + IPV6_HEADER + payloadLength;
  if (end > data.length) return { kind: 'malformed', reason: DecodeReason.truncatedIpv6 };

  let pos = offset + IPV6_HEADER;
  let fragmented = false;
  for (let count = 0; ; count++) {
    if (next === PROTO_TCP) break;
    const length = extensionLength(next, data, pos, end);
    if (length === undefined) {
      // Not an extension header we walk: a different upper layer (UDP, ICMPv6, ESP, none).
      return { kind: 'ignored', reason: DecodeReason.notTcp };
    }
    if (count >= MAX_EXTENSION_HEADERS) {
      return { kind: 'malformed', reason: DecodeReason.ipv6TooManyExtensionHeaders };
    }
    if (length < 0 || pos + length > end) {
      return { kind: 'malformed', reason: DecodeReason.ipv6TruncatedExtensionHeader };
    }
    if (next === FRAGMENT) {
      const field = data.readUInt16BE(pos + 2);
      // An atomic fragment (offset 0, no more fragments; RFC 6946) is a whole packet.
      if ((field & 0xfff8) !== 0 || (field & 0x0001) !== 0) fragmented = true;
    }
    next = data[pos] ?? 0;
    pos += length;
    // Past a fragment header only the first fragment holds the next headers; count and stop.
    if (fragmented) {
      return next === PROTO_TCP
        ? { kind: 'malformed', reason: DecodeReason.ipv6Fragment }
        : { kind: 'ignored', reason: DecodeReason.notTcp };
    }
  }

  return decodeTcp(data, pos, end, {
    family: 'ipv6',
    srcIp: ipv6Text(data, offset + 8),
    dstIp: ipv6Text(data, offset + 24),
    ttl: data[offset + 7] ?? 0,
  });
}

/**
 * Length in bytes of the extension header `type` at `pos`, -1 when its length bytes are cut
 * off, undefined when `type` is not an extension header walked here.
 */
function extensionLength(type: number, data: Buffer, pos: number, end: number): number | undefined {
  switch (type) {
    case HOP_BY_HOP:
    case ROUTING:
    case DEST_OPTS:
      return pos + 2 > end ? -1 : ((data[pos + 1] ?? 0) + 1) * 8;
    case FRAGMENT:
      return 8;
    case AUTH:
      return pos + 2 > end ? -1 : ((data[pos + 1] ?? 0) + 2) * 4;
    default:
      return undefined;
  }
}
