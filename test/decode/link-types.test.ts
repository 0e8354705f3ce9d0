import t from 'tap';
import { decodeFrame } from '../../src/decode/link.js';
import { TCP_ACK, TCP_PSH, TCP_SYN, type DecodeResult } from '../../src/decode/segment.js';
import { frame, ipTcp, linkFrame, type LinkSpec } from '../helpers/packets.js';

const client = { ip: '192.0.2.2', port: 40000 };
const imds = { ip: '169.254.169.254', port: 80 };
const client6 = { ip: '2001:db8::2', port: 40001 };
const imds6 = { ip: 'fd00:ec2::254', port: 80 };
const request = Buffer.from('GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n');

function segmentOf(r: DecodeResult) {
  if (r.kind !== 'tcp') throw new Error(`expected tcp, got ${r.kind} ${r.reason}`);
  return r.segment;
}

const links: [string, LinkSpec, number][] = [
  ['ethernet', { type: 'ethernet' }, 1],
  ['ethernet 802.1Q', { type: 'ethernet', vlans: [{ id: 10 }] }, 1],
  ['ethernet QinQ', { type: 'ethernet', vlans: [{ id: 5, tpid: 0x88a8 }, { id: 10 }] }, 1],
  [
    'ethernet 0x9100 + 802.1Q',
    { type: 'ethernet', vlans: [{ id: 5, tpid: 0x9100 }, { id: 7 }] },
    1,
  ],
  ['linux sll', { type: 'sll' }, 113],
  ['linux sll with re-inserted tag', { type: 'sll', vlans: [{ id: 3 }] }, 113],
  ['linux sll2', { type: 'sll2' }, 276],
  ['raw 101', { type: 'raw' }, 101],
  ['raw 12', { type: 'raw', linkType: 12 }, 12],
  ['raw 14', { type: 'raw', linkType: 14 }, 14],
  ['null little-endian', { type: 'null', byteOrder: 'LE' }, 0],
  ['null big-endian', { type: 'null', byteOrder: 'BE' }, 0],
  ['null macOS AF_INET6', { type: 'null', byteOrder: 'LE', af6: 30 }, 0],
  ['loop', { type: 'loop' }, 108],
  ['bare ip', { type: 'ip' }, -1],
];

for (const [name, link, linkType] of links) {
  t.test(`${name}: IPv4 and IPv6 TCP decode to the same segment`, (t) => {
    const v4 = frame(
      link,
      ipTcp({
        src: client,
        dst: imds,
        seq: 7,
        ack: 9,
        flags: TCP_ACK | TCP_PSH,
        payload: request,
        ttl: 63,
      }),
    );
    const v6 = frame(
      link,
      ipTcp({ src: client6, dst: imds6, seq: 0xfffffff0, flags: TCP_SYN, ttl: 1 }),
    );
    if (linkType >= 0) t.equal(v4.linkType, linkType);
    const s4 = segmentOf(decodeFrame(v4.linkType, v4.data));
    t.match(s4, {
      family: 'ipv4',
      srcIp: '192.0.2.2',
      dstIp: '169.254.169.254',
      srcPort: 40000,
      dstPort: 80,
      seq: 7,
      ack: 9,
      flags: TCP_ACK | TCP_PSH,
      ttl: 63,
    });
    t.same(s4.payload, request);
    const s6 = segmentOf(decodeFrame(v6.linkType, v6.data));
    t.match(s6, {
      family: 'ipv6',
      srcIp: '2001:db8::2',
      dstIp: 'fd00:ec2::254',
      srcPort: 40001,
      seq: 0xfffffff0,
      flags: TCP_SYN,
      ttl: 1,
    });
    t.equal(s6.payload.length, 0);
    t.end();
  });
}

t.test('payload is a view into the frame, not a copy', (t) => {
  const f = frame({ type: 'ethernet' }, ipTcp({ src: client, dst: imds, payload: request }));
  const s = segmentOf(decodeFrame(f.linkType, f.data));
  t.equal(s.payload.buffer, f.data.buffer);
  t.end();
});

t.test('Ethernet padding is cut off by the IP length', (t) => {
  const tiny = Buffer.from('G');
  for (const packet of [
    ipTcp({ src: client, dst: imds, payload: tiny }),
    ipTcp({ src: client, dst: imds }),
  ]) {
    const f = linkFrame({ type: 'ethernet', padTo: 60 }, packet);
    t.equal(f.length, 60);
    const s = segmentOf(decodeFrame(1, f));
    t.equal(s.payload.length, packet.length - 40);
  }
  const sll = linkFrame(
    { type: 'sll', padTo: 80 },
    ipTcp({ src: client6, dst: imds6, payload: tiny }),
  );
  t.same(segmentOf(decodeFrame(113, sll)).payload, tiny);
  t.end();
});

t.test('non-IP and non-TCP are ignored with a reason', (t) => {
  const arp = linkFrame({ type: 'ethernet' }, Buffer.alloc(28), 0x0806);
  t.same(decodeFrame(1, arp), { kind: 'ignored', reason: 'decode.not_ip' });
  const udp = linkFrame({ type: 'ethernet' }, ipTcp({ src: client, dst: imds, protocol: 17 }));
  t.same(decodeFrame(1, udp), { kind: 'ignored', reason: 'decode.not_tcp' });
  const udp6 = linkFrame(
    { type: 'ethernet', vlans: [{ id: 2 }] },
    ipTcp({ src: client6, dst: imds6, protocol: 17 }),
  );
  t.same(decodeFrame(1, udp6), { kind: 'ignored', reason: 'decode.not_tcp' });
  t.end();
});

t.test('malformed link layers are named', (t) => {
  t.same(decodeFrame(127, Buffer.alloc(100)), {
    kind: 'malformed',
    reason: 'decode.unknown_linktype',
  });
  t.same(decodeFrame(1, Buffer.alloc(13)), {
    kind: 'malformed',
    reason: 'decode.truncated_ethernet',
  });
  t.same(decodeFrame(113, Buffer.alloc(15)), { kind: 'malformed', reason: 'decode.truncated_sll' });
  t.same(decodeFrame(276, Buffer.alloc(19)), {
    kind: 'malformed',
    reason: 'decode.truncated_sll2',
  });
  t.same(decodeFrame(0, Buffer.alloc(3)), { kind: 'malformed', reason: 'decode.truncated_null' });
  t.same(decodeFrame(0, Buffer.from([0, 0, 0, 99, 0x45])), {
    kind: 'malformed',
    reason: 'decode.unknown_address_family',
  });
  t.same(decodeFrame(101, Buffer.from([0x55, 0, 0])), {
    kind: 'malformed',
    reason: 'decode.raw_unknown_version',
  });
  const nineTags = linkFrame(
    { type: 'ethernet', vlans: Array.from({ length: 9 }, (_, i) => ({ id: i })) },
    ipTcp({ src: client, dst: imds }),
  );
  t.same(decodeFrame(1, nineTags), { kind: 'malformed', reason: 'decode.too_many_vlan_tags' });
  const cutTag = linkFrame(
    { type: 'ethernet', vlans: [{ id: 1 }] },
    Buffer.alloc(0),
    0x0800,
  ).subarray(0, 16);
  t.same(decodeFrame(1, cutTag), { kind: 'malformed', reason: 'decode.truncated_vlan' });
  t.end();
});
