/** A decoded TCP segment: the only thing the flow stage sees of a packet. */
export type IpFamily = 'ipv4' | 'ipv6';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface TcpSegment {
  readonly family: IpFamily;
  /** Canonical text form: dotted quad, or RFC 5952 compressed lower-case IPv6. */
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** Unsigned 32-bit sequence and acknowledgement numbers. */
  readonly seq: number;
  readonly ack: number;
  /** TCP flag bits (TCP_SYN | TCP_ACK ...). */
  readonly flags: number;
  /** IPv4 TTL or IPv6 hop limit as captured. */
  readonly ttl: number;
  /** TCP payload, a view into the frame (never copied by decode). */
  readonly payload: Buffer;
}

/**
 * Result of decoding one frame. `ignored` is traffic that is legitimately not ours (ARP, UDP,
 * fragments of other protocols); `malformed` is broken input. Both carry an anomaly name
 * (`decode.<what>`) for the counters.
 */
export type DecodeResult =
  | { readonly kind: 'tcp'; readonly segment: TcpSegment }
  | { readonly kind: 'ignored'; readonly reason: string }
  | { readonly kind: 'malformed'; readonly reason: string };
