import t from 'tap';
import { decodeFrame } from '../../src/decode/link.js';
import type { TcpSegment } from '../../src/decode/segment.js';
import { conversation, type ConversationOptions } from './packet-conversation.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from './packets.js';

const base: ConversationOptions = {
  client: { ip: '192.0.2.2', port: 40000 },
  server: { ip: '169.254.169.254', port: 80 },
  exchanges: [
    {
      request: Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      response: Buffer.from('HTTP/1.1 200 OK\r\n\r\n'),
    },
  ],
  clientIsn: 0xfffffffe, // wraps during the conversation
};

function segments(o: ConversationOptions): TcpSegment[] {
  return conversation(o).map((r) => {
    const d = decodeFrame(r.linkType, r.data);
    if (d.kind !== 'tcp') throw new Error(d.reason);
    return d.segment;
  });
}

/** Reassembles one direction by sequence number, the way a receiver would. */
function stream(segs: TcpSegment[], fromClient: boolean): string {
  const parts = new Map<number, string>();
  for (const s of segs)
    if ((s.srcPort === 40000) === fromClient && s.payload.length > 0)
      parts.set(s.seq, s.payload.toString());
  return [...parts.entries()]
    .sort(([a], [b]) => (a - b) | 0)
    .map(([, p]) => p)
    .join('');
}

t.test('handshake, data with ACKs, FIN close; sequence numbers wrap', (t) => {
  const segs = segments(base);
  t.same(
    segs.slice(0, 3).map((s) => s.flags),
    [TCP_SYN, TCP_SYN | TCP_ACK, TCP_ACK],
  );
  t.equal(segs[1]?.ack, 0xffffffff);
  t.equal(segs[2]?.seq, 0xffffffff);
  t.equal(stream(segs, true), 'GET / HTTP/1.1\r\n\r\n');
  t.equal(stream(segs, false), 'HTTP/1.1 200 OK\r\n\r\n');
  t.same(
    segs.slice(-3).map((s) => s.flags),
    [TCP_FIN | TCP_ACK, TCP_FIN | TCP_ACK, TCP_ACK],
  );
  const times = conversation(base).map((r) => r.timeMs);
  t.ok(
    times.every((x, i) => i === 0 || x > (times[i - 1] ?? 0)),
    'timestamps increase',
  );
  t.end();
});

t.test('byte-by-byte, retransmitted, reordered, mid-flow, RST', (t) => {
  const bytewise = segments({ ...base, segmentSize: 1 });
  t.equal(bytewise.filter((s) => s.srcPort === 40000 && s.payload.length === 1).length, 18);
  t.equal(stream(bytewise, true), 'GET / HTTP/1.1\r\n\r\n');

  const again = segments({ ...base, segmentSize: 5, retransmit: (i) => i === 0 });
  const first = again.filter((s) => s.payload.toString() === 'GET /');
  t.equal(first.length, 2, 'first data segment sent twice');

  const swapped = segments({ ...base, segmentSize: 5, reorder: true });
  const data = swapped.filter((s) => s.srcPort === 40000 && s.payload.length > 0);
  t.same(
    data.slice(0, 2).map((s) => s.payload.toString()),
    [' HTTP', 'GET /'],
  );
  t.equal(stream(swapped, true), 'GET / HTTP/1.1\r\n\r\n');

  const mid = segments({ ...base, handshake: false, close: 'rst' });
  t.notOk(mid.some((s) => (s.flags & TCP_SYN) !== 0));
  t.equal(mid.at(-1)?.flags, TCP_RST | TCP_ACK);

  const unanswered = segments({
    ...base,
    exchanges: [
      { request: Buffer.from('PUT /latest/api/token HTTP/1.1\r\n\r\n'), response: Buffer.alloc(0) },
    ],
    close: 'none',
  });
  t.equal(stream(unanswered, false), '', 'no response bytes when the answer never arrives');
  t.end();
});
