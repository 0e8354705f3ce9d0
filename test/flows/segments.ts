/** Test helpers: TCP segments of one connection built by stream offset, and a recording listener. */
import {
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  type IpFamily,
  type TcpSegment,
} from '../../src/decode/segment.js';
import type {
  Direction,
  FlowEndReason,
  FlowInfo,
  FlowListener,
  FlowTableConfig,
} from '../../src/flows/flow.js';

export const IMDS_V4 = '169.254.169.254';
export const IMDS_V6 = 'fd00:ec2::254';

export const TEST_CONFIG: FlowTableConfig = {
  serverAddresses: [IMDS_V4, IMDS_V6],
  serverPort: 80,
  maxFlows: 100,
  idleTimeoutMs: 10_000,
  maxBufferedBytes: 64 * 1024,
};

export interface ConnOptions {
  clientIp?: string;
  clientPort?: number;
  serverIp?: string;
  serverPort?: number;
  clientIsn?: number;
  serverIsn?: number;
}

/**
 * One TCP connection to IMDS. Offsets are stream offsets (0 = first data byte after the SYN),
 * so sequence numbers (and their 32-bit wrap) are derived the way a real stack does.
 */
export class Conn {
  readonly clientIp: string;
  readonly clientPort: number;
  readonly serverIp: string;
  readonly serverPort: number;
  readonly clientIsn: number;
  readonly serverIsn: number;
  readonly family: IpFamily;

  constructor(o: ConnOptions = {}) {
    this.clientIp = o.clientIp ?? '192.0.2.10';
    this.clientPort = o.clientPort ?? 40000;
    this.serverIp = o.serverIp ?? IMDS_V4;
    this.serverPort = o.serverPort ?? 80;
    this.clientIsn = o.clientIsn ?? 1000;
    this.serverIsn = o.serverIsn ?? 5000;
    this.family = this.clientIp.includes(':') ? 'ipv6' : 'ipv4';
  }

  /** Client -> server segment whose first byte is at stream offset `offset`. */
  c(offset: number, data: Buffer | string = '', flags = TCP_ACK, serverOffset = 0): TcpSegment {
    return this.#segment(
      true,
      (this.clientIsn + 1 + offset) >>> 0,
      (this.serverIsn + 1 + serverOffset) >>> 0,
      flags,
      data,
    );
  }

  /** Server -> client segment whose first byte is at stream offset `offset`. */
  s(offset: number, data: Buffer | string = '', flags = TCP_ACK, clientOffset = 0): TcpSegment {
    return this.#segment(
      false,
      (this.serverIsn + 1 + offset) >>> 0,
      (this.clientIsn + 1 + clientOffset) >>> 0,
      flags,
      data,
    );
  }

  syn(): TcpSegment {
    return this.#segment(true, this.clientIsn, 0, TCP_SYN, '');
  }

  synAck(): TcpSegment {
    return this.#segment(false, this.serverIsn, (this.clientIsn + 1) >>> 0, TCP_SYN | TCP_ACK, '');
  }

  handshake(): TcpSegment[] {
    return [this.syn(), this.synAck(), this.c(0)];
  }

  /** Client FIN after `clientBytes`, server FIN after `serverBytes`, last ACK: a normal close. */
  close(clientBytes: number, serverBytes: number): TcpSegment[] {
    return [
      this.c(clientBytes, '', TCP_FIN | TCP_ACK, serverBytes),
      this.s(serverBytes, '', TCP_FIN | TCP_ACK, clientBytes + 1),
      this.c(clientBytes + 1, '', TCP_ACK, serverBytes + 1),
    ];
  }

  rstFromClient(offset: number): TcpSegment {
    return this.#segment(true, (this.clientIsn + 1 + offset) >>> 0, 0, TCP_RST, '');
  }

  #segment(
    fromClient: boolean,
    seq: number,
    ack: number,
    flags: number,
    data: Buffer | string,
  ): TcpSegment {
    return {
      family: this.family,
      srcIp: fromClient ? this.clientIp : this.serverIp,
      dstIp: fromClient ? this.serverIp : this.clientIp,
      srcPort: fromClient ? this.clientPort : this.serverPort,
      dstPort: fromClient ? this.serverPort : this.clientPort,
      seq,
      ack,
      flags,
      ttl: 64,
      payload: typeof data === 'string' ? Buffer.from(data, 'latin1') : data,
    };
  }
}

export type FlowEvent =
  | { type: 'start'; flow: FlowInfo; timeMs: number }
  | { type: 'data'; flowId: string; direction: Direction; data: Buffer; timeMs: number }
  | { type: 'gap'; flowId: string; direction: Direction; lostBytes: number; timeMs: number }
  | { type: 'end'; flowId: string; reason: FlowEndReason; timeMs: number };

/** Records every listener call (copying data, as a real consumer must). */
export class Recorder implements FlowListener {
  readonly events: FlowEvent[] = [];

  flowStarted(flow: FlowInfo, timeMs: number): void {
    this.events.push({ type: 'start', flow, timeMs });
  }

  streamData(flow: FlowInfo, direction: Direction, data: Buffer, timeMs: number): void {
    this.events.push({ type: 'data', flowId: flow.id, direction, data: Buffer.from(data), timeMs });
  }

  streamGap(flow: FlowInfo, direction: Direction, lostBytes: number, timeMs: number): void {
    this.events.push({ type: 'gap', flowId: flow.id, direction, lostBytes, timeMs });
  }

  flowEnded(flow: FlowInfo, reason: FlowEndReason, timeMs: number): void {
    this.events.push({ type: 'end', flowId: flow.id, reason, timeMs });
  }

  flows(): FlowInfo[] {
    return this.events.flatMap((e) => (e.type === 'start' ? [e.flow] : []));
  }

  /** Everything delivered for one direction, with gaps rendered as `[gap N]`. */
  stream(flowId: string, direction: Direction): string {
    return this.events
      .map((e) => {
        if (e.type === 'data' && e.flowId === flowId && e.direction === direction)
          return e.data.toString('latin1');
        if (e.type === 'gap' && e.flowId === flowId && e.direction === direction)
          return `[gap ${e.lostBytes}]`;
        return '';
      })
      .join('');
  }

  bytes(flowId: string, direction: Direction): Buffer {
    return Buffer.concat(
      this.events.flatMap((e) =>
        e.type === 'data' && e.flowId === flowId && e.direction === direction ? [e.data] : [],
      ),
    );
  }

  ends(): { flowId: string; reason: FlowEndReason }[] {
    return this.events.flatMap((e) =>
      e.type === 'end' ? [{ flowId: e.flowId, reason: e.reason }] : [],
    );
  }

  /** Event kinds in order, e.g. ['start C1', 'data C1 request', 'end C1 fin']. */
  trace(): string[] {
    return this.events.map((e) => {
      switch (e.type) {
        case 'start':
          return `start ${e.flow.id}`;
        case 'data':
          return `data ${e.flowId} ${e.direction}`;
        case 'gap':
          return `gap ${e.flowId} ${e.direction} ${e.lostBytes}`;
        case 'end':
          return `end ${e.flowId} ${e.reason}`;
      }
    });
  }
}
