import t from 'tap';
import fc from 'fast-check';
import { Anomalies } from '../../src/anomalies.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST } from '../../src/decode/segment.js';
import { communityIdV1 } from '../../src/flows/community-id.js';
import { DEFAULT_FLOW_TABLE_CONFIG, type FlowTableConfig } from '../../src/flows/flow.js';
import { CLOSED_TUPLE_LINGER_MS, FlowTable } from '../../src/flows/flow-table.js';
import { Conn, IMDS_V4, IMDS_V6, Recorder, TEST_CONFIG } from './segments.js';
import type { TcpSegment } from '../../src/decode/segment.js';

const REQ = 'GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n';
const RES = 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nami-';

function setup(config: Partial<FlowTableConfig> = {}) {
  const rec = new Recorder();
  const anomalies = new Anomalies();
  const table = new FlowTable({ ...TEST_CONFIG, ...config }, rec, anomalies);
  const feed = (segs: TcpSegment[], timeMs = 1000) => {
    for (const s of segs) table.process(s, timeMs);
  };
  return { rec, anomalies, table, feed };
}

/** A whole request/response exchange with a normal close. */
function exchange(conn: Conn): TcpSegment[] {
  return [
    ...conn.handshake(),
    conn.c(0, REQ, TCP_ACK | TCP_PSH),
    conn.s(0, RES, TCP_ACK | TCP_PSH, REQ.length),
    ...conn.close(REQ.length, RES.length),
  ];
}

t.test('a normal connection: start at the SYN, both streams, end on FIN from both sides', (t) => {
  const { rec, anomalies, table } = setup();
  const conn = new Conn();
  const [syn, ...rest] = exchange(conn);
  table.process(conn.syn(), 1000);
  t.same(syn, conn.syn());
  t.same(rec.trace(), ['start C1'], 'flowStarted is called synchronously at the SYN');
  rest.forEach((s, i) => {
    table.process(s, 1001 + i);
  });
  t.same(rec.trace(), ['start C1', 'data C1 request', 'data C1 response', 'end C1 fin']);
  t.equal(rec.stream('C1', 'request'), REQ);
  t.equal(rec.stream('C1', 'response'), RES);
  const [flow] = rec.flows();
  t.match(flow, {
    id: 'C1',
    family: 'ipv4',
    client: { ip: '192.0.2.10', port: 40000 },
    server: { ip: IMDS_V4, port: 80 },
    startMs: 1000,
    sawSyn: true,
    twinOf: undefined,
  });
  t.equal(flow?.communityId, communityIdV1('192.0.2.10', 40000, IMDS_V4, 80));
  t.equal(table.size, 0);
  t.same(anomalies.snapshot(), {}, 'a clean connection raises no anomaly');
  t.match(table.stats(), {
    flowsStarted: 1,
    flowsEnded: 1,
    flowsActive: 0,
    flowsMidStream: 0,
    bytesDelivered: REQ.length + RES.length,
    bytesLost: 0,
  });
  t.end();
});

t.test('IPv6 connections to fd00:ec2::254 are tracked alike', (t) => {
  const { rec, feed } = setup();
  const conn = new Conn({ clientIp: '2001:db8::10', serverIp: IMDS_V6, clientPort: 41000 });
  feed(exchange(conn));
  const [flow] = rec.flows();
  t.equal(flow?.family, 'ipv6');
  t.equal(flow?.communityId, communityIdV1('2001:db8::10', 41000, IMDS_V6, 80));
  t.equal(rec.stream('C1', 'request'), REQ);
  t.same(rec.ends(), [{ flowId: 'C1', reason: 'fin' }]);
  t.end();
});

t.test('segments not to or from IMDS:80 are counted and dropped', (t) => {
  const { rec, anomalies, table, feed } = setup();
  feed([
    ...new Conn({ serverIp: '198.51.100.7' }).handshake(),
    ...new Conn({ serverPort: 443 }).handshake(),
    new Conn({ serverPort: 8080 }).c(0, 'GET / HTTP/1.1\r\n\r\n'),
  ]);
  t.equal(anomalies.get('flows.not_imds'), 7);
  t.equal(table.size, 0);
  t.same(rec.events, []);
  t.end();
});

t.test('flow ids count up in order of first packet', (t) => {
  const { rec, feed } = setup();
  const a = new Conn({ clientPort: 1001 });
  const b = new Conn({ clientPort: 1002 });
  const c = new Conn({ clientPort: 1003 });
  feed([b.syn(), a.syn(), b.synAck(), c.c(0, 'x'), a.synAck()]);
  t.same(
    rec.flows().map((f) => [f.id, f.client.port]),
    [
      ['C1', 1002],
      ['C2', 1001],
      ['C3', 1003],
    ],
  );
  t.end();
});

t.test('no ghost flows from late packets of a closed connection', (t) => {
  const { rec, anomalies, table, feed } = setup();
  const conn = new Conn();
  feed(exchange(conn));
  t.same(rec.ends(), [{ flowId: 'C1', reason: 'fin' }]);
  // The final ACK arrives after the second FIN ended the flow: part of exchange() already.
  // A retransmitted request and a FIN retransmission arrive late.
  feed([conn.c(0, REQ), conn.s(RES.length, '', TCP_FIN | TCP_ACK, REQ.length + 1)], 2000);
  t.equal(table.size, 0);
  t.equal(rec.flows().length, 1);
  t.equal(anomalies.get('flows.late_segment'), 1);
  // Data after the linger time is a new mid-stream connection (the tuple was reused without us seeing a SYN).
  feed([conn.c(0, REQ)], 2000 + CLOSED_TUPLE_LINGER_MS);
  t.equal(rec.flows().length, 2);
  t.equal(rec.flows()[1]?.sawSyn, false);
  t.end();
});

t.test('data-less segments of unknown tuples never start a flow', (t) => {
  const { rec, anomalies, table, feed } = setup();
  const conn = new Conn();
  feed([
    conn.c(10),
    conn.s(3, '', TCP_FIN | TCP_ACK),
    conn.rstFromClient(5),
    { ...conn.c(0, 'x'), flags: TCP_RST },
  ]);
  t.equal(table.size, 0);
  t.same(rec.events, []);
  t.equal(anomalies.get('flows.untracked_segment'), 4);
  t.end();
});

t.test('a capture that starts mid-connection: flow starts at the first data, sawSyn false', (t) => {
  const { rec, table, feed } = setup();
  const conn = new Conn({ clientIsn: 777777, serverIsn: 888888 });
  const req2 = 'GET /latest/meta-data/ami-id HTTP/1.1\r\n\r\n';
  // An earlier request of this keep-alive connection was before the capture started.
  feed([
    conn.c(100, req2, TCP_ACK | TCP_PSH, 400),
    conn.s(400, RES, TCP_ACK | TCP_PSH, 100 + req2.length),
  ]);
  t.same(rec.trace(), ['start C1', 'data C1 request', 'data C1 response']);
  t.equal(rec.flows()[0]?.sawSyn, false);
  t.equal(rec.stream('C1', 'request'), req2);
  t.equal(rec.stream('C1', 'response'), RES);
  t.equal(table.stats().flowsMidStream, 1);
  t.end();
});

t.test('mid-stream: the client ACK fixes where the server stream starts', (t) => {
  const { rec, feed } = setup();
  const conn = new Conn();
  // The client's pure ACK says the server's next byte is at offset 0: the response segments
  // arrive reversed and are still put in order.
  feed([
    conn.c(50, 'GET / HTTP/1.1\r\n\r\n', TCP_ACK, 0),
    conn.s(10, RES.slice(10)),
    conn.s(0, RES.slice(0, 10)),
  ]);
  t.equal(rec.stream('C1', 'response'), RES);
  t.end();
});

t.test('a capture that starts at the SYN-ACK knows the client stream start from its ACK', (t) => {
  const { rec, feed } = setup();
  const conn = new Conn();
  feed([conn.synAck(), conn.c(10, REQ.slice(10)), conn.c(0, REQ.slice(0, 10))]);
  t.same(rec.trace(), ['start C1', 'data C1 request', 'data C1 request']);
  t.equal(rec.stream('C1', 'request'), REQ);
  t.equal(rec.flows()[0]?.sawSyn, false);
  t.equal(rec.flows()[0]?.client.port, 40000);
  t.end();
});

t.test('RST ends the flow at once after held bytes and holes are reported', (t) => {
  const { rec, table, feed } = setup();
  const conn = new Conn();
  feed([
    ...conn.handshake(),
    conn.c(0, 'GET /'),
    conn.c(10, 'HTTP/1.1\r\n'), // offsets 5..9 never captured
    conn.rstFromClient(25),
  ]);
  t.same(rec.trace(), [
    'start C1',
    'data C1 request',
    'gap C1 request 5',
    'data C1 request',
    'gap C1 request 5',
    'end C1 rst',
  ]);
  t.equal(table.size, 0);
  t.end();
});

t.test('RST from the server ends the flow too', (t) => {
  const { rec, feed } = setup();
  const conn = new Conn();
  feed([...conn.handshake(), conn.c(0, REQ), conn.s(0, '', TCP_RST | TCP_ACK, REQ.length)]);
  t.same(rec.trace(), ['start C1', 'data C1 request', 'end C1 rst']);
  t.end();
});

t.test('FINs seen before the last data: the flow ends only once the data is in', (t) => {
  const { rec, feed } = setup();
  const conn = new Conn();
  feed([
    ...conn.handshake(),
    conn.c(10, REQ.slice(10)),
    conn.c(REQ.length, '', TCP_FIN | TCP_ACK),
    conn.s(0, RES, TCP_FIN | TCP_ACK | TCP_PSH, 0),
  ]);
  t.same(rec.ends(), [], 'still waiting for request bytes 0..9');
  feed([conn.c(0, REQ.slice(0, 10))]);
  t.equal(rec.stream('C1', 'request'), REQ);
  t.same(rec.trace().slice(-2), ['data C1 request', 'end C1 fin']);
  t.end();
});

t.test('FIN from both sides with a hole the peer acknowledged: gap reported, flow ends', (t) => {
  const { rec, anomalies, feed } = setup();
  const conn = new Conn();
  feed([
    ...conn.handshake(),
    conn.c(0, 'GET / HTTP/1.1\r\n'),
    // 'Host: x\r\n\r\n' (11 bytes at offset 16) was sent but not captured.
    conn.c(27, '', TCP_FIN | TCP_ACK),
    // The server acknowledges all 27 bytes and the FIN: the client has them, we lost them.
    conn.s(0, 'HTTP/1.1 200 OK\r\n\r\n', TCP_FIN | TCP_ACK | TCP_PSH, 28),
  ]);
  t.same(rec.trace(), [
    'start C1',
    'data C1 request',
    'data C1 response',
    'gap C1 request 11',
    'end C1 fin',
  ]);
  t.equal(anomalies.get('flows.gap'), 1);
  t.end();
});

t.test('idle flows end with reason idle, by expireIdle or by packet time', (t) => {
  const { rec, table, feed } = setup({ idleTimeoutMs: 5000 });
  const a = new Conn({ clientPort: 1 });
  const b = new Conn({ clientPort: 2 });
  feed([...a.handshake(), a.c(0, 'GET')], 1000);
  feed([...b.handshake()], 3000);
  table.expireIdle(5999);
  t.equal(table.size, 2);
  table.expireIdle(6000);
  t.same(rec.ends(), [{ flowId: 'C1', reason: 'idle' }]);
  // No explicit sweep: a packet 5 s after b's last one expires b before it is handled.
  feed([new Conn({ clientPort: 3 }).syn()], 8000);
  t.same(rec.ends(), [
    { flowId: 'C1', reason: 'idle' },
    { flowId: 'C2', reason: 'idle' },
  ]);
  t.equal(table.size, 1);
  t.equal(table.stats().flowsExpired, 2);
  // A keep-alive connection that sends again after its idle end comes back as a mid-stream flow.
  feed([a.c(3, ' / HTTP/1.1\r\n\r\n')], 9000);
  t.equal(rec.flows()[3]?.sawSyn, false);
  t.equal(rec.flows()[3]?.client.port, 1);
  t.end();
});

t.test('a packet of a flow idle past the timeout ends the old flow first', (t) => {
  const { rec, feed } = setup({ idleTimeoutMs: 5000 });
  const a = new Conn();
  feed([...a.handshake(), a.c(0, 'GET /a HTTP/1.1\r\n\r\n')], 1000);
  feed([a.c(19, 'GET /b HTTP/1.1\r\n\r\n')], 6500);
  t.same(rec.trace(), [
    'start C1',
    'data C1 request',
    'end C1 idle',
    'start C2',
    'data C2 request',
  ]);
  t.end();
});

t.test('past maxFlows the least recently active flow is evicted', (t) => {
  const { rec, anomalies, table, feed } = setup({ maxFlows: 3 });
  const conns = [1, 2, 3, 4, 5].map((p) => new Conn({ clientPort: p }));
  const [c1, c2, c3, c4, c5] = conns as [Conn, Conn, Conn, Conn, Conn];
  feed([c1.syn(), c2.syn(), c3.syn()]);
  feed([c1.synAck()]); // C1 is now the most recently active
  feed([c4.syn()]);
  t.same(rec.ends(), [{ flowId: 'C2', reason: 'evicted' }]);
  feed([c5.syn()]);
  t.same(rec.ends(), [
    { flowId: 'C2', reason: 'evicted' },
    { flowId: 'C3', reason: 'evicted' },
  ]);
  t.equal(table.size, 3);
  t.equal(anomalies.get('flows.evicted'), 2);
  t.equal(table.stats().flowsEvicted, 2);
  t.end();
});

t.test('an evicted flow with held data delivers it (after the gap) before it ends', (t) => {
  const { rec, feed } = setup({ maxFlows: 1 });
  const a = new Conn({ clientPort: 1 });
  feed([...a.handshake(), a.c(4, 'tail')]);
  feed([new Conn({ clientPort: 2 }).syn()]);
  t.same(rec.trace(), [
    'start C1',
    'gap C1 request 4',
    'data C1 request',
    'end C1 evicted',
    'start C2',
  ]);
  t.end();
});

t.test('port reuse: a new SYN on a closed tuple starts a new flow', (t) => {
  const { rec, feed } = setup();
  const first = new Conn({ clientIsn: 100 });
  const second = new Conn({ clientIsn: 900000, serverIsn: 7 });
  feed(exchange(first), 1000);
  feed(exchange(second), 1500);
  t.same(rec.ends(), [
    { flowId: 'C1', reason: 'fin' },
    { flowId: 'C2', reason: 'fin' },
  ]);
  t.equal(rec.flows()[1]?.sawSyn, true);
  t.equal(rec.stream('C2', 'request'), REQ);
  t.equal(rec.stream('C2', 'response'), RES);
  t.end();
});

t.test('a SYN with a new ISN on a tuple still open ends the old flow (close not seen)', (t) => {
  const { rec, anomalies, feed } = setup();
  const first = new Conn({ clientIsn: 100 });
  const second = new Conn({ clientIsn: 900000 });
  feed([...first.handshake(), first.c(0, REQ), first.c(REQ.length, '', TCP_FIN | TCP_ACK)]);
  feed([first.syn()]); // a retransmitted SYN of the same connection changes nothing
  t.equal(rec.flows().length, 1);
  feed([second.syn()]);
  t.same(rec.trace(), ['start C1', 'data C1 request', 'end C1 fin', 'start C2']);
  t.equal(anomalies.get('flows.tuple_reused'), 1);
  t.end();
});

t.test('shutdown ends every flow, delivering what is held', (t) => {
  const { rec, table, feed } = setup();
  const a = new Conn({ clientPort: 1 });
  const b = new Conn({ clientPort: 2 });
  feed([...a.handshake(), a.c(3, 'def'), ...b.handshake()]);
  table.shutdown(5000);
  t.same(rec.trace(), [
    'start C1',
    'start C2',
    'gap C1 request 3',
    'data C1 request',
    'end C1 shutdown',
    'end C2 shutdown',
  ]);
  t.equal(table.size, 0);
  t.end();
});

t.test('the default configuration watches both IMDS addresses on port 80', (t) => {
  const rec = new Recorder();
  const table = new FlowTable(DEFAULT_FLOW_TABLE_CONFIG, rec, new Anomalies());
  table.process(new Conn().syn(), 0);
  table.process(new Conn({ clientIp: '2001:db8::1', serverIp: IMDS_V6 }).syn(), 0);
  t.equal(table.size, 2);
  t.end();
});

/** `bytes` cut at `cuts` into segments built by `make(offset, piece)`, plus some duplicates. */
function split(
  bytes: Buffer,
  cuts: number[],
  dups: number[],
  make: (offset: number, piece: Buffer) => TcpSegment,
): TcpSegment[] {
  const bounds = [0, ...cuts.filter((c) => c < bytes.length).sort((a, b) => a - b), bytes.length];
  const segs: TcpSegment[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const a = bounds[i] ?? 0;
    const b = bounds[i + 1] ?? 0;
    if (b > a) segs.push(make(a, bytes.subarray(a, b)));
  }
  for (const d of dups) {
    const dup = segs[d % segs.length];
    if (dup !== undefined) segs.push(dup);
  }
  return segs;
}

t.test(
  'property: both directions shuffled and duplicated, FINs anywhere: exact streams, then end',
  (t) => {
    const side = fc.record({
      bytes: fc
        .uint8Array({ minLength: 1, maxLength: 800, size: 'max' })
        .map((u) => Buffer.from(u)),
      cuts: fc.array(fc.nat({ max: 800 }), { maxLength: 30, size: 'medium' }),
      dups: fc.array(fc.nat(), { maxLength: 5 }),
    });
    const isn = fc.oneof(
      fc.integer({ min: 0xfffffc00, max: 0xffffffff }),
      fc.nat({ max: 0xffffffff }),
    );
    const scenario = fc
      .record({ req: side, res: side, clientIsn: isn, serverIsn: isn })
      .chain(({ req, res, clientIsn, serverIsn }) => {
        const conn = new Conn({ clientIsn, serverIsn });
        // Segments acknowledge only the handshake, so no ACK tells the table a hole was lost.
        const segs = [
          ...split(req.bytes, req.cuts, req.dups, (o, piece) => conn.c(o, piece)),
          ...split(res.bytes, res.cuts, res.dups, (o, piece) => conn.s(o, piece)),
          conn.c(req.bytes.length, '', TCP_FIN | TCP_ACK),
          conn.s(res.bytes.length, '', TCP_FIN | TCP_ACK),
        ];
        return fc.record({
          conn: fc.constant(conn),
          req: fc.constant(req.bytes),
          res: fc.constant(res.bytes),
          order: fc.shuffledSubarray(segs, { minLength: segs.length, maxLength: segs.length }),
        });
      });
    fc.assert(
      fc.property(scenario, ({ conn, req, res, order }) => {
        const { rec, feed, table } = setup();
        feed([...conn.handshake(), ...order]);
        const trace = rec.trace();
        return (
          rec.bytes('C1', 'request').equals(req) &&
          rec.bytes('C1', 'response').equals(res) &&
          trace.at(-1) === 'end C1 fin' &&
          trace.filter((e) => e.startsWith('end')).length === 1 &&
          !trace.some((e) => e.startsWith('gap')) &&
          table.size === 0
        );
      }),
      { numRuns: 200 },
    );
    t.pass('200 shuffled connections');
    t.end();
  },
);

t.test('a SYN with data is allowed (TCP Fast Open)', (t) => {
  const { rec, feed } = setup();
  const conn = new Conn();
  const synData = { ...conn.syn(), payload: Buffer.from('GET / HTTP/1.1\r\n') };
  feed([synData, conn.synAck(), conn.c(16, '\r\n')]);
  t.equal(rec.stream('C1', 'request'), 'GET / HTTP/1.1\r\n\r\n');
  t.equal(rec.flows()[0]?.sawSyn, true);
  t.end();
});
