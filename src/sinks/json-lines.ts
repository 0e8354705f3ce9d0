import type { Writable } from 'node:stream';

/**
 * JSON Lines (or any line) output to a Writable such as process.stdout.
 *
 * - Backpressure: when the stream says stop (write() returned false) lines wait in our own
 *   queue until 'drain'; the queue is bounded in bytes and lines past it are dropped and
 *   counted (`droppedLines`), so a stalled reader cannot grow memory without bound. Async
 *   callers can `await drained()`.
 * - A closed pipe (`imds-analyzer --read x.pcap | head`) gives EPIPE: output ends quietly,
 *   `closed` turns true and `onClosed` runs once (the caller may stop early). Nothing throws.
 */

export interface LineWriterOptions {
  /** Most bytes held while the stream is not draining (default 16 MiB). */
  readonly maxQueuedBytes?: number;
  /** Called once when the stream is gone (EPIPE, destroyed, or another write error). */
  readonly onClosed?: (error: NodeJS.ErrnoException | undefined) => void;
}

/** Errors that only mean "the reader went away": not worth a message. */
const QUIET_CODES = new Set(['EPIPE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

export class LineWriter {
  readonly #out: Writable;
  readonly #maxQueuedBytes: number;
  readonly #onClosed: ((error: NodeJS.ErrnoException | undefined) => void) | undefined;
  #queue: string[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  #waiting = false;
  #closed = false;
  #dropped = 0;
  #drainWaiters: (() => void)[] = [];
  readonly #onError = (error: NodeJS.ErrnoException): void => {
    this.#close(QUIET_CODES.has(error.code ?? '') ? undefined : error);
  };

  readonly #onStreamClose = (): void => {
    this.#close(undefined);
  };

  constructor(out: Writable, options: LineWriterOptions = {}) {
    this.#out = out;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? 16 * 1024 * 1024;
    this.#onClosed = options.onClosed;
    out.on('error', this.#onError);
    // A destroyed stream may close without an error (the reader went away first).
    out.once('close', this.#onStreamClose);
    if (out.destroyed || out.writableEnded) this.#close(undefined);
  }

  /** Writes one line (a newline is added). False when the line is queued, dropped or the stream is gone. */
  /** Writes one object as one JSON line (JSON Lines). */
  writeJson(event: object): boolean {
    return this.writeLine(JSON.stringify(event));
  }

  writeLine(line: string): boolean {
    if (this.#closed) return false;
    const text = line + '\n';
    if (this.#waiting) {
      if (this.#queuedBytes + text.length > this.#maxQueuedBytes) {
        this.#dropped++;
        return false;
      }
      this.#queue.push(text);
      this.#queuedBytes += text.length;
      return false;
    }
    return this.#write(text);
  }

  /** True when nothing is waiting and the stream is still open. */
  get ready(): boolean {
    return !this.#closed && !this.#waiting;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Lines dropped because the reader did not keep up and the queue was full. */
  get droppedLines(): number {
    return this.#dropped;
  }

  /** Resolves when queued lines have been handed to the stream, or the stream is gone. */
  drained(): Promise<void> {
    if (!this.#waiting || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Waits until everything written has been handed to the OS (or the stream is gone). Does not
   * end the stream: process.stdout must stay usable for the summary and error lines.
   */
  async flush(): Promise<void> {
    await this.drained();
    if (this.#closed) return;
    await new Promise<void>((resolve) => {
      // An empty write's callback runs after every earlier write has completed.
      try {
        this.#out.write('', () => {
          resolve();
        });
      } catch {
        resolve();
      }
    });
  }

  #write(text: string): boolean {
    try {
      const ok = this.#out.write(text);
      if (!ok) {
        this.#waiting = true;
        this.#out.once('drain', this.#onDrain);
      }
      return ok;
    } catch (error) {
      this.#onError(error as NodeJS.ErrnoException);
      return false;
    }
  }

  readonly #onDrain = (): void => {
    this.#waiting = false;
    // #write returns false when the stream asks to wait again or is gone (#close wakes waiters).
    let flowing = true;
    while (flowing && this.#queueHead < this.#queue.length) {
      const text = this.#queue[this.#queueHead++] ?? '';
      this.#queuedBytes -= text.length;
      flowing = this.#write(text);
    }
    if (this.#queueHead >= this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    }
    if (flowing) this.#wake();
  };

  #close(error: NodeJS.ErrnoException | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#queueHead = 0;
    this.#queuedBytes = 0;
    this.#out.off('drain', this.#onDrain);
    // Keep the error listener: a later async EPIPE must not become an uncaught exception.
    this.#wake();
    this.#onClosed?.(error);
  }

  #wake(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }
}
