/**
 * In-order reassembly of one direction of a TCP connection.
 *
 * Positions are kept as stream offsets (a plain number that only grows, so 32-bit sequence
 * wrap-around is handled once, in `#offsetOf`). In-order payload is handed on as the captured
 * view without copying (the hot path); only segments that arrive ahead of a hole are copied,
 * because the capture buffer is reused for the next frame.
 *
 * Policy, as Zeek and Suricata do it for a passive observer:
 * - the first copy of a byte wins; a later copy with different bytes is counted
 *   (`flows.overlap_mismatch`). Bytes already delivered are not kept, so a retransmission of
 *   delivered bytes is only counted (`flows.retransmission`), not compared;
 * - out-of-order bytes are held up to `maxBufferedBytes`; past it the oldest hole is declared
 *   lost (`streamGap`) and delivery continues after it;
 * - at the end (`finish`) every remaining hole is declared lost and held bytes are delivered.
 */
import type { Anomalies } from '../anomalies.js';
import { TCP_FIN, TCP_SYN } from '../decode/segment.js';

/** Where one direction's reassembled stream goes. */
export interface StreamSink {
  /** In-order bytes. May be a view into the capture buffer: valid only during the call. */
  data(data: Buffer, timeMs: number): void;
  /** `lostBytes` bytes were never seen; data continues after them. */
  gap(lostBytes: number, timeMs: number): void;
}

interface Held {
  offset: number;
  data: Buffer;
}

/** Largest sequence distance believed (a TCP window scaled to the maximum is 2^30). */
const MAX_SEQ_DISTANCE = 2 ** 30;
/**
 * Most out-of-order segments held per direction, whatever their size: tiny segments sent in
 * reverse would otherwise make every insertion slow (a cheap way to blind the analyzer).
 */
export const MAX_HELD_SEGMENTS = 1024;

export class Reassembler {
  readonly #sink: StreamSink;
  readonly #anomalies: Anomalies;
  readonly #maxBufferedBytes: number;

  /** Sequence number of stream offset 0; undefined until the start is known. */
  #base: number | undefined;
  /** Next stream offset to deliver (everything before it was delivered or declared lost). */
  #next = 0;
  /** Out-of-order chunks, sorted by offset, never overlapping, all beyond `#next`. */
  #held: Held[] = [];
  #heldBytes = 0;
  #finOffset: number | undefined;
  #delivered = 0;
  #lost = 0;

  constructor(sink: StreamSink, anomalies: Anomalies, maxBufferedBytes: number) {
    this.#sink = sink;
    this.#anomalies = anomalies;
    this.#maxBufferedBytes = maxBufferedBytes;
  }

  /** True once the stream's first sequence number is known. */
  get started(): boolean {
    return this.#base !== undefined;
  }

  /** True when a FIN was seen (it may still wait for missing bytes before it). */
  get finSeen(): boolean {
    return this.#finOffset !== undefined;
  }

  /** True when every byte up to the FIN was delivered or declared lost. */
  get complete(): boolean {
    return this.#finOffset !== undefined && this.#next >= this.#finOffset;
  }

  /** Sequence number just past the FIN (what the peer acknowledges), once a FIN was seen. */
  get finAckSeq(): number | undefined {
    return this.#finOffset === undefined || this.#base === undefined
      ? undefined
      : (this.#base + this.#finOffset + 1) >>> 0;
  }

  get deliveredBytes(): number {
    return this.#delivered;
  }

  get lostBytes(): number {
    return this.#lost;
  }

  get bufferedBytes(): number {
    return this.#heldBytes;
  }

  /** Starts the stream at `seq` (first data byte) if its start is not known yet. */
  startAt(seq: number): void {
    if (this.#base === undefined) this.#base = seq >>> 0;
  }

  /** Signed distance in stream offsets from the next expected byte to `seq`. */
  #offsetOf(seq: number): number {
    const base = this.#base ?? 0;
    return this.#next + ((seq - base - this.#next) | 0);
  }

  /** Feeds one segment of this direction (`flags` as in TcpSegment). */
  segment(seq: number, flags: number, payload: Buffer, timeMs: number): void {
    let dataSeq = seq;
    if ((flags & TCP_SYN) !== 0) {
      dataSeq = (seq + 1) >>> 0;
      this.startAt(dataSeq);
    } else {
      this.startAt(seq);
    }
    let offset = this.#offsetOf(dataSeq);
    if (Math.abs(offset - this.#next) > MAX_SEQ_DISTANCE) {
      this.#anomalies.count('flows.seq_out_of_window');
      return;
    }
    let data = payload;

    if ((flags & TCP_FIN) !== 0) {
      const fin = offset + data.length;
      if (this.#finOffset === undefined) this.#finOffset = Math.max(fin, this.#next);
      else if (fin !== this.#finOffset) this.#anomalies.count('flows.fin_moved');
    }
    if (this.#finOffset !== undefined && offset + data.length > this.#finOffset) {
      this.#anomalies.count('flows.data_after_fin');
      data = data.subarray(0, Math.max(0, this.#finOffset - offset));
    }
    if (data.length === 0) return;

    const end = offset + data.length;
    if (end <= this.#next) {
      this.#anomalies.count('flows.retransmission');
      return;
    }
    if (offset < this.#next) {
      // Partial retransmission: its new tail is what counts.
      this.#anomalies.count('flows.partial_retransmission');
      data = data.subarray(this.#next - offset);
      offset = this.#next;
    }

    if (offset === this.#next) {
      const first = this.#held[0];
      if (first === undefined || first.offset >= end) {
        this.#deliver(data, timeMs);
      } else {
        // Deliver up to the first held chunk without copying; the rest overlaps held bytes.
        const direct = first.offset - offset;
        if (direct > 0) this.#deliver(data.subarray(0, direct), timeMs);
        this.#insert(first.offset, data.subarray(direct));
      }
      this.#drain(timeMs);
      return;
    }

    this.#anomalies.count('flows.out_of_order');
    this.#insert(offset, data);
    if (this.#overLimit()) {
      this.#anomalies.count('flows.buffer_limit');
      while (this.#overLimit()) this.#skipHole(timeMs);
    }
  }

  /**
   * Ends the stream: declares every remaining hole lost and delivers what is held. `endSeq`
   * (a RST's sequence number) marks where the sender had got to, so missing bytes at the tail
   * are reported too; a seen FIN does the same.
   */
  finish(timeMs: number, endSeq?: number): void {
    while (this.#held.length > 0) this.#skipHole(timeMs);
    let end = this.#finOffset;
    if (end === undefined && endSeq !== undefined && this.#base !== undefined) {
      const at = this.#offsetOf(endSeq);
      if (at - this.#next <= MAX_SEQ_DISTANCE) end = at;
    }
    if (end !== undefined && end > this.#next) this.#gap(end - this.#next, timeMs);
  }

  #overLimit(): boolean {
    return this.#heldBytes > this.#maxBufferedBytes || this.#held.length > MAX_HELD_SEGMENTS;
  }

  #deliver(data: Buffer, timeMs: number): void {
    this.#next += data.length;
    this.#delivered += data.length;
    this.#sink.data(data, timeMs);
  }

  #gap(lost: number, timeMs: number): void {
    this.#next += lost;
    this.#lost += lost;
    this.#anomalies.count('flows.gap');
    this.#sink.gap(lost, timeMs);
  }

  /** Declares the hole before the first held chunk lost, then delivers what follows it. */
  #skipHole(timeMs: number): void {
    const first = this.#held[0];
    if (first === undefined) return;
    if (first.offset > this.#next) this.#gap(first.offset - this.#next, timeMs);
    this.#drain(timeMs);
  }

  /** Delivers held chunks that have become in order. */
  #drain(timeMs: number): void {
    const held = this.#held;
    let done = 0;
    for (const chunk of held) {
      if (chunk.offset > this.#next) break;
      done++;
      this.#heldBytes -= chunk.data.length;
      const skip = this.#next - chunk.offset;
      if (skip < chunk.data.length) this.#deliver(chunk.data.subarray(skip), timeMs);
    }
    if (done > 0) held.splice(0, done);
  }

  /**
   * Holds [offset, offset + data.length) beyond `#next`: parts already held keep their first
   * copy (differences counted), the uncovered parts are copied in.
   */
  #insert(offset: number, data: Buffer): void {
    const end = offset + data.length;
    const held = this.#held;
    // First chunk ending after `offset` (chunks are sorted and disjoint, so ends are sorted too).
    let i = 0;
    let hi = held.length;
    while (i < hi) {
      const mid = (i + hi) >>> 1;
      const chunk = held[mid];
      if (chunk !== undefined && chunk.offset + chunk.data.length <= offset) i = mid + 1;
      else hi = mid;
    }
    let pos = offset;
    let covered = 0;
    let mismatch = false;
    while (pos < end) {
      const chunk = held[i];
      if (chunk === undefined || chunk.offset >= end) {
        this.#hold(i, pos, data.subarray(pos - offset));
        break;
      }
      if (chunk.offset > pos) {
        this.#hold(i, pos, data.subarray(pos - offset, chunk.offset - offset));
        i++;
        pos = chunk.offset;
      }
      const overlapEnd = Math.min(end, chunk.offset + chunk.data.length);
      if (
        !mismatch &&
        data.compare(
          chunk.data,
          pos - chunk.offset,
          overlapEnd - chunk.offset,
          pos - offset,
          overlapEnd - offset,
        ) !== 0
      ) {
        mismatch = true;
      }
      covered += overlapEnd - pos;
      pos = overlapEnd;
      i++;
    }
    if (mismatch) this.#anomalies.count('flows.overlap_mismatch');
    if (covered === data.length) this.#anomalies.count('flows.retransmission');
  }

  #hold(index: number, offset: number, view: Buffer): void {
    const copy = Buffer.allocUnsafe(view.length);
    view.copy(copy);
    this.#held.splice(index, 0, { offset, data: copy });
    this.#heldBytes += copy.length;
  }
}
