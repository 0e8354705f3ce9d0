import t from 'tap';
import { communityIdV1, ipToBytes } from '../../src/flows/community-id.js';

// Vectors from corelight/community-id-spec baseline/baseline_deflt.json (seed 0) and
// baseline_seed1.json (seed 1), plus Zeek's community_id_v1 test.
const TCP = 6;
const UDP = 17;
const vectors: [string, number, string, number, number, number, string][] = [
  ['128.232.110.120', 34855, '66.35.250.204', 80, TCP, 0, '1:LQU9qZlK+B5F3KDmev6m5PMibrg='],
  ['66.35.250.204', 80, '128.232.110.120', 34855, TCP, 0, '1:LQU9qZlK+B5F3KDmev6m5PMibrg='],
  ['128.232.110.120', 34855, '66.35.250.204', 80, TCP, 1, '1:3V71V58M3Ksw/yuFALMcW0LAHvc='],
  ['1.2.3.4', 1122, '5.6.7.8', 3344, TCP, 0, '1:wCb3OG7yAFWelaUydu0D+125CLM='],
  [
    '2001:470:e5bf:dead:4957:2174:e82c:4887',
    63943,
    '2607:f8b0:400c:c03::1a',
    25,
    TCP,
    0,
    '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=',
  ],
  [
    '2607:f8b0:400c:c03::1a',
    25,
    '2001:470:e5bf:dead:4957:2174:e82c:4887',
    63943,
    TCP,
    0,
    '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=',
  ],
  [
    '2001:470:e5bf:dead:4957:2174:e82c:4887',
    63943,
    '2607:f8b0:400c:c03::1a',
    25,
    TCP,
    1,
    '1:eJYTW6AOzFLlSUoESovMjnu7rMw=',
  ],
  ['192.168.1.52', 54585, '8.8.8.8', 53, UDP, 0, '1:d/FP5EW3wiY1vCndhwleRRKHowQ='],
  ['8.8.8.8', 53, '192.168.1.52', 54585, UDP, 0, '1:d/FP5EW3wiY1vCndhwleRRKHowQ='],
];

t.test('matches the published Community ID v1 vectors (both directions, IPv4 and IPv6)', (t) => {
  for (const [sip, sport, dip, dport, proto, seed, expected] of vectors) {
    t.equal(
      communityIdV1(sip, sport, dip, dport, proto, seed),
      expected,
      `${sip}:${sport} -> ${dip}:${dport}`,
    );
  }
  t.end();
});

t.test('TCP is the default protocol and seed 0 the default seed', (t) => {
  t.equal(
    communityIdV1('128.232.110.120', 34855, '66.35.250.204', 80),
    '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
  );
  t.end();
});

t.test('equal addresses are ordered by port', (t) => {
  const a = communityIdV1('192.0.2.1', 1234, '192.0.2.1', 80);
  t.equal(communityIdV1('192.0.2.1', 80, '192.0.2.1', 1234), a);
  t.not(communityIdV1('192.0.2.1', 1235, '192.0.2.1', 80), a);
  t.end();
});

t.test('unparseable or mixed-family addresses give the empty id', (t) => {
  t.equal(communityIdV1('192.0.2.256', 1, '192.0.2.1', 80), '');
  t.equal(communityIdV1('not-an-ip', 1, '192.0.2.1', 80), '');
  t.equal(communityIdV1('2001:db8::1', 1, '192.0.2.1', 80), '');
  t.equal(communityIdV1('2001:db8::1::2', 1, '2001:db8::2', 80), '');
  t.end();
});

t.test('parses IPv4 and IPv6 text forms to network-order bytes', (t) => {
  t.equal(ipToBytes('169.254.169.254')?.toString('hex'), 'a9fea9fe');
  t.equal(ipToBytes('fd00:ec2::254')?.toString('hex'), 'fd000ec2000000000000000000000254');
  t.equal(ipToBytes('::')?.toString('hex'), '0'.repeat(32));
  t.equal(ipToBytes('::1')?.toString('hex'), '0'.repeat(31) + '1');
  t.equal(ipToBytes('2001:db8::')?.toString('hex'), '20010db8' + '0'.repeat(24));
  t.equal(ipToBytes('::ffff:192.0.2.1')?.toString('hex'), '00000000000000000000ffffc0000201');
  t.equal(ipToBytes('2001:DB8:0:0:0:0:0:1')?.toString('hex'), '20010db8000000000000000000000001');
  t.equal(ipToBytes('1:2:3:4:5:6:7:8:9'), undefined);
  t.equal(ipToBytes('1:2:3:4:5:6:7'), undefined);
  t.equal(ipToBytes('1:2:3:4::5:6:7:8'), undefined);
  t.equal(ipToBytes('12345::'), undefined);
  t.equal(ipToBytes('1.2.3'), undefined);
  t.end();
});
