import t from 'tap';
import { findLsofClient, lsofArgs, lsofOnlyFacts, parseLsofF } from '../../src/attribute/lsof.js';

// `lsof -nP -w -F pcuLRfn -iTCP@169.254.169.254:80` as lsof 4.95 prints it.
const OUT = `p4321
cpython3
R4300
u0
Lroot
f3
n192.0.2.2:40000->169.254.169.254:80
f5
n192.0.2.2:40002->169.254.169.254:80
p5555
ccurl
R1
u65534
Lnobody
f5
n[2001:db8::2]:41000->[fd00:ec2::254]:80
f6
n*:8080
`;

t.test('-F output: process sets with their connected sockets', (t) => {
  const s = parseLsofF(OUT);
  t.equal(s.length, 3, 'the listening socket has no peer and is skipped');
  t.same(s[0], {
    pid: 4321,
    command: 'python3',
    uid: 0,
    login: 'root',
    ppid: 4300,
    fd: '3',
    local: { ip: '192.0.2.2', port: 40000 },
    remote: { ip: '169.254.169.254', port: 80 },
  });
  t.equal(s[1]?.fd, '5');
  t.same(s[2]?.local, { ip: '2001:db8::2', port: 41000 });
  t.equal(s[2]?.login, 'nobody');
  t.end();
});

t.test('the client tuple picks the right process', (t) => {
  const s = parseLsofF(OUT);
  const server = { ip: '169.254.169.254', port: 80 };
  t.equal(findLsofClient(s, { ip: '192.0.2.2', port: 40002 }, server)?.pid, 4321);
  t.equal(
    findLsofClient(s, { ip: '2001:db8::2', port: 41000 }, { ip: 'fd00:ec2::254', port: 80 })?.pid,
    5555,
  );
  t.equal(findLsofClient(s, { ip: '192.0.2.2', port: 40001 }, server), undefined);
  const f = lsofOnlyFacts(s[2] ?? (undefined as never));
  t.equal(f.pid, 5555);
  t.equal(f.userName, 'nobody');
  t.same(f.parent, { pid: 1, name: '' });
  t.end();
});

t.test('arguments: numeric, -F fields, IPv6 in brackets', (t) => {
  t.same(lsofArgs({ ip: '169.254.169.254', port: 80 }), [
    '-nP',
    '-w',
    '-F',
    'pcuLRfn',
    '-iTCP@169.254.169.254:80',
  ]);
  t.equal(lsofArgs({ ip: 'fd00:ec2::254', port: 80 }).at(-1), '-iTCP@[fd00:ec2::254]:80');
  t.same(parseLsofF('garbage\nn1.2.3.4:5->6.7.8.9:10\n'), [], 'no p line: nothing');
  t.end();
});
