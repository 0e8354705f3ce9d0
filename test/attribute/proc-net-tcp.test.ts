import t from 'tap';
import {
  findClientSocket,
  parseHexEndpoint,
  parseProcNetTcp,
} from '../../src/attribute/proc-net-tcp.js';

// Rows as a little-endian x86 kernel prints them.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0
   1: 0202000A:9C40 FEA9FEA9:0050 01 00000000:00000000 00:00000000 00000000  1000        0 2222 1 0000000000000000 20 4 30 10 -1
   2: 0202000A:9C41 FEA9FEA9:0050 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
   3: garbage line
`;

const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000202000A:A000 0000000000000000FFFF0000FEA9FEA9:0050 01 00000000:00000000 00:00000000 00000000    33        0 3333 1 0000000000000000 20 4 0 10 -1
   1: B80D0120000000000000000002000000:A001 C20E00FD000000000000000054020000:0050 01 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 20 4 0 10 -1
`;

t.test('IPv4 rows: words are little-endian, ports big hex', (t) => {
  const rows = parseProcNetTcp(TCP, 'ipv4', true);
  t.equal(rows.length, 3, 'header and malformed lines skipped');
  t.same(rows[1], {
    family: 'ipv4',
    local: { ip: '10.0.2.2', port: 40000 },
    remote: { ip: '169.254.169.254', port: 80 },
    state: 1,
    uid: 1000,
    inode: 2222,
  });
  t.equal(rows[2]?.state, 6, 'TIME_WAIT');
  t.equal(rows[2]?.inode, 0);
  t.end();
});

t.test('a big-endian kernel prints the same address without word swapping', (t) => {
  t.same(parseHexEndpoint('0A000202:9C40', false), { ip: '10.0.2.2', port: 40000 });
  t.same(parseHexEndpoint('0202000A:9C40', true), { ip: '10.0.2.2', port: 40000 });
  t.equal(parseHexEndpoint('0202000A', true), undefined);
  t.equal(parseHexEndpoint('02020:0050', true), undefined);
  t.end();
});

t.test('IPv6 rows: four little-endian words, IPv4-mapped kept as ::ffff:a.b.c.d', (t) => {
  const rows = parseProcNetTcp(TCP6, 'ipv6', true);
  t.equal(rows.length, 2);
  t.same(rows[0]?.local, { ip: '::ffff:10.0.2.2', port: 40960 });
  t.same(rows[0]?.remote, { ip: '::ffff:169.254.169.254', port: 80 });
  t.equal(rows[0]?.uid, 33);
  t.same(rows[1]?.local, { ip: '2001:db8::2', port: 40961 });
  t.same(rows[1]?.remote, { ip: 'fd00:ec2::254', port: 80 });
  t.end();
});

t.test('the client socket of a flow is found by its tuple, mapped or not', (t) => {
  const v4 = parseProcNetTcp(TCP, 'ipv4', true);
  const v6 = parseProcNetTcp(TCP6, 'ipv6', true);
  const server = { ip: '169.254.169.254', port: 80 };
  t.equal(findClientSocket(v4, { ip: '10.0.2.2', port: 40000 }, server)?.inode, 2222);
  t.equal(findClientSocket(v4, { ip: '10.0.2.2', port: 40001 }, server)?.state, 6);
  t.equal(findClientSocket(v4, { ip: '10.0.2.3', port: 40000 }, server), undefined);
  t.equal(
    findClientSocket(v4, { ip: '10.0.2.2', port: 40000 }, { ip: '169.254.169.254', port: 8080 }),
    undefined,
  );
  t.equal(
    findClientSocket(v6, { ip: '10.0.2.2', port: 40960 }, server)?.inode,
    3333,
    'dual-stack socket',
  );
  t.equal(
    findClientSocket(v6, { ip: '2001:db8::2', port: 40961 }, { ip: 'fd00:ec2::254', port: 80 })
      ?.inode,
    4444,
  );
  t.end();
});

t.test('a live socket wins over a TIME_WAIT leftover with the same tuple', (t) => {
  const rows = parseProcNetTcp(
    `sl local rem
   0: 0202000A:9C40 FEA9FEA9:0050 06 00000000:00000000 03:00001770 00000000     0        0 0 3
   1: 0202000A:9C40 FEA9FEA9:0050 02 00000000:00000000 00:00000000 00000000     7        0 5555 1
`,
    'ipv4',
    true,
  );
  t.equal(
    findClientSocket(rows, { ip: '10.0.2.2', port: 40000 }, { ip: '169.254.169.254', port: 80 })
      ?.inode,
    5555,
  );
  t.end();
});
