/**
 * Netlink sock_diag messages for one TCP socket looked up by its exact tuple (the kernel's
 * inet_diag "dump one", what `ss` uses under the hood): pure encode and decode over Buffers.
 *
 * Why not only /proc/net/tcp: reading that file makes the kernel walk its whole established
 * hash (3.5-9 ms on a 2-CPU host, whatever the number of sockets), longer than a lone `curl`
 * holds its socket after the SYN. An exact lookup is one hash probe, answered inside the
 * sendmsg() call that asks, so the row is sampled the moment the SYN is handled.
 *
 * Layouts (include/uapi/linux/netlink.h, inet_diag.h), all host byte order except the
 * addresses and ports of inet_diag_sockid, which are network order:
 *   nlmsghdr        len u32, type u16, flags u16, seq u32, pid u32             (16 bytes)
 *   inet_diag_req_v2 family u8, protocol u8, ext u8, pad u8, states u32, sockid (56 bytes)
 *   inet_diag_sockid sport be16, dport be16, src be32[4], dst be32[4], if u32, cookie u32[2]
 *   inet_diag_msg    family u8, state u8, timer u8, retrans u8, sockid, expires u32,
 *                    rqueue u32, wqueue u32, uid u32, inode u32                  (72 bytes)
 */
import type { IpFamily } from '../decode/segment.js';
import type { Endpoint } from '../flows/flow.js';
import { ipToBytes } from '../flows/community-id.js';

/** Netlink protocol number of sock_diag (NETLINK_SOCK_DIAG). */
export const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 1;
const NLM_F_DUMP = 0x300;
const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const NLMSG_HEADER = 16;
const SOCKID_BYTES = 48;
const REQUEST_BYTES = NLMSG_HEADER + 8 + SOCKID_BYTES;
const DIAG_MSG_BYTES = 4 + SOCKID_BYTES + 20;
/** "No cookie": match by tuple alone. */
const NO_COOKIE = 0xffffffff;

/** What the kernel said about one looked-up socket. */
export type DiagReply =
  | {
      readonly seq: number;
      readonly kind: 'socket';
      /** TCP state number (proc-net-tcp's TCP_STATE_NAMES). */
      readonly state: number;
      readonly uid: number;
      /** 0 when no file holds the socket any more (TIME_WAIT, orphaned FIN_WAIT). */
      readonly inode: number;
    }
  | {
      /** The end of a dump: only the probe asks for one. */
      readonly seq: number;
      readonly kind: 'done';
    }
  | {
      readonly seq: number;
      readonly kind: 'error';
      /** Positive errno: ENOENT (2) when no socket of our namespace has the tuple. */
      readonly errno: number;
    };

export const ENOENT = 2;

/**
 * The request for the socket whose own end is `local` and whose peer is `remote` (the client
 * socket of a flow: local = flow.client). IPv4 flows ask AF_INET: the kernel hashes dual-stack
 * AF_INET6 sockets talking IPv4 under their IPv4 tuple, so one lookup finds either kind.
 * Undefined when an address does not parse.
 */
export function encodeSocketLookup(
  seq: number,
  family: IpFamily,
  local: Endpoint,
  remote: Endpoint,
): Buffer | undefined {
  const src = ipToBytes(local.ip);
  const dst = ipToBytes(remote.ip);
  const size = family === 'ipv4' ? 4 : 16;
  if (src?.length !== size || dst?.length !== size) return undefined;
  // idiag_states: every state (an exact lookup ignores it; set for kernels that do not).
  const b = request(seq, NLM_F_REQUEST, family, 0xffffffff);
  const id = NLMSG_HEADER + 8;
  b.writeUInt16BE(local.port, id);
  b.writeUInt16BE(remote.port, id + 2);
  src.copy(b, id + 4);
  dst.copy(b, id + 20);
  // idiag_if 0: any interface.
  b.writeUInt32LE(NO_COOKIE, id + 40);
  b.writeUInt32LE(NO_COOKIE, id + 44);
  return b;
}

/**
 * A dump of no state at all: answered by a bare DONE when the kernel has TCP sock_diag (the
 * tcp_diag module loads on demand), by ENOENT when it has not, which an exact lookup could not
 * tell from "no such socket". Costs nothing: an empty state mask skips both hash walks.
 */
export function encodeProbe(seq: number): Buffer {
  return request(seq, NLM_F_REQUEST | NLM_F_DUMP, 'ipv4', 0);
}

/** nlmsghdr + inet_diag_req_v2 with an empty sockid; nlmsg_pid 0 (the kernel fills ours in). */
function request(seq: number, flags: number, family: IpFamily, states: number): Buffer {
  const b = Buffer.alloc(REQUEST_BYTES);
  b.writeUInt32LE(REQUEST_BYTES, 0);
  b.writeUInt16LE(SOCK_DIAG_BY_FAMILY, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  const r = NLMSG_HEADER;
  b[r] = family === 'ipv4' ? AF_INET : AF_INET6;
  b[r + 1] = IPPROTO_TCP;
  b.writeUInt32LE(states >>> 0, r + 4);
  return b;
}

/**
 * Every reply in one datagram (the kernel may batch several). Other message types (an
 * acknowledgement) are skipped; a truncated message ends the walk, and what
 * came before it is still returned.
 */
export function decodeReplies(buf: Buffer): DiagReply[] {
  const out: DiagReply[] = [];
  let off = 0;
  while (off + NLMSG_HEADER <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HEADER || off + len > buf.length) break;
    const type = buf.readUInt16LE(off + 4);
    const seq = buf.readUInt32LE(off + 8);
    const body = off + NLMSG_HEADER;
    if (type === NLMSG_ERROR && len >= NLMSG_HEADER + 4) {
      const error = buf.readInt32LE(body);
      // error 0 is an acknowledgement, which we never ask for.
      if (error < 0) out.push({ seq, kind: 'error', errno: -error });
    } else if (type === SOCK_DIAG_BY_FAMILY && len >= NLMSG_HEADER + DIAG_MSG_BYTES) {
      out.push({
        seq,
        kind: 'socket',
        state: buf[body + 1] ?? 0,
        uid: buf.readUInt32LE(body + 4 + SOCKID_BYTES + 12),
        inode: buf.readUInt32LE(body + 4 + SOCKID_BYTES + 16),
      });
    } else if (type === NLMSG_DONE) {
      out.push({ seq, kind: 'done' });
    }
    // Messages are padded to 4 bytes (NLMSG_ALIGN).
    off += (len + 3) & ~3;
  }
  return out;
}
