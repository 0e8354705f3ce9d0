import type { DecodeResult, IpFamily } from './segment.js';
import { DecodeReason } from './reasons.js';

/** What the IP layer already knows when it hands the TCP bytes over. */
export interface IpContext {
  readonly family: IpFamily;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly ttl: number;
}

const TCP_MIN_HEADER = 20;

/**
 * Decodes the TCP segment in `data[offset, end)`, where `end` is where the IP layer says its
 * payload stops (so link-layer padding never reaches the payload). The payload is a view into
 * `data`, not a copy. Checksums are not verified: on the sending host they are often left to
 * the NIC (offload) and captured wrong.
 */
export function decodeTcp(data: Buffer, offset: number, end: number, ip: IpContext): DecodeResult {
  if (end - offset < TCP_MIN_HEADER)
    return { kind: 'malformed', reason: DecodeReason.truncatedTcp };
  const headerLength = ((data[offset + 12] ?? 0) >> 4) * 4;
  if (headerLength < TCP_MIN_HEADER || offset + headerLength > end) {
    return { kind: 'malformed', reason: DecodeReason.tcpBadDataOffset };
  }
  return {
    kind: 'tcp',
    segment: {
      family: ip.family,
      srcIp: ip.srcIp,
      dstIp: ip.dstIp,
      srcPort: data.readUInt16BE(offset),
      dstPort: data.readUInt16BE(offset + 2),
      seq: data.readUInt32BE(offset + 4),
      ack: data.readUInt32BE(offset + 8),
      flags: data[offset + 13] ?? 0,
      ttl: ip.ttl,
      payload: data.subarray(offset + headerLength, end),
    },
  };
}
