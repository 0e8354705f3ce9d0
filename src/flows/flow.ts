import type { IpFamily } from '../decode/segment.js';

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

/** Which way bytes travel: client to IMDS (requests) or IMDS to client (responses). */
export type Direction = 'request' | 'response';

export type FlowEndReason = 'fin' | 'rst' | 'idle' | 'evicted' | 'shutdown';

/** What every later stage knows about a TCP connection to IMDS. */
export interface FlowInfo {
  /** Unique per process run ("C1", "C2", ...), joins all events of one connection. */
  readonly id: string;
  /** Community ID v1 flow hash (seed 0), e.g. "1:LQU9qZlK+B5F3KDmev6m5PMibrg=". */
  readonly communityId: string;
  readonly family: IpFamily;
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** Time of the first packet seen. */
  readonly startMs: number;
  /** True when the client's SYN was seen (a capture that starts mid-connection has none). */
  readonly sawSyn: boolean;
  /**
   * Set when this flow is the same connection as an earlier one seen under another tuple
   * (before and after NAT on the `any` device: same server, same initial sequence numbers).
   * Its requests are not reported again.
   */
  readonly twinOf: string | undefined;
}

/** Receives a flow's life in order: start, reassembled bytes per direction, gaps, end. */
export interface FlowListener {
  flowStarted(flow: FlowInfo, timeMs: number): void;
  /**
   * In-order, de-duplicated stream bytes. Often a view into the capture buffer, which the next
   * frame overwrites: valid only during the call, copy what you keep.
   */
  streamData(flow: FlowInfo, direction: Direction, data: Buffer, timeMs: number): void;
  /** Bytes that were never captured (lost or before capture start): the stream cannot be trusted past here. */
  streamGap(flow: FlowInfo, direction: Direction, lostBytes: number, timeMs: number): void;
  flowEnded(flow: FlowInfo, reason: FlowEndReason, timeMs: number): void;
}

export interface FlowTableConfig {
  /** IMDS addresses: a segment is ours when one side is one of these on `serverPort`. */
  readonly serverAddresses: readonly string[];
  readonly serverPort: number;
  /** Most concurrent flows; the least recently active one is evicted (counted) past it. */
  readonly maxFlows: number;
  /** A flow with no packet for this long ends with reason 'idle'. */
  readonly idleTimeoutMs: number;
  /** Most out-of-order bytes held per direction; past it the hole is declared a gap (counted). */
  readonly maxBufferedBytes: number;
}

export const IMDS_ADDRESSES: readonly string[] = ['169.254.169.254', 'fd00:ec2::254'];

export const DEFAULT_FLOW_TABLE_CONFIG: FlowTableConfig = {
  serverAddresses: IMDS_ADDRESSES,
  serverPort: 80,
  maxFlows: 10_000,
  idleTimeoutMs: 120_000,
  maxBufferedBytes: 256 * 1024,
};
