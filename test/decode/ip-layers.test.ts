import t from 'tap';
import { decodeFrame } from '../../src/decode/link.js';
import { TCP_ACK } from '../../src/decode/segment.js';
import { ipTcp, linkFrame, type Ipv6ExtensionHeader } from '../helpers/packets.js';

const client = { ip: '192.0.2.2', port: 40000 };
const imds = { ip: '169.254.169.254', port: 80 };
const client6 = { ip: '2001:db8::2', port: 40001 };
const imds6 = { ip: 'fd00:ec2::254', port: 80 };
const payload = Buffer.from('PUT /latest/api/token HTTP/1.1\r\n\r\n');

t.test('IPv6 extension header chains are walked to TCP', (t) => {
  const chains: Ipv6ExtensionHeader[][] = [
    [{ type: 'hop-by-hop' }],
    [{ type: 'destination', extraUnits: 2 }],
    [{ type: 'routing' }],
    [{ type: 'ah' }],
    [{ type: 'fragment' }], // atomic fragment: offset 0, no more fragments
    [
      { type: 'hop-by-hop', extraUnits: 1 },
      { type: 'routing' },
      { type: 'fragment' },
      { type: 'ah' },
      { type: 'destination' },
    ],
  ];
  for (const extensionHeaders of chains) {
    const data = ipTcp({ src: client6, dst: imds6, payload, extensionHeaders });
    const r = decodeFrame(229, data);
    t.equal(r.kind, 'tcp', extensionHeaders.map((e) => e.type).join(','));
    if (r.kind === 'tcp') t.same(r.segment.payload, payload);
  }
  t.end();
});

t.test('IPv6 fragments of TCP are counted, of other protocols ignored', (t) => {
  const first = ipTcp({
    src: client6,
    dst: imds6,
    payload,
    extensionHeaders: [{ type: 'fragment', moreFragments: true }],
  });
  t.same(decodeFrame(229, first), { kind: 'malformed', reason: 'decode.ipv6_fragment' });
  const later = ipTcp({
    src: client6,
    dst: imds6,
    payload,
    extensionHeaders: [{ type: 'hop-by-hop' }, { type: 'fragment', fragmentOffset: 3 }],
  });
  t.same(decodeFrame(229, later), { kind: 'malformed', reason: 'decode.ipv6_fragment' });
  const udp = ipTcp({
    src: client6,
    dst: imds6,
    protocol: 17,
    extensionHeaders: [{ type: 'fragment', fragmentOffset: 3 }],
  });
  t.same(decodeFrame(229, udp), { kind: 'ignored', reason: 'decode.not_tcp' });
  t.end();
});

t.test('IPv6 header problems are named', (t) => {
  const good = ipTcp({ src: client6, dst: imds6, payload });
  const badVersion = Buffer.from(good);
  badVersion[0] = 0x40;
  t.same(decodeFrame(229, badVersion), { kind: 'malformed', reason: 'decode.ipv6_bad_version' });
  const longer = Buffer.from(good);
  longer.writeUInt16BE(good.length, 4); // claims 40 bytes more than there are
  t.same(decodeFrame(229, longer), { kind: 'malformed', reason: 'decode.truncated_ipv6' });
  const jumbo = ipTcp({ src: client6, dst: imds6, extensionHeaders: [{ type: 'hop-by-hop' }] });
  jumbo.writeUInt16BE(0, 4);
  t.same(decodeFrame(229, jumbo), { kind: 'malformed', reason: 'decode.ipv6_jumbogram' });
  const many = ipTcp({
    src: client6,
    dst: imds6,
    extensionHeaders: Array.from({ length: 20 }, () => ({ type: 'destination' as const })),
  });
  t.same(decodeFrame(229, many), {
    kind: 'malformed',
    reason: 'decode.ipv6_too_many_extension_headers',
  });
  const hugeExt = ipTcp({ src: client6, dst: imds6, extensionHeaders: [{ type: 'hop-by-hop' }] });
  hugeExt[41] = 200; // hop-by-hop claims 1608 bytes
  t.same(decodeFrame(229, hugeExt), {
    kind: 'malformed',
    reason: 'decode.ipv6_truncated_extension_header',
  });
  t.end();
});

t.test('IPv4 header problems are named', (t) => {
  const good = ipTcp({ src: client, dst: imds, payload });
  const mutate = (f: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    f(b);
    return decodeFrame(228, b);
  };
  t.same(
    mutate((b) => (b[0] = 0x44)),
    { kind: 'malformed', reason: 'decode.ipv4_bad_header_length' },
  );
  t.same(
    mutate((b) => (b[0] = 0x65)),
    { kind: 'malformed', reason: 'decode.ipv4_bad_version' },
  );
  t.same(
    mutate((b) => b.writeUInt16BE(19, 2)),
    { kind: 'malformed', reason: 'decode.ipv4_bad_total_length' },
  );
  t.same(
    mutate((b) => b.writeUInt16BE(good.length + 1, 2)),
    { kind: 'malformed', reason: 'decode.truncated_ipv4' },
  );
  t.same(
    mutate((b) => (b[32] = 0x40)),
    { kind: 'malformed', reason: 'decode.tcp_bad_data_offset' },
  ); // 64 > segment
  t.same(
    mutate((b) => (b[32] = 0x40 >> 2)),
    { kind: 'malformed', reason: 'decode.tcp_bad_data_offset' },
  ); // 4 < 20
  const frag = ipTcp({ src: client, dst: imds, payload, ipMoreFragments: true });
  t.same(decodeFrame(228, frag), { kind: 'malformed', reason: 'decode.ipv4_fragment' });
  const later = ipTcp({ src: client, dst: imds, payload, ipFragmentOffset: 100 });
  t.same(decodeFrame(228, later), { kind: 'malformed', reason: 'decode.ipv4_fragment' });
  t.end();
});

t.test('IPv4 and TCP options are skipped', (t) => {
  const data = ipTcp({
    src: client,
    dst: imds,
    payload,
    flags: TCP_ACK,
    ipOptions: Buffer.from([0x94, 0x04, 0, 0]), // router alert
    tcpOptions: Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]), // NOP NOP timestamps
  });
  const r = decodeFrame(228, data);
  t.equal(r.kind, 'tcp');
  if (r.kind === 'tcp') t.same(r.segment.payload, payload);
  t.end();
});

t.test('every truncation of every frame shape is malformed, never tcp, never a throw', (t) => {
  const frames: [number, Buffer][] = [
    [
      1,
      linkFrame(
        { type: 'ethernet', vlans: [{ id: 1, tpid: 0x88a8 }, { id: 2 }] },
        ipTcp({ src: client, dst: imds, payload }),
      ),
    ],
    [
      113,
      linkFrame(
        { type: 'sll' },
        ipTcp({
          src: client6,
          dst: imds6,
          payload,
          extensionHeaders: [{ type: 'hop-by-hop' }, { type: 'ah' }],
        }),
      ),
    ],
    [276, linkFrame({ type: 'sll2' }, ipTcp({ src: client, dst: imds, payload }))],
    [0, linkFrame({ type: 'null' }, ipTcp({ src: client6, dst: imds6, payload }))],
    [101, ipTcp({ src: client, dst: imds, payload, tcpOptions: Buffer.alloc(8, 1) })],
  ];
  for (const [linkType, data] of frames) {
    t.equal(decodeFrame(linkType, data).kind, 'tcp');
    let bad = 0;
    for (let len = 0; len < data.length; len++) {
      const r = decodeFrame(linkType, data.subarray(0, len));
      if (r.kind !== 'malformed') bad += 1;
    }
    t.equal(bad, 0, `link type ${linkType}: all ${data.length} shorter cuts are malformed`);
  }
  t.end();
});
