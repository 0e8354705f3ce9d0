import type { DecodeResult } from './segment.js';
import { DecodeReason } from './reasons.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';

/** pcap LINKTYPE_* values decode understands. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  /** DLT_RAW as most BSDs and Linux libpcap number it in live captures. */
  RAW_12: 12,
  /** DLT_RAW on OpenBSD. */
  RAW_14: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
/** 802.1Q, 802.1ad (QinQ service tag) and the pre-standard QinQ value some switches use. */
const VLAN_ETHERTYPES: ReadonlySet<number> = new Set([0x8100, 0x88a8, 0x9100]);
/** QinQ uses two; more than this is not a real network. */
const MAX_VLAN_TAGS = 8;

/** Network-layer decoders by ethertype: the only protocols that can carry IMDS traffic. */
const NETWORK_DECODERS: ReadonlyMap<number, (data: Buffer, offset: number) => DecodeResult> =
  new Map([
    [ETHERTYPE_IPV4, decodeIpv4],
    [ETHERTYPE_IPV6, decodeIpv6],
  ]);

/**
 * BSD address families as the null/loopback header carries them. AF_INET6 differs per OS:
 * 10 Linux, 24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS.
 */
const ADDRESS_FAMILIES: ReadonlyMap<number, number> = new Map([
  [2, ETHERTYPE_IPV4],
  [10, ETHERTYPE_IPV6],
  [24, ETHERTYPE_IPV6],
  [28, ETHERTYPE_IPV6],
  [30, ETHERTYPE_IPV6],
]);

type LinkDecoder = (data: Buffer) => DecodeResult;

/** Link-layer decoders by pcap link type. */
const LINK_DECODERS: ReadonlyMap<number, LinkDecoder> = new Map<number, LinkDecoder>([
  [LinkType.ETHERNET, decodeEthernet],
  [LinkType.LINUX_SLL, decodeSll],
  [LinkType.LINUX_SLL2, decodeSll2],
  [LinkType.RAW, decodeRaw],
  [LinkType.RAW_12, decodeRaw],
  [LinkType.RAW_14, decodeRaw],
  [LinkType.NULL, (data) => decodeNull(data, false)],
  [LinkType.LOOP, (data) => decodeNull(data, true)],
  [LinkType.IPV4, (data) => decodeIpv4(data, 0)],
  [LinkType.IPV6, (data) => decodeIpv6(data, 0)],
]);

/** True when decodeFrame knows `linkType`, so a capture source can refuse others up front. */
export function isSupportedLinkType(linkType: number): boolean {
  return LINK_DECODERS.has(linkType);
}

/**
 * Decodes one captured frame down to its TCP segment. Pure and total: any input, however
 * broken, yields a result, never an exception.
 */
export function decodeFrame(linkType: number, data: Buffer): DecodeResult {
  const decoder = LINK_DECODERS.get(linkType);
  if (decoder === undefined) return { kind: 'malformed', reason: DecodeReason.unknownLinktype };
  return decoder(data);
}

function decodeEthernet(data: Buffer): DecodeResult {
  if (data.length < 14) return { kind: 'malformed', reason: DecodeReason.truncatedEthernet };
  return decodeEthertype(data, data.readUInt16BE(12), 14);
}

/** Linux cooked capture v1 (the `any` device): 16-byte header, protocol at byte 14. */
function decodeSll(data: Buffer): DecodeResult {
  if (data.length < 16) return { kind: 'malformed', reason: DecodeReason.truncatedSll };
  return decodeEthertype(data, data.readUInt16BE(14), 16);
}

/** Linux cooked capture v2: 20-byte header, protocol first. */
function decodeSll2(data: Buffer): DecodeResult {
  if (data.length < 20) return { kind: 'malformed', reason: DecodeReason.truncatedSll2 };
  return decodeEthertype(data, data.readUInt16BE(0), 20);
}

/** Raw IP: the version nibble says which. */
function decodeRaw(data: Buffer): DecodeResult {
  const version = (data[0] ?? 0) >> 4;
  if (data.length === 0) return { kind: 'malformed', reason: DecodeReason.truncatedIpv4 };
  if (version === 4) return decodeIpv4(data, 0);
  if (version === 6) return decodeIpv6(data, 0);
  return { kind: 'malformed', reason: DecodeReason.rawUnknownVersion };
}

/**
 * Null (BSD loopback) header: a 4-byte address family in the capturing host's byte order,
 * which the file does not record. The values are small, so a non-zero low half tells: like
 * Wireshark, read it big-endian when the first two bytes are zero. LOOP (108) is always
 * network order.
 */
function decodeNull(data: Buffer, networkOrder: boolean): DecodeResult {
  if (data.length < 4) return { kind: 'malformed', reason: DecodeReason.truncatedNull };
  const bigEndian = networkOrder || data.readUInt16BE(0) === 0;
  const family = bigEndian ? data.readUInt32BE(0) : data.readUInt32LE(0);
  const ethertype = ADDRESS_FAMILIES.get(family);
  if (ethertype === undefined) {
    return { kind: 'malformed', reason: DecodeReason.unknownAddressFamily };
  }
  return decodeEthertype(data, ethertype, 4);
}

/**
 * Walks VLAN tags (each: 2 bytes TCI, 2 bytes inner ethertype) and hands the payload to the
 * network decoder. libpcap re-inserts tags the kernel stripped, after the MAC addresses for
 * Ethernet and before the protocol field for cooked captures: the same shape here.
 */
function decodeEthertype(data: Buffer, ethertype: number, payloadOffset: number): DecodeResult {
  let type = ethertype;
  let offset = payloadOffset;
  for (let tags = 0; VLAN_ETHERTYPES.has(type); tags++) {
    if (tags >= MAX_VLAN_TAGS) return { kind: 'malformed', reason: DecodeReason.tooManyVlanTags };
    if (offset + 4 > data.length) return { kind: 'malformed', reason: DecodeReason.truncatedVlan };
    type = data.readUInt16BE(offset + 2);
    offset += 4;
  }
  const decoder = NETWORK_DECODERS.get(type);
  if (decoder === undefined) return { kind: 'ignored', reason: DecodeReason.notIp };
  return decoder(data, offset);
}
