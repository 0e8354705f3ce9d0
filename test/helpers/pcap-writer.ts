/**
 * Writes classic libpcap files (not pcapng) from frame records, in either byte order and with
 * microsecond or nanosecond timestamps, optionally cut short to test truncated captures.
 *
 *   writePcapFile('/tmp/t.pcap', records, { byteOrder: 'BE', precision: 'ns' });
 *   const bytes = pcapBytes(records, { truncateBy: 3 }); // last record 3 bytes short
 */
import { writeFileSync } from 'node:fs';

export interface PcapRecordInput {
  /** Milliseconds since the epoch; the fraction becomes µs or ns. */
  readonly timeMs: number;
  readonly data: Buffer;
  /** Original length on the wire, default data.length. */
  readonly originalLength?: number;
  /** Only used for the file header when PcapWriteOptions.linkType is not given. */
  readonly linkType?: number;
}

export interface PcapWriteOptions {
  /** Default: the first record's linkType, else 1 (Ethernet). */
  readonly linkType?: number;
  /** 'LE' (written by x86 hosts, the usual) or 'BE'; default 'LE'. */
  readonly byteOrder?: 'LE' | 'BE';
  /** 'us' (magic 0xa1b2c3d4) or 'ns' (magic 0xa1b23c4d); default 'us'. */
  readonly precision?: 'us' | 'ns';
  /** Default 262144 (tcpdump's). */
  readonly snapLen?: number;
  /** Drop this many bytes from the end of the output (a capture cut off mid-record). */
  readonly truncateBy?: number;
}

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;

/** The bytes of a classic pcap file holding `records`. */
export function pcapBytes(records: readonly PcapRecordInput[], o: PcapWriteOptions = {}): Buffer {
  const le = (o.byteOrder ?? 'LE') === 'LE';
  const ns = o.precision === 'ns';
  const u32 = (b: Buffer, v: number, at: number) =>
    le ? b.writeUInt32LE(v >>> 0, at) : b.writeUInt32BE(v >>> 0, at);
  const u16 = (b: Buffer, v: number, at: number) =>
    le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at);

  const header = Buffer.alloc(24);
  u32(header, ns ? PCAP_MAGIC_NS : PCAP_MAGIC_US, 0);
  u16(header, 2, 4);
  u16(header, 4, 6);
  u32(header, o.snapLen ?? 262144, 16);
  u32(header, o.linkType ?? records[0]?.linkType ?? 1, 20);

  const parts: Buffer[] = [header];
  const perSecond = ns ? 1_000_000_000 : 1_000_000;
  for (const r of records) {
    let seconds = Math.floor(r.timeMs / 1000);
    let fraction = Math.round((r.timeMs - seconds * 1000) * (perSecond / 1000));
    if (fraction >= perSecond) {
      seconds += 1;
      fraction -= perSecond;
    }
    const rh = Buffer.alloc(16);
    u32(rh, seconds, 0);
    u32(rh, fraction, 4);
    u32(rh, r.data.length, 8);
    u32(rh, r.originalLength ?? r.data.length, 12);
    parts.push(rh, r.data);
  }
  const all = Buffer.concat(parts);
  const cut = Math.max(0, Math.min(all.length, o.truncateBy ?? 0));
  return all.subarray(0, all.length - cut);
}

/** Writes `records` to `path` as a classic pcap file. */
export function writePcapFile(
  path: string,
  records: readonly PcapRecordInput[],
  o: PcapWriteOptions = {},
): void {
  writeFileSync(path, pcapBytes(records, o));
}
