/**
 * Whole TCP conversations as frames: handshake, requests and responses split into segments,
 * the ACKs a real stack sends, and the close. Options add the trouble reassembly must survive:
 * retransmissions, reordering, starting in the middle of a flow, byte-by-byte segments.
 *
 *   const records = conversation({
 *     client: { ip: '192.0.2.2', port: 40000 },
 *     server: { ip: '169.254.169.254', port: 80 },
 *     exchanges: [{ request: Buffer.from('GET / HTTP/1.1\r\n\r\n'), response: ok }],
 *     segmentSize: 1,          // byte by byte
 *   });
 */
import {
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  frame,
  ipTcp,
  type Endpoint,
  type LinkSpec,
  type PacketRecord,
} from './packets.js';

export interface Exchange {
  /** Bytes the client sends. */
  readonly request: Buffer;
  /** Bytes the server answers; empty means no answer reaches the capture (hop-limit case). */
  readonly response: Buffer;
}

export interface ConversationOptions {
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly exchanges: readonly Exchange[];
  /** Default Ethernet without VLAN tags. */
  readonly link?: LinkSpec;
  /** Time of the first packet (ms since the epoch), default 1_700_000_000_000. */
  readonly startMs?: number;
  /** Time between consecutive packets, default 1 ms. */
  readonly stepMs?: number;
  readonly clientIsn?: number;
  readonly serverIsn?: number;
  /** Split each message into segments of at most this many bytes (1 = byte by byte); default 1448. */
  readonly segmentSize?: number;
  /** Default 64. */
  readonly clientTtl?: number;
  /** Default 255; set 1 to mimic IMDS answering with the default hop limit. */
  readonly serverTtl?: number;
  /** Default true; false starts mid-flow (no SYN, SYN-ACK, ACK). */
  readonly handshake?: boolean;
  /** How the client ends the connection, default 'fin' (FIN both ways, final ACK). */
  readonly close?: 'fin' | 'rst' | 'none';
  /** Send data segments twice: true for all, or pick by index among all data segments. */
  readonly retransmit?: boolean | ((dataSegmentIndex: number) => boolean);
  /** Swap adjacent data segments of each message: (0,1), (2,3), ... */
  readonly reorder?: boolean;
}

/** The frames of one TCP conversation, in capture order, with increasing timestamps. */
export function conversation(o: ConversationOptions): PacketRecord[] {
  const link = o.link ?? { type: 'ethernet' };
  const step = o.stepMs ?? 1;
  const size = Math.max(1, o.segmentSize ?? 1448);
  const clientTtl = o.clientTtl ?? 64;
  const serverTtl = o.serverTtl ?? 255;
  const records: PacketRecord[] = [];
  let time = o.startMs ?? 1_700_000_000_000;
  let dataIndex = 0;

  const emit = (fromClient: boolean, seq: number, ack: number, flags: number, payload?: Buffer) => {
    const packet = ipTcp({
      src: fromClient ? o.client : o.server,
      dst: fromClient ? o.server : o.client,
      seq: seq >>> 0,
      ack: ack >>> 0,
      flags,
      ttl: fromClient ? clientTtl : serverTtl,
      ...(payload === undefined ? {} : { payload }),
    });
    records.push(frame(link, packet, time));
    time += step;
  };

  let cseq = o.clientIsn ?? 0x1000_0000;
  let sseq = o.serverIsn ?? 0x2000_0000;
  if (o.handshake !== false) {
    emit(true, cseq, 0, TCP_SYN);
    emit(false, sseq, cseq + 1, TCP_SYN | TCP_ACK);
    cseq += 1;
    sseq += 1;
    emit(true, cseq, sseq, TCP_ACK);
  }

  /** Sends `message` from one side, then the other side's ACK; returns the new sequence. */
  const send = (fromClient: boolean, message: Buffer, seq: number, peerSeq: number): number => {
    if (message.length === 0) return seq;
    const chunks: { offset: number; bytes: Buffer }[] = [];
    for (let off = 0; off < message.length; off += size) {
      chunks.push({ offset: off, bytes: message.subarray(off, off + size) });
    }
    if (o.reorder === true) {
      for (let i = 0; i + 1 < chunks.length; i += 2) {
        const a = chunks[i];
        const b = chunks[i + 1];
        if (a !== undefined && b !== undefined) [chunks[i], chunks[i + 1]] = [b, a];
      }
    }
    for (const chunk of chunks) {
      const again =
        typeof o.retransmit === 'function' ? o.retransmit(dataIndex) : o.retransmit === true;
      dataIndex += 1;
      const copies = again ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        emit(fromClient, seq + chunk.offset, peerSeq, TCP_ACK | TCP_PSH, chunk.bytes);
      }
    }
    const next = seq + message.length;
    emit(!fromClient, peerSeq, next, TCP_ACK);
    return next;
  };

  for (const exchange of o.exchanges) {
    cseq = send(true, exchange.request, cseq, sseq);
    sseq = send(false, exchange.response, sseq, cseq);
  }

  switch (o.close ?? 'fin') {
    case 'fin':
      emit(true, cseq, sseq, TCP_FIN | TCP_ACK);
      emit(false, sseq, cseq + 1, TCP_FIN | TCP_ACK);
      emit(true, cseq + 1, sseq + 1, TCP_ACK);
      break;
    case 'rst':
      emit(true, cseq, sseq, TCP_RST | TCP_ACK);
      break;
    case 'none':
      break;
  }
  return records;
}
