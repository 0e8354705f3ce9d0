/**
 * Reads our namespace's socket table on a worker thread while the main thread pre-scans new
 * processes: a lone one-shot client closes its socket 1-5 ms after its SYN, one table read
 * walks the kernel's whole established hash (3.5-9 ms), and the walk reaches the client's
 * bucket at a random point of it; every fraction of a millisecond the walk starts earlier is
 * a better chance to see the row while it still has its inode.
 *
 * The worker sleeps in Atomics.wait and is woken by Atomics.notify (tens of microseconds, no
 * event-loop round trip on either side); it writes the file into a shared buffer and the main
 * thread waits for it synchronously once its pre-scan is done, so a pass stays synchronous.
 * Any failure (no worker, table larger than the buffer, timeout) answers undefined and the
 * caller reads the table itself.
 */
import { Worker } from 'node:worker_threads';

/** ctl slots: request sequence, done sequence, byte length (-1 error, -2 too large), table. */
const REQ = 0;
const DONE = 1;
const LEN = 2;
const WHICH = 3;
const CLOSE = -1;
const TABLES = ['tcp', 'tcp6'] as const;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const os = require('node:os');
const ctl = new Int32Array(workerData.ctl);
const data = new Uint8Array(workerData.data);
const names = ['tcp', 'tcp6'];
let seen = 0;
let nice;
for (;;) {
  Atomics.wait(ctl, ${REQ}, seen);
  seen = Atomics.load(ctl, ${REQ});
  if (seen === ${CLOSE}) break;
  // Linux priorities are per thread: follow the main thread's (os.setPriority() there after
  // this thread started does not reach it).
  try {
    const want = os.getPriority(process.pid);
    if (want !== nice) { os.setPriority(0, want); nice = want; }
  } catch {}
  let n = -1;
  try {
    const fd = fs.openSync('/proc/self/net/' + names[Atomics.load(ctl, ${WHICH})], 'r');
    try {
      n = 0;
      for (;;) {
        const r = fs.readSync(fd, data, n, data.length - n, null);
        if (r <= 0) break;
        n += r;
        if (n === data.length) { n = -2; break; }
      }
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    n = -1;
  }
  Atomics.store(ctl, ${LEN}, n);
  Atomics.store(ctl, ${DONE}, seen);
  Atomics.notify(ctl, ${DONE});
}
`;

export class TableReadAhead {
  readonly #ctl: Int32Array;
  readonly #data: Uint8Array;
  #worker: Worker | undefined;
  #seq = 0;
  #pending: 'tcp' | 'tcp6' | undefined;

  /** `bufferBytes`: largest table text taken (4 MiB: ~27000 sockets). */
  constructor(bufferBytes = 4 * 1024 * 1024) {
    const ctl = new SharedArrayBuffer(16);
    const data = new SharedArrayBuffer(bufferBytes);
    this.#ctl = new Int32Array(ctl);
    this.#data = new Uint8Array(data);
    let worker: Worker | undefined;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ctl, data } });
      worker.unref();
      worker.on('error', () => {
        // A dead worker never answers: wait() times out and the caller reads the table.
      });
    } catch {
      worker = undefined;
    }
    this.#worker = worker;
  }

  /** Asks the worker to read /proc/self/net/<name> now. One request at a time. */
  start(name: 'tcp' | 'tcp6'): boolean {
    if (this.#worker === undefined || this.#pending !== undefined) return false;
    this.#seq = this.#seq >= 0x7ffffff0 ? 1 : this.#seq + 1;
    Atomics.store(this.#ctl, WHICH, TABLES.indexOf(name));
    Atomics.store(this.#ctl, REQ, this.#seq);
    Atomics.notify(this.#ctl, REQ);
    this.#pending = name;
    return true;
  }

  /** The text of the table asked for, waiting at most `timeoutMs`; undefined on any failure. */
  wait(timeoutMs: number): { name: 'tcp' | 'tcp6'; text: string } | undefined {
    const name = this.#pending;
    if (name === undefined) return undefined;
    const deadline = performance.now() + timeoutMs;
    while (Atomics.load(this.#ctl, DONE) !== this.#seq) {
      const left = deadline - performance.now();
      if (left <= 0) {
        // Still reading: its answer is dropped (the next request gets a new sequence number),
        // but the worker stays busy, so stop using it.
        this.close();
        return undefined;
      }
      Atomics.wait(this.#ctl, DONE, Atomics.load(this.#ctl, DONE), left);
    }
    this.#pending = undefined;
    const n = Atomics.load(this.#ctl, LEN);
    if (n < 0) return undefined;
    return { name, text: Buffer.from(this.#data.subarray(0, n)).toString('latin1') };
  }

  close(): void {
    if (this.#worker === undefined) return;
    Atomics.store(this.#ctl, REQ, CLOSE);
    Atomics.notify(this.#ctl, REQ);
    void this.#worker.terminate();
    this.#worker = undefined;
    this.#pending = undefined;
  }
}
