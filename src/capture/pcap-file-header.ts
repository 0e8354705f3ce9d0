/**
 * Classic pcap file header sniffing, done before pcap-parser sees the file: pcap-parser knows
 * only the microsecond magic and reports anything else as a bare "unknown magic number", while
 * users need to hear "this is pcapng, convert it like this" or "this is not a capture at all".
 */

export const PCAPNG_MAGIC = 0x0a0d0d0a;
export const PCAP_HEADER_LENGTH = 24;

export type PcapHeaderSniff =
  | {
      readonly kind: 'pcap';
      readonly byteOrder: 'LE' | 'BE';
      readonly precision: 'us' | 'ns';
      readonly majorVersion: number;
      readonly snapLen: number;
      readonly linkType: number;
    }
  | { readonly kind: 'pcapng' }
  | { readonly kind: 'short' }
  | { readonly kind: 'unknown'; readonly magic: string };

const MAGICS: ReadonlyMap<number, { byteOrder: 'LE' | 'BE'; precision: 'us' | 'ns' }> = new Map([
  [0xa1b2c3d4, { byteOrder: 'BE', precision: 'us' }],
  [0xd4c3b2a1, { byteOrder: 'LE', precision: 'us' }],
  [0xa1b23c4d, { byteOrder: 'BE', precision: 'ns' }],
  [0x4d3cb2a1, { byteOrder: 'LE', precision: 'ns' }],
] as const);

/** Classifies the first bytes of a file (at least the first 24 when the file has them). */
export function sniffPcapHeader(head: Buffer): PcapHeaderSniff {
  if (head.length < 4) return { kind: 'unknown', magic: head.toString('hex') };
  const magic = head.readUInt32BE(0);
  if (magic === PCAPNG_MAGIC) return { kind: 'pcapng' };
  const format = MAGICS.get(magic);
  if (format === undefined) return { kind: 'unknown', magic: head.toString('hex', 0, 4) };
  if (head.length < PCAP_HEADER_LENGTH) return { kind: 'short' };
  const le = format.byteOrder === 'LE';
  return {
    kind: 'pcap',
    ...format,
    majorVersion: le ? head.readUInt16LE(4) : head.readUInt16BE(4),
    snapLen: le ? head.readUInt32LE(16) : head.readUInt32BE(16),
    // The upper bits carry FCS information (pcap spec, LinkType and additional information).
    linkType: (le ? head.readUInt32LE(20) : head.readUInt32BE(20)) & 0xffff,
  };
}

/** The microsecond magic in the same byte order, so pcap-parser accepts a nanosecond file. */
export function microsecondMagic(byteOrder: 'LE' | 'BE'): Buffer {
  return Buffer.from(byteOrder === 'BE' ? [0xa1, 0xb2, 0xc3, 0xd4] : [0xd4, 0xc3, 0xb2, 0xa1]);
}
