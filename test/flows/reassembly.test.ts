import t from 'tap';
import fc from 'fast-check';
import { Anomalies } from '../../src/anomalies.js';
import { TCP_ACK, TCP_FIN, TCP_SYN } from '../../src/decode/segment.js';
import { MAX_HELD_SEGMENTS, Reassembler, type StreamSink } from '../../src/flows/reassembly.js';

/** A sink that copies what it gets (the reassembler hands on views) and renders gaps. */
class Collect implements StreamSink {
  chunks: Buffer[] = [];
  gaps: number[] = [];
  /** Copies of chunks and gap sizes, in the order reported. */
  order: (Buffer | number)[] = [];
  text = '';
  data(data: Buffer): void {
    const copy = Buffer.from(data);
    this.chunks.push(copy);
    this.order.push(copy);
    this.text += data.toString('latin1');
  }
  gap(lostBytes: number): void {
    this.gaps.push(lostBytes);
    this.order.push(lostBytes);
    this.text += `[gap ${lostBytes}]`;
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function setup(maxBufferedBytes = 1 << 20) {
  const sink = new Collect();
  const anomalies = new Anomalies();
  const r = new Reassembler(sink, anomalies, maxBufferedBytes);
  return { sink, anomalies, r };
}

const MSG = 'GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n';

t.test('in-order segments are delivered at once, as views without copying', (t) => {
  const { sink, anomalies, r } = setup();
  r.segment(99, TCP_SYN, Buffer.alloc(0), 0);
  const first = Buffer.from('GET / HTTP/1.1\r\n');
  let seen: Buffer | undefined;
  const r2 = new Reassembler(
    { data: (d) => (seen = d), gap: () => undefined },
    new Anomalies(),
    1024,
  );
  r2.segment(99, TCP_SYN, Buffer.alloc(0), 0);
  r2.segment(100, TCP_ACK, first, 1);
  t.equal(seen?.buffer, first.buffer, 'in-order payload is handed on without a copy');

  r.segment(100, TCP_ACK, Buffer.from('GET / '), 1);
  t.equal(sink.text, 'GET / ');
  r.segment(106, TCP_ACK, Buffer.from('HTTP/1.1'), 2);
  t.equal(sink.text, 'GET / HTTP/1.1');
  t.equal(r.deliveredBytes, 14);
  t.same(anomalies.snapshot(), {});
  t.end();
});

t.test('byte-by-byte and reversed order both give the original stream', (t) => {
  for (const order of ['forward', 'reversed'] as const) {
    const { sink, anomalies, r } = setup();
    r.segment(7, TCP_SYN, Buffer.alloc(0), 0);
    const idx = Array.from({ length: MSG.length }, (_, i) => i);
    if (order === 'reversed') idx.reverse();
    for (const i of idx) r.segment(8 + i, TCP_ACK, Buffer.from(MSG[i] ?? '', 'latin1'), i);
    t.equal(sink.text, MSG, order);
    t.equal(r.bufferedBytes, 0);
    t.equal(anomalies.get('flows.out_of_order'), order === 'reversed' ? MSG.length - 1 : 0);
  }
  t.end();
});

t.test('retransmissions are dropped and counted', (t) => {
  const { sink, anomalies, r } = setup();
  r.segment(0, TCP_SYN, Buffer.alloc(0), 0);
  r.segment(1, TCP_ACK, Buffer.from('abcd'), 0);
  r.segment(1, TCP_ACK, Buffer.from('abcd'), 0);
  r.segment(3, TCP_ACK, Buffer.from('cdef'), 0); // half old, half new
  r.segment(0, TCP_SYN, Buffer.alloc(0), 0); // retransmitted SYN
  t.equal(sink.text, 'abcdef');
  t.equal(anomalies.get('flows.retransmission'), 1);
  t.equal(anomalies.get('flows.partial_retransmission'), 1);
  t.end();
});

t.test('overlapping held segments: first copy wins, differing bytes counted', (t) => {
  const { sink, anomalies, r } = setup();
  r.segment(0, TCP_SYN, Buffer.alloc(0), 0);
  r.segment(5, TCP_ACK, Buffer.from('EFGH'), 0); // offsets 4..8, held
  r.segment(7, TCP_ACK, Buffer.from('GHIJ'), 0); // overlaps with same bytes
  t.equal(anomalies.get('flows.overlap_mismatch'), 0);
  r.segment(3, TCP_ACK, Buffer.from('CDxxGHIJKL'), 0); // 'xx' differs from held 'EF'
  t.equal(anomalies.get('flows.overlap_mismatch'), 1);
  r.segment(6, TCP_ACK, Buffer.from('FG'), 0); // wholly held already: a retransmission
  t.equal(anomalies.get('flows.retransmission'), 1);
  t.equal(sink.text, '');
  r.segment(1, TCP_ACK, Buffer.from('AB'), 0);
  t.equal(sink.text, 'ABCDEFGHIJKL', 'the held first copy "EF" wins over "xx"');
  t.equal(r.bufferedBytes, 0);
  t.end();
});

t.test('an in-order segment running into held bytes keeps the held copy', (t) => {
  const { sink, anomalies, r } = setup();
  r.startAt(1000);
  r.segment(1004, TCP_ACK, Buffer.from('4567'), 0);
  r.segment(1000, TCP_ACK, Buffer.from('0123XX67'), 0);
  t.equal(sink.text, '01234567');
  t.equal(anomalies.get('flows.overlap_mismatch'), 1);
  t.end();
});

t.test('sequence numbers wrap around 2^32', (t) => {
  const { sink, anomalies, r } = setup();
  const isn = 0xfffffff0;
  r.segment(isn, TCP_SYN, Buffer.alloc(0), 0);
  const text = 'x'.repeat(10) + '|crosses zero|' + 'y'.repeat(20);
  // Deliver the part after the wrap first, then the part before it.
  r.segment((isn + 1 + 20) >>> 0, TCP_ACK, Buffer.from(text.slice(20)), 0);
  r.segment((isn + 1 + 10) >>> 0, TCP_ACK, Buffer.from(text.slice(10, 20)), 0);
  t.equal(sink.text, '');
  r.segment(isn + 1, TCP_ACK, Buffer.from(text.slice(0, 10)), 0);
  t.equal(sink.text, text);
  // A retransmission from before the wrap is still recognised as old.
  r.segment(isn + 1, TCP_ACK, Buffer.from(text.slice(0, 10)), 0);
  t.equal(anomalies.get('flows.retransmission'), 1);
  t.equal(sink.text, text);
  t.end();
});

t.test('a stream without SYN starts at the first sequence number seen', (t) => {
  const { sink, r } = setup();
  t.equal(r.started, false);
  r.segment(123456, TCP_ACK, Buffer.from('HTTP/1.1 200 OK\r\n'), 0);
  t.equal(r.started, true);
  r.segment(123456 + 17, TCP_ACK, Buffer.from('\r\n'), 0);
  t.equal(sink.text, 'HTTP/1.1 200 OK\r\n\r\n');
  t.end();
});

t.test('past maxBufferedBytes the hole is declared lost and later data still delivered', (t) => {
  const { sink, anomalies, r } = setup(10);
  r.segment(0, TCP_SYN, Buffer.alloc(0), 0);
  r.segment(1, TCP_ACK, Buffer.from('ab'), 0);
  // offsets 2..4 ('cde') are never captured
  r.segment(6, TCP_ACK, Buffer.from('fghij'), 0); // 5 held
  r.segment(11, TCP_ACK, Buffer.from('klmno'), 0); // 10 held: at the limit, still waiting
  t.equal(sink.text, 'ab');
  r.segment(16, TCP_ACK, Buffer.from('p'), 0); // 11 > 10: give up on the hole
  t.equal(sink.text, 'ab[gap 3]fghijklmnop');
  t.same(sink.gaps, [3]);
  t.equal(r.lostBytes, 3);
  t.equal(anomalies.get('flows.buffer_limit'), 1);
  t.equal(anomalies.get('flows.gap'), 1);
  r.segment(17, TCP_ACK, Buffer.from('q'), 0);
  t.equal(sink.text, 'ab[gap 3]fghijklmnopq');
  // The missing bytes arriving now are too late: old data, dropped.
  r.segment(3, TCP_ACK, Buffer.from('cde'), 0);
  t.equal(sink.text, 'ab[gap 3]fghijklmnopq');
  t.end();
});

t.test('one out-of-order segment larger than the buffer is delivered after a gap', (t) => {
  const { sink, r } = setup(4);
  r.startAt(0);
  r.segment(3, TCP_ACK, Buffer.from('defghij'), 0);
  t.equal(sink.text, '[gap 3]defghij');
  t.end();
});

t.test('finish declares remaining holes, delivers held data and reports a missing tail', (t) => {
  const { sink, r } = setup();
  r.segment(0, TCP_SYN, Buffer.alloc(0), 0);
  r.segment(1, TCP_ACK, Buffer.from('ab'), 0);
  r.segment(5, TCP_ACK, Buffer.from('ef'), 0);
  r.segment(9, TCP_FIN | TCP_ACK, Buffer.alloc(0), 0); // FIN after offset 8: 'gh' missing
  t.equal(r.finSeen, true);
  t.equal(r.complete, false);
  t.equal(r.finAckSeq, 10);
  r.finish(1);
  t.equal(sink.text, 'ab[gap 2]ef[gap 2]');
  t.equal(r.complete, true);
  r.finish(2);
  t.equal(sink.text, 'ab[gap 2]ef[gap 2]', 'finish is idempotent');
  t.end();
});

t.test('finish with a RST sequence number reports bytes missing before the RST', (t) => {
  const { sink, r } = setup();
  r.segment(0, TCP_SYN, Buffer.alloc(0), 0);
  r.segment(1, TCP_ACK, Buffer.from('abc'), 0);
  r.finish(1, 11);
  t.equal(sink.text, 'abc[gap 7]');
  t.end();
});

t.test('FIN completes once the bytes before it are in; data beyond the FIN is dropped', (t) => {
  const { sink, anomalies, r } = setup();
  r.segment(0, TCP_SYN, Buffer.alloc(0), 0);
  r.segment(4, TCP_FIN | TCP_ACK, Buffer.from('def'), 0);
  t.equal(r.complete, false);
  r.segment(1, TCP_ACK, Buffer.from('abc'), 0);
  t.equal(r.complete, true);
  r.segment(7, TCP_ACK, Buffer.from('zz'), 0);
  t.equal(sink.text, 'abcdef');
  t.equal(anomalies.get('flows.data_after_fin'), 1);
  t.end();
});

t.test('segments absurdly far from the stream position are counted and ignored', (t) => {
  const { sink, anomalies, r } = setup();
  r.segment(0, TCP_SYN, Buffer.alloc(0), 0);
  r.segment(1 + 2 ** 31 - 5, TCP_ACK, Buffer.from('zz'), 0);
  r.segment(1, TCP_ACK, Buffer.from('ok'), 0);
  t.equal(sink.text, 'ok');
  t.equal(anomalies.get('flows.seq_out_of_window'), 1);
  t.end();
});

t.test('property: any order, duplicates and overlaps give back the original bytes', (t) => {
  const scenario = fc
    .record({
      data: fc.uint8Array({ minLength: 1, maxLength: 3000, size: 'max' }),
      isn: fc.oneof(fc.integer({ min: 0xffffff00, max: 0xffffffff }), fc.nat({ max: 0xffffffff })),
      cuts: fc.array(fc.nat({ max: 3000 }), { maxLength: 60, size: 'medium' }),
      extras: fc.array(fc.tuple(fc.nat({ max: 3000 }), fc.nat({ max: 400 })), {
        maxLength: 15,
        size: 'medium',
      }),
    })
    .chain(({ data, isn, cuts, extras }) => {
      const segs: [number, Buffer][] = [];
      const sorted = [0, ...cuts.filter((c) => c < data.length).sort((a, b) => a - b), data.length];
      for (let i = 0; i + 1 < sorted.length; i++) {
        const a = sorted[i] ?? 0;
        const b = sorted[i + 1] ?? 0;
        if (b > a) segs.push([a, Buffer.from(data.subarray(a, b))]);
      }
      for (const [start, len] of extras) {
        const a = start % data.length;
        segs.push([a, Buffer.from(data.subarray(a, Math.min(data.length, a + len + 1)))]);
      }
      return fc.record({
        data: fc.constant(Buffer.from(data)),
        isn: fc.constant(isn),
        order: fc.shuffledSubarray(segs, { minLength: segs.length, maxLength: segs.length }),
      });
    });
  fc.assert(
    fc.property(scenario, ({ data, isn, order }) => {
      const { sink, anomalies, r } = setup();
      r.segment(isn, TCP_SYN, Buffer.alloc(0), 0);
      for (const [offset, bytes] of order) r.segment((isn + 1 + offset) >>> 0, TCP_ACK, bytes, 0);
      return (
        sink.bytes().equals(data) &&
        sink.gaps.length === 0 &&
        r.bufferedBytes === 0 &&
        anomalies.get('flows.overlap_mismatch') === 0
      );
    }),
    { numRuns: 300 },
  );
  t.pass('300 random orders reassembled exactly');
  t.end();
});

t.test('property: with a small buffer, delivered bytes plus gaps always add up', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 500, size: 'max' }),
      fc.array(fc.tuple(fc.nat({ max: 499 }), fc.nat({ max: 60 })), {
        minLength: 1,
        maxLength: 40,
      }),
      fc.integer({ min: 0, max: 100 }),
      (data, ranges, limit) => {
        const { sink, r } = setup(limit);
        r.startAt(0);
        for (const [start, len] of ranges) {
          const a = start % data.length;
          r.segment(
            a,
            TCP_ACK,
            Buffer.from(data.subarray(a, Math.min(data.length, a + len + 1))),
            0,
          );
        }
        r.segment(data.length, TCP_FIN | TCP_ACK, Buffer.alloc(0), 0);
        r.finish(0);
        // Walk what was reported: every delivered byte is the original byte at its position,
        // and delivered plus lost bytes cover the stream exactly.
        let pos = 0;
        let ok = true;
        for (const e of sink.order) {
          if (typeof e === 'number') {
            ok &&= e > 0;
            pos += e;
          } else {
            ok &&= e.equals(data.subarray(pos, pos + e.length));
            pos += e.length;
          }
        }
        return ok && pos === data.length && sink.bytes().length + r.lostBytes === data.length;
      },
    ),
    { numRuns: 300 },
  );
  t.pass('300 runs consistent');
  t.end();
});

t.test('tiny segments in reverse are bounded by MAX_HELD_SEGMENTS, not only by bytes', (t) => {
  const { sink, anomalies, r } = setup();
  r.startAt(0);
  const data = Buffer.alloc(2000, 0x61);
  for (let i = data.length - 1; i >= 1; i--) r.segment(i, TCP_ACK, data.subarray(i, i + 1), 0);
  const firstHeld = data.length - (MAX_HELD_SEGMENTS + 1);
  t.same(sink.gaps, [firstHeld]);
  t.equal(sink.bytes().length, data.length - firstHeld);
  t.ok(r.bufferedBytes === 0 && anomalies.get('flows.buffer_limit') === 1);
  t.end();
});
