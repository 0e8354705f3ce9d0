/**
 * Builds real packet bytes for tests: link layers (Ethernet with VLAN tags, Linux cooked v1/v2,
 * raw IP, null/loopback), IPv4 and IPv6 (with extension headers) and TCP with valid checksums,
 * plus whole TCP conversations (handshake, data, ACKs, FIN) with timestamps.
 *
 *   const pkt = frame({ type: 'ethernet', vlans: [{ id: 10 }] },
 *     ipTcp({ src: client, dst: server, flags: TCP_SYN, seq: 1 }));
 *   const records = conversation({ client, server, exchanges: [{ request, response }] });
 *   writePcapFile('/tmp/x.pcap', records);            // from ./pcap-writer.js
 */
import { isIPv6 } from 'node:net';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/decode/segment.js';

export { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN };

export interface Endpoint {
  /** Dotted quad or any IPv6 text form; the family follows from it. */
  readonly ip: string;
  readonly port: number;
}

/** One frame ready for a pcap writer or straight for decodeFrame. */
export interface PacketRecord {
  readonly timeMs: number;
  readonly linkType: number;
  readonly data: Buffer;
}

// ---------------------------------------------------------------------------------------------
// Addresses

/** 4 bytes of a dotted quad. */
export function ipv4Bytes(text: string): Buffer {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${text}`);
  }
  return Buffer.from(parts);
}

/** 16 bytes of an IPv6 address in any text form (`::` compression, embedded IPv4 tail). */
export function ipv6Bytes(text: string): Buffer {
  if (!isIPv6(text)) throw new Error(`not an IPv6 address: ${text}`);
  let body = text;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (v4?.[1] !== undefined) {
    const b = ipv4Bytes(v4[1]);
    tail.push(b.readUInt16BE(0), b.readUInt16BE(2));
    body = body.slice(0, -v4[1].length) + '0:0'; // two groups, replaced below
  }
  const [head = '', rest] = body.split('::');
  const parse = (s: string): number[] =>
    s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16));
  let groups = parse(head);
  if (rest !== undefined) {
    const right = parse(rest);
    groups = [...groups, ...new Array<number>(8 - groups.length - right.length).fill(0), ...right];
  }
  if (tail.length > 0) groups = [...groups.slice(0, 6), ...tail];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

// ---------------------------------------------------------------------------------------------
// IP and TCP

export type Ipv6ExtensionType = 'hop-by-hop' | 'routing' | 'destination' | 'fragment' | 'ah';

export interface Ipv6ExtensionHeader {
  readonly type: Ipv6ExtensionType;
  /** Extra 8-byte units of padding options (hop-by-hop, routing, destination); default 0. */
  readonly extraUnits?: number;
  /** Fragment header only: fragment offset in 8-byte units and the M flag. */
  readonly fragmentOffset?: number;
  readonly moreFragments?: boolean;
}

const EXTENSION_NUMBERS: Record<Ipv6ExtensionType, number> = {
  'hop-by-hop': 0,
  routing: 43,
  destination: 60,
  fragment: 44,
  ah: 51,
};

export interface TcpOptions {
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly seq?: number;
  readonly ack?: number;
  /** Default TCP_ACK. */
  readonly flags?: number;
  readonly payload?: Buffer;
  /** IPv4 TTL / IPv6 hop limit, default 64. */
  readonly ttl?: number;
  readonly window?: number;
  /** Raw TCP option bytes, padded to a multiple of 4. */
  readonly tcpOptions?: Buffer;
  /** IPv4 only: raw IP option bytes (padded to 4), fragment fields. */
  readonly ipOptions?: Buffer;
  readonly ipFragmentOffset?: number;
  readonly ipMoreFragments?: boolean;
  /** IPv6 only: extension headers between the fixed header and TCP, in order. */
  readonly extensionHeaders?: readonly Ipv6ExtensionHeader[];
  /** IP protocol / final next header, default 6 (TCP); set e.g. 17 to make a non-TCP packet. */
  readonly protocol?: number;
}

function pad4(b: Buffer): Buffer {
  const rem = b.length % 4;
  return rem === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - rem)]);
}

function checksum(...parts: Buffer[]): number {
  let sum = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i += 2) {
      sum += ((part[i] ?? 0) << 8) | (part[i + 1] ?? 0);
    }
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A TCP header plus payload with its checksum over the given pseudo-header. */
function tcpSegment(o: TcpOptions, pseudo: (length: number) => Buffer): Buffer {
  const options = pad4(o.tcpOptions ?? Buffer.alloc(0));
  const payload = o.payload ?? Buffer.alloc(0);
  const header = Buffer.alloc(20 + options.length);
  header.writeUInt16BE(o.src.port, 0);
  header.writeUInt16BE(o.dst.port, 2);
  header.writeUInt32BE((o.seq ?? 0) >>> 0, 4);
  header.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
  header[12] = (header.length / 4) << 4;
  header[13] = o.flags ?? TCP_ACK;
  header.writeUInt16BE(o.window ?? 64240, 14);
  options.copy(header, 20);
  const segment = Buffer.concat([header, payload]);
  // Even-length padding only for the sum: the segment itself keeps its length.
  const sumInput = segment.length % 2 === 0 ? segment : Buffer.concat([segment, Buffer.alloc(1)]);
  segment.writeUInt16BE(checksum(pseudo(segment.length), sumInput), 16);
  return segment;
}

/** An IPv4 or IPv6 packet (chosen by the address family of `src.ip`) carrying one TCP segment. */
export function ipTcp(o: TcpOptions): Buffer {
  return isIPv6(o.src.ip) ? ipv6Tcp(o) : ipv4Tcp(o);
}

function ipv4Tcp(o: TcpOptions): Buffer {
  const src = ipv4Bytes(o.src.ip);
  const dst = ipv4Bytes(o.dst.ip);
  const protocol = o.protocol ?? 6;
  const tcp = tcpSegment(o, (length) => {
    const p = Buffer.alloc(12);
    src.copy(p, 0);
    dst.copy(p, 4);
    p[9] = protocol;
    p.writeUInt16BE(length, 10);
    return p;
  });
  return ipv4(tcp, { src: o.src.ip, dst: o.dst.ip, protocol, ...ipv4Extras(o) });
}

function ipv4Extras(o: TcpOptions): Partial<Ipv4Options> {
  const extras: { -readonly [K in keyof Ipv4Options]?: Ipv4Options[K] } = {};
  if (o.ttl !== undefined) extras.ttl = o.ttl;
  if (o.ipOptions !== undefined) extras.options = o.ipOptions;
  if (o.ipFragmentOffset !== undefined) extras.fragmentOffset = o.ipFragmentOffset;
  if (o.ipMoreFragments !== undefined) extras.moreFragments = o.ipMoreFragments;
  return extras;
}

function ipv6Tcp(o: TcpOptions): Buffer {
  const src = ipv6Bytes(o.src.ip);
  const dst = ipv6Bytes(o.dst.ip);
  const protocol = o.protocol ?? 6;
  const tcp = tcpSegment(o, (length) => {
    const p = Buffer.alloc(40);
    src.copy(p, 0);
    dst.copy(p, 16);
    p.writeUInt32BE(length, 32);
    p[39] = protocol;
    return p;
  });
  return ipv6(tcp, {
    src: o.src.ip,
    dst: o.dst.ip,
    nextHeader: protocol,
    hopLimit: o.ttl ?? 64,
    extensionHeaders: o.extensionHeaders ?? [],
  });
}

export interface Ipv4Options {
  readonly src: string;
  readonly dst: string;
  /** Default 6 (TCP). */
  readonly protocol?: number;
  readonly ttl?: number;
  readonly id?: number;
  readonly options?: Buffer;
  /** In 8-byte units. */
  readonly fragmentOffset?: number;
  readonly moreFragments?: boolean;
  readonly dontFragment?: boolean;
}

/** An IPv4 header (valid checksum) in front of `payload`. */
export function ipv4(payload: Buffer, o: Ipv4Options): Buffer {
  const options = pad4(o.options ?? Buffer.alloc(0));
  const header = Buffer.alloc(20 + options.length);
  header[0] = 0x40 | (header.length / 4);
  header.writeUInt16BE(header.length + payload.length, 2);
  header.writeUInt16BE(o.id ?? 0x1234, 4);
  const flags = (o.moreFragments === true ? 0x2000 : 0) | (o.dontFragment === true ? 0x4000 : 0);
  header.writeUInt16BE(flags | (o.fragmentOffset ?? 0), 6);
  header[8] = o.ttl ?? 64;
  header[9] = o.protocol ?? 6;
  ipv4Bytes(o.src).copy(header, 12);
  ipv4Bytes(o.dst).copy(header, 16);
  options.copy(header, 20);
  header.writeUInt16BE(checksum(header), 10);
  return Buffer.concat([header, payload]);
}

export interface Ipv6Options {
  readonly src: string;
  readonly dst: string;
  /** Protocol after the extension headers, default 6 (TCP). */
  readonly nextHeader?: number;
  readonly hopLimit?: number;
  readonly extensionHeaders?: readonly Ipv6ExtensionHeader[];
}

/** An IPv6 header and extension header chain in front of `payload`. */
export function ipv6(payload: Buffer, o: Ipv6Options): Buffer {
  const chain = o.extensionHeaders ?? [];
  const blocks: Buffer[] = chain.map((ext, i) => {
    const next = chain[i + 1];
    const nextHeader = next === undefined ? (o.nextHeader ?? 6) : EXTENSION_NUMBERS[next.type];
    return extensionHeader(ext, nextHeader);
  });
  const first = chain[0];
  const header = Buffer.alloc(40);
  header.writeUInt32BE(0x60000000, 0);
  const rest = Buffer.concat([...blocks, payload]);
  header.writeUInt16BE(rest.length, 4);
  header[6] = first === undefined ? (o.nextHeader ?? 6) : EXTENSION_NUMBERS[first.type];
  header[7] = o.hopLimit ?? 64;
  ipv6Bytes(o.src).copy(header, 8);
  ipv6Bytes(o.dst).copy(header, 24);
  return Buffer.concat([header, rest]);
}

function extensionHeader(ext: Ipv6ExtensionHeader, nextHeader: number): Buffer {
  const units = ext.extraUnits ?? 0;
  switch (ext.type) {
    case 'fragment': {
      const b = Buffer.alloc(8);
      b[0] = nextHeader;
      b.writeUInt16BE(((ext.fragmentOffset ?? 0) << 3) | (ext.moreFragments === true ? 1 : 0), 2);
      b.writeUInt32BE(0xabcd, 4);
      return b;
    }
    case 'ah': {
      // 12 bytes fixed + 12 bytes ICV (HMAC-SHA1-96): length field (24/4 - 2) = 4.
      const b = Buffer.alloc(24);
      b[0] = nextHeader;
      b[1] = 24 / 4 - 2;
      b.writeUInt32BE(0x100, 4);
      return b;
    }
    default: {
      // Options are PadN filling the header: type 1, length, zeros.
      const b = Buffer.alloc(8 * (units + 1));
      b[0] = nextHeader;
      b[1] = units;
      if (ext.type === 'routing') {
        b[2] = 0; // routing type 0 with segments left 0: ignored by receivers, fine to walk
      } else {
        b[2] = 1;
        b[3] = b.length - 4;
      }
      return b;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Link layers

export interface VlanTag {
  readonly id: number;
  /** Tag protocol identifier, default 0x8100 (802.1Q); 0x88a8 for an 802.1ad outer tag. */
  readonly tpid?: number;
  readonly priority?: number;
}

export type LinkSpec =
  | {
      readonly type: 'ethernet';
      /** Outermost first. */
      readonly vlans?: readonly VlanTag[];
      /** Pad the frame with zeros to this length (60 = minimum Ethernet frame without FCS). */
      readonly padTo?: number;
    }
  | { readonly type: 'sll'; readonly vlans?: readonly VlanTag[]; readonly padTo?: number }
  | { readonly type: 'sll2'; readonly padTo?: number }
  | { readonly type: 'raw'; readonly linkType?: 101 | 12 | 14 }
  | { readonly type: 'null'; readonly byteOrder?: 'LE' | 'BE'; readonly af6?: number }
  | { readonly type: 'loop'; readonly af6?: number }
  | { readonly type: 'ip' };

/** The pcap LINKTYPE_* value a LinkSpec produces; `ip` gives 228 or 229 by packet version. */
export function linkTypeOf(link: LinkSpec, ipPacket?: Buffer): number {
  switch (link.type) {
    case 'ethernet':
      return 1;
    case 'sll':
      return 113;
    case 'sll2':
      return 276;
    case 'raw':
      return link.linkType ?? 101;
    case 'null':
      return 0;
    case 'loop':
      return 108;
    case 'ip':
      return (ipPacket?.[0] ?? 0x40) >> 4 === 6 ? 229 : 228;
  }
}

function etherTypeOf(ipPacket: Buffer): number {
  return (ipPacket[0] ?? 0) >> 4 === 6 ? 0x86dd : 0x0800;
}

function vlanBytes(vlans: readonly VlanTag[], innerType: number): { first: number; tags: Buffer } {
  const tags = Buffer.alloc(vlans.length * 4);
  vlans.forEach((tag, i) => {
    const next = vlans[i + 1];
    tags.writeUInt16BE(((tag.priority ?? 0) << 13) | (tag.id & 0x0fff), i * 4);
    tags.writeUInt16BE(next === undefined ? innerType : (next.tpid ?? 0x8100), i * 4 + 2);
  });
  return { first: vlans[0] === undefined ? innerType : (vlans[0].tpid ?? 0x8100), tags };
}

function padded(b: Buffer, padTo: number | undefined): Buffer {
  return padTo !== undefined && b.length < padTo
    ? Buffer.concat([b, Buffer.alloc(padTo - b.length)])
    : b;
}

/** Wraps an IP packet (or any bytes) in a link-layer header. */
export function linkFrame(
  link: LinkSpec,
  ipPacket: Buffer,
  etherType = etherTypeOf(ipPacket),
): Buffer {
  switch (link.type) {
    case 'ethernet': {
      const { first, tags } = vlanBytes(link.vlans ?? [], etherType);
      const header = Buffer.alloc(14);
      Buffer.from([0x02, 0, 0, 0, 0, 0x01]).copy(header, 0); // locally administered MACs
      Buffer.from([0x02, 0, 0, 0, 0, 0x02]).copy(header, 6);
      header.writeUInt16BE(first, 12);
      return padded(Buffer.concat([header, tags, ipPacket]), link.padTo);
    }
    case 'sll': {
      const { first, tags } = vlanBytes(link.vlans ?? [], etherType);
      const header = Buffer.alloc(16);
      header.writeUInt16BE(4, 0); // sent by us
      header.writeUInt16BE(1, 2); // ARPHRD_ETHER
      header.writeUInt16BE(6, 4);
      Buffer.from([0x02, 0, 0, 0, 0, 0x02]).copy(header, 6);
      header.writeUInt16BE(first, 14);
      return padded(Buffer.concat([header, tags, ipPacket]), link.padTo);
    }
    case 'sll2': {
      const header = Buffer.alloc(20);
      header.writeUInt16BE(etherType, 0);
      header.writeUInt32BE(2, 4); // interface index
      header.writeUInt16BE(1, 8); // ARPHRD_ETHER
      header[10] = 4;
      header[11] = 6;
      Buffer.from([0x02, 0, 0, 0, 0, 0x02]).copy(header, 12);
      return padded(Buffer.concat([header, ipPacket]), link.padTo);
    }
    case 'null':
    case 'loop': {
      const header = Buffer.alloc(4);
      const af = etherType === 0x86dd ? (link.af6 ?? 10) : 2;
      if (link.type === 'loop' || link.byteOrder === 'BE') header.writeUInt32BE(af, 0);
      else header.writeUInt32LE(af, 0);
      return Buffer.concat([header, ipPacket]);
    }
    case 'raw':
    case 'ip':
      return ipPacket;
  }
}

/** A frame record: `ipTcp` wrapped in `link`, stamped `timeMs`. */
export function frame(link: LinkSpec, ipPacket: Buffer, timeMs = 0): PacketRecord {
  return { timeMs, linkType: linkTypeOf(link, ipPacket), data: linkFrame(link, ipPacket) };
}
