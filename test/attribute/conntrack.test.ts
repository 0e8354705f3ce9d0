import t from 'tap';
import { canonicalIpv6, parseConntrack, preNatTuple } from '../../src/attribute/conntrack.js';

const TABLE = `ipv4     2 tcp      6 117 ESTABLISHED src=198.51.100.2 dst=169.254.169.254 sport=40000 dport=80 src=169.254.169.254 dst=192.0.2.2 sport=80 dport=40000 [ASSURED] mark=0 zone=0 use=2
ipv4     2 udp      17 20 src=192.0.2.2 dst=192.0.2.1 sport=5353 dport=53 src=192.0.2.1 dst=192.0.2.2 sport=53 dport=5353 mark=0 zone=0 use=2
ipv4     2 tcp      6 119 SYN_SENT src=192.0.2.2 dst=169.254.169.254 sport=41000 dport=80 [UNREPLIED] src=169.254.169.254 dst=192.0.2.2 sport=80 dport=41000 mark=0 zone=0 use=2
ipv6     10 tcp      6 117 ESTABLISHED src=2001:0db8:0000:0000:0000:0000:0000:0064 dst=fd00:0ec2:0000:0000:0000:0000:0000:0254 sport=42000 dport=80 src=fd00:0ec2:0000:0000:0000:0000:0000:0254 dst=2001:0db8:0000:0000:0000:0000:0000:0002 sport=80 dport=43000 [ASSURED] mark=0 zone=0 use=2
broken
`;

t.test('TCP entries with both tuples; other protocols skipped', (t) => {
  const e = parseConntrack(TABLE);
  t.equal(e.length, 3);
  t.same(e[0]?.original, {
    src: { ip: '198.51.100.2', port: 40000 },
    dst: { ip: '169.254.169.254', port: 80 },
  });
  t.same(e[0]?.reply.dst, { ip: '192.0.2.2', port: 40000 });
  t.same(
    e[2]?.original.src,
    { ip: '2001:db8::64', port: 42000 },
    'zero-padded IPv6 made canonical',
  );
  t.end();
});

t.test('a post-NAT flow maps back to the pre-NAT client', (t) => {
  const e = parseConntrack(TABLE);
  const server = { ip: '169.254.169.254', port: 80 };
  t.same(preNatTuple(e, { ip: '192.0.2.2', port: 40000 }, server)?.src, {
    ip: '198.51.100.2',
    port: 40000,
  });
  t.equal(preNatTuple(e, { ip: '192.0.2.2', port: 41000 }, server), undefined, 'not NATed');
  t.equal(preNatTuple(e, { ip: '192.0.2.9', port: 40000 }, server), undefined, 'no entry');
  t.same(
    preNatTuple(e, { ip: '2001:db8::2', port: 43000 }, { ip: 'fd00:ec2::254', port: 80 })?.src,
    { ip: '2001:db8::64', port: 42000 },
    'IPv6 NAT with port rewrite',
  );
  t.end();
});

t.test('IPv6 spellings', (t) => {
  t.equal(canonicalIpv6('FD00:0EC2:0:0:0:0:0:254'), 'fd00:ec2::254');
  t.equal(canonicalIpv6('::1'), '::1');
  t.equal(canonicalIpv6('1:2:3:4:5:6:7'), undefined);
  t.equal(canonicalIpv6('1::2::3'), undefined);
  t.equal(canonicalIpv6('g::1'), undefined);
  t.end();
});
