/**
 * The bounded table of TCP connections to IMDS: turns decoded segments into flow lifecycles
 * (start, in-order bytes per direction, gaps, end) for a FlowListener.
 *
 * - A segment belongs to us when one side is a configured server address on the server port;
 *   the other side is the client. Anything else is counted (`flows.not_imds`) and dropped.
 * - A flow starts at its first packet: a SYN, a SYN-ACK, or (capture started mid-connection) a
 *   segment carrying data. `flowStarted` is called before any of its bytes are delivered, so
 *   attribution can start while the client process still exists. Data-less segments of unknown
 *   tuples (the last ACK after a close, stray RSTs) never create a flow.
 * - A flow ends on FIN from both sides once their bytes are in (or the peer acknowledged a FIN
 *   past a hole we never saw), at once on RST, after `idleTimeoutMs` without packets, when
 *   evicted as least recently active past `maxFlows`, or at `shutdown`. Held bytes are delivered
 *   and holes reported as gaps before `flowEnded`.
 * - Tuples closed by FIN/RST are remembered for CLOSED_TUPLE_LINGER_MS (like TIME_WAIT) so a
 *   late retransmission does not start a ghost mid-stream flow; a new SYN always starts a new
 *   flow (port reuse).
 *
 * NAT twins: on the `any` device a container's connection is captured twice, before NAT
 * (container ip:port) and after (host ip, maybe another port). MASQUERADE rewrites addresses
 * and ports but not sequence numbers, so a new flow whose client ISN and server endpoint equal
 * those of a flow started less than NAT_TWIN_WINDOW_MS earlier under another tuple is the same
 * connection: it gets `twinOf` = the earlier (first seen, usually the pre-NAT) flow's id and is
 * counted `flows.nat_twin`. The chance of two unrelated connections sharing a random 32-bit ISN
 * within a few seconds is negligible. Flows started mid-stream have no ISN and are never twins.
 */
import type { Anomalies } from '../anomalies.js';
import { TCP_ACK, TCP_RST, TCP_SYN, type TcpSegment } from '../decode/segment.js';
import { communityIdV1 } from './community-id.js';
import type {
  Direction,
  Endpoint,
  FlowEndReason,
  FlowInfo,
  FlowListener,
  FlowTableConfig,
} from './flow.js';
import { Reassembler, type StreamSink } from './reassembly.js';

/** How far apart the pre-NAT and post-NAT SYNs of one connection may be seen. */
export const NAT_TWIN_WINDOW_MS = 5_000;
/** How long a tuple closed by FIN/RST ignores segments other than a new SYN. */
export const CLOSED_TUPLE_LINGER_MS = 60_000;
/** How often (in packet time) `process` runs the idle sweep itself, so pcap replays expire too. */
const SWEEP_INTERVAL_MS = 1_000;

export interface FlowTableStats {
  readonly flowsStarted: number;
  readonly flowsEnded: number;
  readonly flowsActive: number;
  /** Started without the client's SYN (capture began mid-connection). */
  readonly flowsMidStream: number;
  readonly flowsEvicted: number;
  readonly flowsExpired: number;
  readonly natTwins: number;
  /** Reassembled bytes handed to the listener, both directions, all flows. */
  readonly bytesDelivered: number;
  /** Bytes reported as gaps. */
  readonly bytesLost: number;
}

class DirectionSink implements StreamSink {
  constructor(
    private readonly listener: FlowListener,
    private readonly flow: FlowInfo,
    private readonly direction: Direction,
  ) {}

  data(data: Buffer, timeMs: number): void {
    this.listener.streamData(this.flow, this.direction, data, timeMs);
  }

  gap(lostBytes: number, timeMs: number): void {
    this.listener.streamGap(this.flow, this.direction, lostBytes, timeMs);
  }
}

interface FlowState {
  readonly key: string;
  readonly info: FlowInfo;
  /** Client to server. */
  readonly request: Reassembler;
  /** Server to client. */
  readonly response: Reassembler;
  readonly clientIsn: number | undefined;
  lastSeenMs: number;
  requestFinAcked: boolean;
  responseFinAcked: boolean;
}

interface TwinEntry {
  readonly flowId: string;
  readonly key: string;
  readonly timeMs: number;
}

export class FlowTable {
  readonly #config: FlowTableConfig;
  readonly #listener: FlowListener;
  readonly #anomalies: Anomalies;
  readonly #servers: ReadonlySet<string>;

  /** Active flows by client->server tuple, least recently active first. */
  readonly #flows = new Map<string, FlowState>();
  #mostRecent: FlowState | undefined;
  /** Tuples closed by FIN/RST -> close time, oldest first. */
  readonly #closed = new Map<string, number>();
  /** "server ip|port|client ISN" -> first flow with it, oldest first. */
  readonly #twins = new Map<string, TwinEntry>();
  #nextSweepMs = -Infinity;

  #nextId = 0;
  #started = 0;
  #ended = 0;
  #midStream = 0;
  #evicted = 0;
  #expired = 0;
  #natTwins = 0;
  #endedBytes = 0;
  #endedLost = 0;

  constructor(config: FlowTableConfig, listener: FlowListener, anomalies: Anomalies) {
    this.#config = config;
    this.#listener = listener;
    this.#anomalies = anomalies;
    this.#servers = new Set(config.serverAddresses.map((a) => a.toLowerCase()));
  }

  /** Number of active flows. */
  get size(): number {
    return this.#flows.size;
  }

  process(segment: TcpSegment, timeMs: number): void {
    const direction = this.#directionOf(segment);
    if (direction === undefined) {
      this.#anomalies.count('flows.not_imds');
      return;
    }
    if (timeMs >= this.#nextSweepMs) this.expireIdle(timeMs);

    const fromClient = direction === 'request';
    const key = fromClient
      ? tupleKey(segment.srcIp, segment.srcPort, segment.dstIp, segment.dstPort)
      : tupleKey(segment.dstIp, segment.dstPort, segment.srcIp, segment.srcPort);
    const flags = segment.flags;
    const isSyn = (flags & TCP_SYN) !== 0;
    const hasAck = (flags & TCP_ACK) !== 0;

    let flow = this.#flows.get(key);
    if (flow !== undefined) {
      if (flow.lastSeenMs + this.#config.idleTimeoutMs <= timeMs) {
        this.#expired++;
        this.#end(flow, 'idle', timeMs);
        flow = undefined;
      } else if (fromClient && isSyn && !hasAck && segment.seq !== flow.clientIsn) {
        // A new connection on this tuple although we never saw the old one close.
        this.#anomalies.count('flows.tuple_reused');
        const seenFin = flow.request.finSeen || flow.response.finSeen;
        this.#end(flow, seenFin ? 'fin' : 'idle', timeMs);
        flow = undefined;
      }
    }
    if (flow === undefined) {
      flow = this.#open(segment, direction, key, timeMs);
      if (flow === undefined) return;
    } else {
      this.#touch(flow, timeMs);
    }

    if ((flags & TCP_RST) !== 0) {
      this.#end(flow, 'rst', timeMs, direction, segment.seq);
      return;
    }

    const mine = fromClient ? flow.request : flow.response;
    const other = fromClient ? flow.response : flow.request;
    // An ACK says where the peer's stream stands: it starts a direction not seen yet (the
    // client's first byte from a SYN-ACK, the server's from the client's first ACK).
    if (hasAck) other.startAt(segment.ack);
    mine.segment(segment.seq, flags, segment.payload, timeMs);

    if (hasAck && other.finSeen) {
      const finAck = other.finAckSeq;
      if (finAck !== undefined && ((segment.ack - finAck) | 0) >= 0) {
        if (fromClient) flow.responseFinAcked = true;
        else flow.requestFinAcked = true;
      }
    }
    if (flow.request.finSeen && flow.response.finSeen) {
      const requestDone = flow.request.complete || flow.requestFinAcked;
      const responseDone = flow.response.complete || flow.responseFinAcked;
      if (requestDone && responseDone) this.#end(flow, 'fin', timeMs);
    }
  }

  /** Ends flows without a packet for `idleTimeoutMs` (reason 'idle'). */
  expireIdle(nowMs: number): void {
    this.#nextSweepMs = nowMs + Math.min(SWEEP_INTERVAL_MS, this.#config.idleTimeoutMs);
    const limit = nowMs - this.#config.idleTimeoutMs;
    for (const flow of this.#flows.values()) {
      if (flow.lastSeenMs > limit) break; // least recently active first
      this.#expired++;
      this.#end(flow, 'idle', nowMs);
    }
    this.#pruneClosed(nowMs);
    this.#pruneTwins(nowMs);
  }

  /** Ends every flow with reason 'shutdown' (delivering held bytes, reporting holes). */
  shutdown(nowMs: number): void {
    for (const flow of this.#flows.values()) this.#end(flow, 'shutdown', nowMs);
  }

  stats(): FlowTableStats {
    let bytesDelivered = this.#endedBytes;
    let bytesLost = this.#endedLost;
    for (const flow of this.#flows.values()) {
      bytesDelivered += flow.request.deliveredBytes + flow.response.deliveredBytes;
      bytesLost += flow.request.lostBytes + flow.response.lostBytes;
    }
    return {
      flowsStarted: this.#started,
      flowsEnded: this.#ended,
      flowsActive: this.#flows.size,
      flowsMidStream: this.#midStream,
      flowsEvicted: this.#evicted,
      flowsExpired: this.#expired,
      natTwins: this.#natTwins,
      bytesDelivered,
      bytesLost,
    };
  }

  /** 'request' when the source is the client, 'response' when it is the server, else not ours. */
  #directionOf(segment: TcpSegment): Direction | undefined {
    const port = this.#config.serverPort;
    if (segment.dstPort === port && this.#servers.has(segment.dstIp)) return 'request';
    if (segment.srcPort === port && this.#servers.has(segment.srcIp)) return 'response';
    return undefined;
  }

  #open(
    segment: TcpSegment,
    direction: Direction,
    key: string,
    timeMs: number,
  ): FlowState | undefined {
    const isSyn = (segment.flags & TCP_SYN) !== 0;
    const hasAck = (segment.flags & TCP_ACK) !== 0;
    if (!isSyn) {
      if (segment.payload.length === 0 || (segment.flags & TCP_RST) !== 0) {
        if (!this.#closed.has(key)) this.#anomalies.count('flows.untracked_segment');
        return undefined;
      }
      const closedAt = this.#closed.get(key);
      if (closedAt !== undefined && timeMs - closedAt < CLOSED_TUPLE_LINGER_MS) {
        this.#anomalies.count('flows.late_segment');
        return undefined;
      }
    }
    this.#closed.delete(key);

    if (this.#flows.size >= this.#config.maxFlows) {
      const oldest = this.#flows.values().next().value;
      if (oldest !== undefined) {
        this.#anomalies.count('flows.evicted');
        this.#evicted++;
        this.#end(oldest, 'evicted', timeMs);
      }
    }

    const fromClient = direction === 'request';
    const sawSyn = isSyn && !hasAck && fromClient;
    let clientIsn: number | undefined;
    if (sawSyn) clientIsn = segment.seq;
    else if (isSyn && hasAck && !fromClient) clientIsn = (segment.ack - 1) >>> 0;

    const client: Endpoint = fromClient
      ? { ip: segment.srcIp, port: segment.srcPort }
      : { ip: segment.dstIp, port: segment.dstPort };
    const server: Endpoint = fromClient
      ? { ip: segment.dstIp, port: segment.dstPort }
      : { ip: segment.srcIp, port: segment.srcPort };
    const id = `C${++this.#nextId}`;
    let communityId: string | undefined;
    const info: FlowInfo = {
      id,
      // Hashed when a sink first reads it: SHA-1 on a CPU just woken costs ~0.1 ms, and the
      // SYN's attribution lookup must start before a one-shot client closes its socket.
      get communityId(): string {
        return (communityId ??= communityIdV1(client.ip, client.port, server.ip, server.port));
      },
      family: segment.family,
      client,
      server,
      startMs: timeMs,
      sawSyn,
      twinOf:
        clientIsn === undefined ? undefined : this.#twinOf(id, key, server, clientIsn, timeMs),
    };
    const maxBuffered = this.#config.maxBufferedBytes;
    const flow: FlowState = {
      key,
      info,
      request: new Reassembler(
        new DirectionSink(this.#listener, info, 'request'),
        this.#anomalies,
        maxBuffered,
      ),
      response: new Reassembler(
        new DirectionSink(this.#listener, info, 'response'),
        this.#anomalies,
        maxBuffered,
      ),
      clientIsn,
      lastSeenMs: timeMs,
      requestFinAcked: false,
      responseFinAcked: false,
    };
    this.#flows.set(key, flow);
    this.#mostRecent = flow;
    this.#started++;
    if (!sawSyn) this.#midStream++;
    this.#listener.flowStarted(info, timeMs);
    return flow;
  }

  /** The id of the flow this one duplicates under another tuple (see the file comment). */
  #twinOf(
    id: string,
    key: string,
    server: Endpoint,
    clientIsn: number,
    timeMs: number,
  ): string | undefined {
    this.#pruneTwins(timeMs);
    const twinKey = `${server.ip}|${server.port}|${clientIsn}`;
    const earlier = this.#twins.get(twinKey);
    if (earlier !== undefined && earlier.key !== key) {
      this.#anomalies.count('flows.nat_twin');
      this.#natTwins++;
      return earlier.flowId;
    }
    if (earlier === undefined) {
      if (this.#twins.size >= this.#config.maxFlows) {
        const oldest = this.#twins.keys().next().value;
        if (oldest !== undefined) this.#twins.delete(oldest);
      }
      this.#twins.set(twinKey, { flowId: id, key, timeMs });
    }
    return undefined;
  }

  /** Marks a flow most recently active (Map order is the LRU order). */
  #touch(flow: FlowState, timeMs: number): void {
    if (timeMs > flow.lastSeenMs) flow.lastSeenMs = timeMs;
    if (this.#mostRecent === flow) return;
    this.#flows.delete(flow.key);
    this.#flows.set(flow.key, flow);
    this.#mostRecent = flow;
  }

  #end(
    flow: FlowState,
    reason: FlowEndReason,
    timeMs: number,
    rstFrom?: Direction,
    rstSeq?: number,
  ): void {
    this.#flows.delete(flow.key);
    if (this.#mostRecent === flow) this.#mostRecent = undefined;
    flow.request.finish(timeMs, rstFrom === 'request' ? rstSeq : undefined);
    flow.response.finish(timeMs, rstFrom === 'response' ? rstSeq : undefined);
    if (reason === 'fin' || reason === 'rst') {
      this.#closed.delete(flow.key);
      this.#closed.set(flow.key, timeMs);
      if (this.#closed.size > this.#config.maxFlows) {
        const oldest = this.#closed.keys().next().value;
        if (oldest !== undefined) this.#closed.delete(oldest);
      }
    }
    this.#ended++;
    this.#endedBytes += flow.request.deliveredBytes + flow.response.deliveredBytes;
    this.#endedLost += flow.request.lostBytes + flow.response.lostBytes;
    this.#listener.flowEnded(flow.info, reason, timeMs);
  }

  #pruneClosed(nowMs: number): void {
    for (const [key, closedAt] of this.#closed) {
      if (nowMs - closedAt < CLOSED_TUPLE_LINGER_MS) break;
      this.#closed.delete(key);
    }
  }

  #pruneTwins(nowMs: number): void {
    for (const [key, entry] of this.#twins) {
      if (nowMs - entry.timeMs < NAT_TWIN_WINDOW_MS) break;
      this.#twins.delete(key);
    }
  }
}

function tupleKey(
  clientIp: string,
  clientPort: number,
  serverIp: string,
  serverPort: number,
): string {
  return `${clientIp}|${clientPort}|${serverIp}|${serverPort}`;
}
