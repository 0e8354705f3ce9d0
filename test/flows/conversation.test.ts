/**
 * Whole conversations as captured frames (test/helpers/packet-conversation.ts) through the real
 * decoder into the flow table: keep-alive exchanges, byte-by-byte, swapped and doubled
 * segments, mid-stream starts, RST closes, several link types.
 */
import t from 'tap';
import { Anomalies } from '../../src/anomalies.js';
import { decodeFrame } from '../../src/decode/link.js';
import { FlowTable } from '../../src/flows/flow-table.js';
import { conversation, type ConversationOptions } from '../helpers/packet-conversation.js';
import { IMDS_V4, IMDS_V6, Recorder, TEST_CONFIG } from './segments.js';

const exchanges = [
  {
    request: Buffer.from(
      'PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n',
    ),
    response: Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsecret!!'),
  },
  {
    request: Buffer.from('GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n'),
    response: Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nami-id'),
  },
  {
    request: Buffer.from('GET /latest/meta-data/instance-id HTTP/1.1\r\n\r\n'),
    response: Buffer.from('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n'),
  },
];
const wholeRequest = Buffer.concat(exchanges.map((e) => e.request));
const wholeResponse = Buffer.concat(exchanges.map((e) => e.response));

function run(o: Partial<ConversationOptions>) {
  const records = conversation({
    client: { ip: '192.0.2.2', port: 40000 },
    server: { ip: IMDS_V4, port: 80 },
    exchanges,
    ...o,
  });
  const rec = new Recorder();
  const anomalies = new Anomalies();
  const table = new FlowTable(TEST_CONFIG, rec, anomalies);
  for (const r of records) {
    const d = decodeFrame(r.linkType, r.data);
    if (d.kind === 'tcp') table.process(d.segment, r.timeMs);
  }
  return { rec, anomalies, table };
}

const cases: [string, Partial<ConversationOptions>][] = [
  ['plain keep-alive connection', {}],
  ['byte by byte', { segmentSize: 1 }],
  ['swapped segments', { segmentSize: 7, reorder: true }],
  ['every segment twice', { segmentSize: 5, retransmit: true }],
  ['swapped and some doubled', { segmentSize: 3, reorder: true, retransmit: (i) => i % 3 === 0 }],
  ['sequence numbers wrapping', { clientIsn: 0xffffffd0, serverIsn: 0xfffffffe, segmentSize: 9 }],
  ['Linux cooked v2 capture', { link: { type: 'sll2' } }],
  ['VLAN-tagged Ethernet', { link: { type: 'ethernet', vlans: [{ id: 42 }] } }],
  ['IPv6', { client: { ip: '2001:db8::2', port: 40000 }, server: { ip: IMDS_V6, port: 80 } }],
];

for (const [name, options] of cases) {
  t.test(name, (t) => {
    const { rec, table } = run(options);
    t.equal(rec.flows().length, 1);
    t.equal(rec.flows()[0]?.sawSyn, true);
    t.ok(rec.bytes('C1', 'request').equals(wholeRequest), 'request stream');
    t.ok(rec.bytes('C1', 'response').equals(wholeResponse), 'response stream');
    t.same(rec.ends(), [{ flowId: 'C1', reason: 'fin' }]);
    t.equal(table.size, 0);
    t.end();
  });
}

t.test('doubled segments are counted as retransmissions', (t) => {
  const { anomalies } = run({ segmentSize: 5, retransmit: true });
  const segments = exchanges.reduce(
    (n, e) => n + Math.ceil(e.request.length / 5) + Math.ceil(e.response.length / 5),
    0,
  );
  t.equal(anomalies.get('flows.retransmission'), segments);
  t.end();
});

t.test('mid-stream capture without close: data flows, shutdown ends it', (t) => {
  const { rec, table } = run({ handshake: false, close: 'none', segmentSize: 10 });
  t.equal(rec.flows()[0]?.sawSyn, false);
  t.ok(rec.bytes('C1', 'request').equals(wholeRequest));
  t.ok(rec.bytes('C1', 'response').equals(wholeResponse));
  t.equal(table.size, 1);
  table.shutdown(0);
  t.same(rec.ends(), [{ flowId: 'C1', reason: 'shutdown' }]);
  t.end();
});

t.test('mid-stream, first two segments swapped: the stream starts at the first one seen', (t) => {
  // Without a SYN nothing says where the stream began; bytes before the first segment seen
  // arrive "in the past" and cannot be delivered any more (the HTTP stage sees sawSyn=false).
  const { rec, anomalies } = run({
    handshake: false,
    close: 'none',
    segmentSize: 10,
    reorder: true,
  });
  t.ok(rec.bytes('C1', 'request').equals(wholeRequest.subarray(10)));
  t.ok(
    rec.bytes('C1', 'response').equals(wholeResponse),
    'the response starts at the ACK the client sent',
  );
  t.equal(anomalies.get('flows.retransmission'), 1);
  t.end();
});

t.test('closed by RST', (t) => {
  const { rec } = run({ close: 'rst' });
  t.ok(rec.bytes('C1', 'response').equals(wholeResponse));
  t.same(rec.ends(), [{ flowId: 'C1', reason: 'rst' }]);
  t.end();
});
