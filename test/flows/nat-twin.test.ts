import t from 'tap';
import { Anomalies } from '../../src/anomalies.js';
import { TCP_ACK, TCP_PSH } from '../../src/decode/segment.js';
import { FlowTable, NAT_TWIN_WINDOW_MS } from '../../src/flows/flow-table.js';
import { Conn, IMDS_V4, Recorder, TEST_CONFIG } from './segments.js';
import type { TcpSegment } from '../../src/decode/segment.js';

// On the `any` device a container's connection shows up twice: on the bridge/veth before
// MASQUERADE (container address) and on the uplink after it (host address, maybe another
// port). Sequence numbers are not rewritten.
const ISN_C = 0x8badf00d;
const ISN_S = 0x0ddba11;
const preNat = new Conn({
  clientIp: '192.0.2.2',
  clientPort: 45000,
  clientIsn: ISN_C,
  serverIsn: ISN_S,
});
const postNat = new Conn({
  clientIp: '198.51.100.20',
  clientPort: 61234,
  clientIsn: ISN_C,
  serverIsn: ISN_S,
});
const REQ = 'GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\n\r\n';

function setup() {
  const rec = new Recorder();
  const anomalies = new Anomalies();
  const table = new FlowTable(TEST_CONFIG, rec, anomalies);
  const feed = (segs: TcpSegment[], timeMs: number) => {
    for (const s of segs) table.process(s, timeMs);
  };
  return { rec, anomalies, table, feed };
}

t.test('the post-NAT copy of a connection is marked as twin of the pre-NAT one', (t) => {
  const { rec, anomalies, table, feed } = setup();
  // Interleaved as the kernel emits them: each packet on the veth, then on the uplink.
  for (const [a, b] of [
    [preNat.syn(), postNat.syn()],
    [postNat.synAck(), preNat.synAck()],
    [preNat.c(0, REQ, TCP_ACK | TCP_PSH), postNat.c(0, REQ, TCP_ACK | TCP_PSH)],
  ] as [TcpSegment, TcpSegment][]) {
    feed([a], 1000);
    feed([b], 1000.05);
  }
  const [first, second] = rec.flows();
  t.equal(first?.client.ip, '192.0.2.2');
  t.equal(first?.twinOf, undefined);
  t.equal(second?.client.ip, '198.51.100.20');
  t.equal(second?.twinOf, 'C1');
  t.equal(second?.server.ip, IMDS_V4);
  t.equal(anomalies.get('flows.nat_twin'), 1);
  t.equal(table.stats().natTwins, 1);
  // Both are still tracked as flows of their own (each tuple's bytes go to its own flow).
  t.equal(rec.stream('C1', 'request'), REQ);
  t.equal(rec.stream('C2', 'request'), REQ);
  t.end();
});

t.test('a third copy (e.g. on docker0 and the veth) points at the first flow', (t) => {
  const { rec, feed } = setup();
  const bridge = new Conn({
    clientIp: '192.0.2.2',
    clientPort: 45000,
    clientIsn: ISN_C,
    serverIp: IMDS_V4,
  });
  feed([preNat.syn()], 0);
  feed([postNat.syn()], 1);
  // same tuple as preNat: a SYN retransmission, not a new flow
  feed([bridge.syn()], 2);
  t.same(
    rec.flows().map((f) => f.twinOf),
    [undefined, 'C1'],
  );
  feed([new Conn({ clientIp: '198.51.100.21', clientPort: 1, clientIsn: ISN_C }).syn()], 3);
  t.equal(rec.flows()[2]?.twinOf, 'C1');
  t.end();
});

t.test('different ISN, different server or too late: not a twin', (t) => {
  const { rec, anomalies, feed } = setup();
  feed([preNat.syn()], 0);
  feed([new Conn({ clientIp: '198.51.100.20', clientIsn: ISN_C + 1 }).syn()], 10);
  feed(
    [new Conn({ clientIp: '198.51.100.21', clientIsn: ISN_C, serverIp: 'fd00:ec2::254' }).syn()],
    20,
  );
  feed([new Conn({ clientIp: '198.51.100.22', clientIsn: ISN_C }).syn()], NAT_TWIN_WINDOW_MS + 1);
  t.same(
    rec.flows().map((f) => f.twinOf),
    [undefined, undefined, undefined, undefined],
  );
  t.equal(anomalies.get('flows.nat_twin'), 0);
  t.end();
});

t.test('flows started mid-stream are never twins (no ISN known)', (t) => {
  const { rec, feed } = setup();
  feed([preNat.c(0, REQ)], 0);
  feed([postNat.c(0, REQ)], 1);
  t.same(
    rec.flows().map((f) => f.twinOf),
    [undefined, undefined],
  );
  t.end();
});

t.test('a copy first seen at its SYN-ACK is matched by the client ISN it acknowledges', (t) => {
  const { rec, feed } = setup();
  feed([preNat.syn()], 0);
  feed([postNat.synAck()], 1);
  t.equal(rec.flows()[1]?.twinOf, 'C1');
  t.end();
});
