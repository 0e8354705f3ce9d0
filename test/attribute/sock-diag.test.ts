/**
 * The sock_diag codec over bytes: requests laid out as the kernel's structs, replies decoded
 * from datagrams a Linux 6.x kernel sent (captured with the netlink addon, hex below).
 */
import t from 'tap';
import fc from 'fast-check';
import { decodeReplies, encodeProbe, encodeSocketLookup } from '../../src/attribute/sock-diag.js';

/** The kernel's answer for 127.0.0.1:39882 -> 127.0.0.1:41133, ESTABLISHED, inode 909562. */
const SOCKET_REPLY = Buffer.from(
  '7c000000140000000700000079330008020100009bcaa0ad7f00000100000000000000000000000' +
    '07f00000100000000000000000000000000000000650000000000000000000000000000000000000' +
    '000000000fae00d00050008000000000008000f00000000000c00150001000000000000000600160' +
    '052000000',
  'hex',
);
/** A dump's end, as the probe gets it (seq 1). */
const DONE_REPLY = Buffer.from('140000000300020001000000ce24000800000000', 'hex');

/** nlmsgerr for `seq`: error = -errno, then the request's own header. */
function errorReply(seq: number, errno: number): Buffer {
  const b = Buffer.alloc(36);
  b.writeUInt32LE(36, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt32LE(seq, 8);
  b.writeInt32LE(-errno, 16);
  b.writeUInt32LE(72, 20);
  b.writeUInt16LE(20, 24);
  return b;
}

t.test('an IPv4 lookup is an inet_diag_req_v2 for the exact tuple, no cookie', (t) => {
  const b = encodeSocketLookup(
    0x01020304,
    'ipv4',
    { ip: '192.0.2.2', port: 40000 },
    { ip: '169.254.169.254', port: 80 },
  );
  if (b === undefined) throw new Error('not encoded');
  t.equal(b.length, 72, 'nlmsghdr (16) + inet_diag_req_v2 (56)');
  t.equal(b.readUInt32LE(0), 72, 'nlmsg_len');
  t.equal(b.readUInt16LE(4), 20, 'SOCK_DIAG_BY_FAMILY');
  t.equal(b.readUInt16LE(6), 1, 'NLM_F_REQUEST only: one socket, not a dump');
  t.equal(b.readUInt32LE(8), 0x01020304, 'seq');
  t.equal(b[16], 2, 'AF_INET');
  t.equal(b[17], 6, 'IPPROTO_TCP');
  t.equal(b.readUInt16BE(24), 40000, 'sport: the client socket is the local end');
  t.equal(b.readUInt16BE(26), 80, 'dport');
  t.same([...b.subarray(28, 32)], [192, 0, 2, 2], 'src, network order');
  t.same([...b.subarray(44, 48)], [169, 254, 169, 254], 'dst, network order');
  t.equal(b.readUInt32LE(60), 0, 'any interface');
  t.equal(b.readUInt32LE(64), 0xffffffff, 'INET_DIAG_NOCOOKIE');
  t.equal(b.readUInt32LE(68), 0xffffffff, 'INET_DIAG_NOCOOKIE');
  t.end();
});

t.test('an IPv6 lookup carries 16-byte addresses', (t) => {
  const b = encodeSocketLookup(
    9,
    'ipv6',
    { ip: '2001:db8::2', port: 50000 },
    { ip: 'fd00:ec2::254', port: 80 },
  );
  if (b === undefined) throw new Error('not encoded');
  t.equal(b[16], 10, 'AF_INET6');
  t.equal(b.subarray(28, 44).toString('hex'), '20010db8000000000000000000000002');
  t.equal(b.subarray(44, 60).toString('hex'), 'fd000ec2000000000000000000000254');
  t.end();
});

t.test('addresses that do not parse or do not match the family give no request', (t) => {
  const server = { ip: '169.254.169.254', port: 80 };
  t.equal(encodeSocketLookup(1, 'ipv4', { ip: 'not-an-ip', port: 1 }, server), undefined);
  t.equal(encodeSocketLookup(1, 'ipv6', { ip: '192.0.2.2', port: 1 }, server), undefined);
  t.equal(encodeSocketLookup(1, 'ipv4', { ip: '2001:db8::1', port: 1 }, server), undefined);
  t.end();
});

t.test('the probe is a dump of no state (the kernel walks nothing)', (t) => {
  const b = encodeProbe(5);
  t.equal(b.readUInt16LE(6), 0x301, 'NLM_F_REQUEST | NLM_F_DUMP');
  t.equal(b.readUInt32LE(20), 0, 'idiag_states empty');
  t.end();
});

t.test('a socket reply gives state, uid and inode', (t) => {
  t.same(decodeReplies(SOCKET_REPLY), [
    { seq: 7, kind: 'socket', state: 1, uid: 0, inode: 909562 },
  ]);
  t.end();
});

t.test('errors, the end of a dump, several messages in one datagram', (t) => {
  t.same(decodeReplies(errorReply(3, 2)), [{ seq: 3, kind: 'error', errno: 2 }]);
  t.same(decodeReplies(DONE_REPLY), [{ seq: 1, kind: 'done' }]);
  t.same(decodeReplies(errorReply(4, 0)), [], 'an acknowledgement is no answer');
  t.same(
    decodeReplies(Buffer.concat([SOCKET_REPLY, errorReply(8, 2)])),
    [
      { seq: 7, kind: 'socket', state: 1, uid: 0, inode: 909562 },
      { seq: 8, kind: 'error', errno: 2 },
    ],
    'both, in order',
  );
  t.end();
});

t.test('truncated or foreign bytes end the walk without throwing', (t) => {
  t.same(decodeReplies(SOCKET_REPLY.subarray(0, 60)), [], 'cut inside the message');
  t.same(
    decodeReplies(Buffer.concat([errorReply(2, 2), SOCKET_REPLY.subarray(0, 40)])),
    [{ seq: 2, kind: 'error', errno: 2 }],
    'what came before the cut is kept',
  );
  const tooShort = Buffer.from(SOCKET_REPLY);
  tooShort.writeUInt32LE(40, 0);
  t.same(decodeReplies(tooShort), [], 'a socket message too short for inet_diag_msg');
  t.same(decodeReplies(Buffer.alloc(3)), []);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      decodeReplies(Buffer.from(bytes));
    }),
  );
  t.end();
});
