import t from 'tap';
import { ipv4Text, ipv6Text } from '../../src/decode/ip-text.js';
import { ipv6Bytes } from '../helpers/packets.js';

t.test('IPv6 text is RFC 5952 canonical', (t) => {
  const cases: [string, string][] = [
    ['fd00:0ec2:0000:0000:0000:0000:0000:0254', 'fd00:ec2::254'],
    ['FD00:EC2::254', 'fd00:ec2::254'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run wins
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
  ];
  for (const [input, want] of cases) t.equal(ipv6Text(ipv6Bytes(input), 0), want, input);
  t.end();
});

t.test('IPv4 text is a dotted quad', (t) => {
  t.equal(ipv4Text(Buffer.from([0, 169, 254, 169, 254]), 1), '169.254.169.254');
  t.end();
});
