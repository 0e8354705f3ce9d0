/**
 * The kernel's sock_diag through the netlink addon, on real loopback sockets: each answer must
 * match the socket's row in /proc/net/tcp*, the table the lookup replaces for our namespace.
 */
import t, { type Test } from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import fs from 'node:fs';
import { openSocketLookup, type SocketLookup } from '../../src/attribute/socket-lookup.js';
import { findClientSocket, parseProcNetTcp } from '../../src/attribute/proc-net-tcp.js';
import type { Endpoint } from '../../src/flows/flow.js';

let lookup: SocketLookup;

t.before(async () => {
  const opened = await openSocketLookup();
  if ('error' in opened) throw new Error(`sock_diag: ${opened.error}`);
  lookup = opened;
});
t.teardown(() => {
  lookup.close();
});

/** A listening server and a client connected to it, closed at the end of the test. */
async function connection(
  t: Test,
  listenHost: string,
  connectHost: string,
): Promise<{ client: net.Socket; server: net.Server; accepted: net.Socket }> {
  const server = net.createServer();
  server.listen(0, listenHost);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const acceptedP = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(port, connectHost);
  await once(client, 'connect');
  const [accepted] = await acceptedP;
  t.teardown(() => {
    client.destroy();
    accepted.destroy();
    server.close();
  });
  return { client, server, accepted };
}

function ends(s: net.Socket): { local: Endpoint; remote: Endpoint } {
  return {
    local: { ip: s.localAddress ?? '', port: s.localPort ?? 0 },
    remote: { ip: s.remoteAddress ?? '', port: s.remotePort ?? 0 },
  };
}

function tableRow(name: 'tcp' | 'tcp6', local: Endpoint, remote: Endpoint) {
  const text = fs.readFileSync(`/proc/self/net/${name}`, 'latin1');
  return findClientSocket(parseProcNetTcp(text, name === 'tcp' ? 'ipv4' : 'ipv6'), local, remote);
}

t.test('an IPv4 connection: the same state, uid and inode as /proc/net/tcp', async (t) => {
  const { client } = await connection(t, '127.0.0.1', '127.0.0.1');
  const { local, remote } = ends(client);
  const reply = await lookup.query('ipv4', local, remote);
  const row = tableRow('tcp', local, remote);
  t.ok(row, 'the table has the socket');
  t.match(reply, { kind: 'socket', state: 1, uid: row?.uid, inode: row?.inode }, 'same row');
  t.not(row?.inode, 0);
});

t.test('an IPv6 connection', async (t) => {
  const { client } = await connection(t, '::1', '::1');
  const { local, remote } = ends(client);
  const reply = await lookup.query('ipv6', local, remote);
  const row = tableRow('tcp6', local, remote);
  t.ok(row, 'the table has the socket');
  t.match(reply, { kind: 'socket', state: 1, inode: row?.inode });
});

t.test('a dual-stack socket talking IPv4 is found by its IPv4 tuple', async (t) => {
  // The server side of this pair is an AF_INET6 socket with IPv4-mapped addresses, as a
  // dual-stack client's would be; on the wire (and in the flow) its tuple is plain IPv4.
  const { accepted } = await connection(t, '::', '127.0.0.1');
  const mapped = ends(accepted);
  t.match(mapped.local.ip, /^::ffff:127\.0\.0\.1$/, 'an AF_INET6 socket');
  const v4 = (e: Endpoint): Endpoint => ({ ip: e.ip.replace(/^::ffff:/, ''), port: e.port });
  const reply = await lookup.query('ipv4', v4(mapped.local), v4(mapped.remote));
  const row = tableRow('tcp6', mapped.local, mapped.remote);
  t.ok(row, 'tcp6 lists it under its mapped addresses');
  t.match(reply, { kind: 'socket', state: 1, inode: row?.inode });
});

t.test('the side that closed first: TIME_WAIT, no inode left', async (t) => {
  const { client, accepted } = await connection(t, '127.0.0.1', '127.0.0.1');
  const { local, remote } = ends(client);
  accepted.on('end', () => accepted.end());
  client.end();
  await once(client, 'close');
  const reply = await lookup.query('ipv4', local, remote);
  t.match(reply, { kind: 'socket', state: 6, uid: 0, inode: 0 });
});

t.test('no socket with the tuple: ENOENT', async (t) => {
  const reply = await lookup.query(
    'ipv4',
    { ip: '192.0.2.99', port: 1 },
    { ip: '169.254.169.254', port: 80 },
  );
  t.match(reply, { kind: 'error', errno: 2 });
});

t.test('many questions at once are answered each by its own reply', async (t) => {
  const { client } = await connection(t, '127.0.0.1', '127.0.0.1');
  const { local, remote } = ends(client);
  const missing = { ip: '192.0.2.99', port: 2 };
  const replies = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      i % 2 === 0 ? lookup.query('ipv4', local, remote) : lookup.query('ipv4', missing, remote),
    ),
  );
  t.ok(replies.every((r, i) => r?.kind === (i % 2 === 0 ? 'socket' : 'error')));
});

t.test('after close, questions resolve undefined (callers read the tables)', async (t) => {
  const opened = await openSocketLookup();
  if ('error' in opened) throw new Error(opened.error);
  opened.close();
  t.equal(
    await opened.query('ipv4', { ip: '127.0.0.1', port: 1 }, { ip: '127.0.0.1', port: 2 }),
    undefined,
  );
});
