/**
 * The edge between attribution and the kernel's sock_diag: netlink sockets (the `netlink`
 * package's RawNetlinkSocket, a small N-API addon with prebuilt binaries) asking for single
 * sockets by tuple. The kernel answers inside sendmsg(), which the addon calls synchronously
 * when nothing is queued on that socket (hence a pool, see NetlinkSocketLookup), so the
 * socket's row is sampled when query() is called; the reply is read on the next turn of the
 * event loop. Nothing may throw inside the addon's callbacks (see #add).
 *
 * It only sees our own network namespace (a netlink socket belongs to the namespace that made
 * it); other namespaces are read through /proc/<pid>/net/tcp* as before.
 */
import type { IpFamily } from '../decode/segment.js';
import type { Endpoint } from '../flows/flow.js';
import {
  decodeReplies,
  encodeProbe,
  encodeSocketLookup,
  NETLINK_SOCK_DIAG,
  type DiagReply,
} from './sock-diag.js';

export interface SocketLookup {
  /**
   * Asks for the socket whose own end is `local` and whose peer is `remote`. Resolves with the
   * kernel's reply, or undefined when it could not be asked or did not answer in time.
   */
  query(family: IpFamily, local: Endpoint, remote: Endpoint): Promise<DiagReply | undefined>;
  close(): void;
}

/** The slice of the addon's socket we use (node_modules/netlink/dist/raw.d.ts). */
interface RawSocket {
  on(event: 'message', listener: (msg: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  send(msg: Uint8Array, options?: object, callback?: (error?: Error) => void): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** A reply later than this is not waited for (the kernel answers in microseconds). */
const REPLY_TIMEOUT_MS = 250;
/** Most sockets in the pool (see NetlinkSocketLookup). */
const MAX_SOCKETS = 16;

interface PooledSocket {
  readonly raw: RawSocket;
  /** Sends whose completion callback has not run yet: while any, a send is deferred. */
  sending: number;
  /** Replies due: the socket is referenced while any (see #ask). */
  due: number;
}

/**
 * A small pool of netlink sockets: the addon sends at once only on a socket with no earlier
 * send still awaiting its completion callback (which runs on a zero-delay timer, after the
 * current turn of the event loop); otherwise the send waits for the next poll phase. In a burst
 * many SYNs are handled in one turn, and a deferred question is sampled after the turn's
 * attribution pass, when a one-shot client may have closed its socket. So each question goes
 * to an idle socket, opening one more (up to MAX_SOCKETS) when none is.
 */
export class NetlinkSocketLookup implements SocketLookup {
  readonly #open: () => RawSocket;
  readonly #pool: PooledSocket[] = [];
  readonly #waiting = new Map<
    number,
    { resolve: (r: DiagReply | undefined) => void; timer: NodeJS.Timeout; socket: PooledSocket }
  >();
  #seq = 0;
  #broken = false;

  /** `open`: a new raw sock_diag socket (it may throw; the first one is opened here). */
  constructor(open: () => RawSocket) {
    this.#open = open;
    this.#add();
  }

  /** Sockets opened so far (for the benchmark). */
  get sockets(): number {
    return this.#pool.length;
  }

  query(family: IpFamily, local: Endpoint, remote: Endpoint): Promise<DiagReply | undefined> {
    return this.#ask((seq) => encodeSocketLookup(seq, family, local, remote));
  }

  /** True when the kernel has TCP sock_diag (see encodeProbe). */
  async probe(): Promise<boolean> {
    return (await this.#ask(encodeProbe))?.kind === 'done';
  }

  close(): void {
    this.#broken = true;
    for (const seq of [...this.#waiting.keys()]) this.#settle(seq, undefined);
    for (const s of this.#pool.splice(0)) s.raw.close();
  }

  #add(): PooledSocket {
    const raw = this.#open();
    const socket: PooledSocket = { raw, sending: 0, due: 0 };
    raw.unref();
    // An exception escaping these handlers would abort the process inside the addon (measured:
    // a throwing 'message' listener ends Node with SIGABRT, past any uncaughtException handler).
    raw.on('message', (msg) => {
      try {
        for (const reply of decodeReplies(msg)) this.#settle(reply.seq, reply);
      } catch {
        this.#fail();
      }
    });
    raw.on('error', () => {
      this.#fail();
    });
    this.#pool.push(socket);
    return socket;
  }

  /** A failed socket answers nothing more: every lookup falls back to the /proc tables. */
  #fail(): void {
    try {
      this.close();
    } catch {
      this.#broken = true;
    }
  }

  /** An idle socket, a new one, or (pool full or no new socket possible) the least busy. */
  #pick(): PooledSocket | undefined {
    let best: PooledSocket | undefined;
    for (const s of this.#pool) {
      if (s.sending === 0) return s;
      if (best === undefined || s.sending < best.sending) best = s;
    }
    if (this.#pool.length < MAX_SOCKETS) {
      try {
        return this.#add();
      } catch {
        // Out of descriptors or memory: the busy socket still answers, one turn later.
      }
    }
    return best;
  }

  #ask(encode: (seq: number) => Buffer | undefined): Promise<DiagReply | undefined> {
    const socket = this.#broken ? undefined : this.#pick();
    if (socket === undefined) return Promise.resolve(undefined);
    this.#seq = this.#seq >= 0x7ffffff0 ? 1 : this.#seq + 1;
    const seq = this.#seq;
    const request = encode(seq);
    if (request === undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#settle(seq, undefined);
      }, REPLY_TIMEOUT_MS);
      timer.unref();
      // Referenced while a reply is due: the addon aborts the process if Node exits with a
      // reply still unread (measured with netlink 0.3.0), and the caller awaits it anyway.
      if (socket.due === 0) socket.raw.ref();
      socket.due += 1;
      this.#waiting.set(seq, { resolve, timer, socket });
      socket.sending += 1;
      try {
        socket.raw.send(request, {}, (error) => {
          // Called from the addon, like the listeners in #add: nothing may escape.
          try {
            socket.sending -= 1;
            if (error !== undefined) this.#settle(seq, undefined);
          } catch {
            this.#fail();
          }
        });
      } catch {
        socket.sending -= 1;
        this.#settle(seq, undefined);
      }
    });
  }

  #settle(seq: number, reply: DiagReply | undefined): void {
    const w = this.#waiting.get(seq);
    if (w === undefined) return;
    this.#waiting.delete(seq);
    clearTimeout(w.timer);
    w.socket.due -= 1;
    if (w.socket.due === 0) w.socket.raw.unref();
    w.resolve(reply);
  }
}

/**
 * Opens the kernel's sock_diag, or says why it cannot be used (no prebuilt addon for this
 * platform, netlink blocked by a sandbox, a kernel without inet_diag).
 */
export async function openSocketLookup(): Promise<SocketLookup | { readonly error: string }> {
  try {
    const { RawNetlinkSocket } = await import('netlink');
    const lookup = new NetlinkSocketLookup(() => new RawNetlinkSocket(NETLINK_SOCK_DIAG));
    if (await lookup.probe()) return lookup;
    lookup.close();
    return { error: 'the kernel has no TCP sock_diag (inet_diag/tcp_diag)' };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
