/**
 * Collects the bytes of one message head across any number of chunks until its empty line,
 * holding at most `maxHeadBytes`. Leading empty lines are skipped (RFC 9112 section 2.2: a
 * server should ignore CRLFs before a request line; clients send stray CRLFs after bodies).
 *
 * The terminator is an LF, an optional CR, then an LF: CRLFCRLF, LFLF, CRLFLF and LFCRLF all end
 * a head, matching the bare-LF tolerance of the head parser.
 */

export type HeadPush =
  /** All of the chunk from `offset` was taken, the head is not complete yet. */
  | { readonly kind: 'more' }
  /** The head is complete; chunk bytes from `next` on belong to what follows it. */
  | { readonly kind: 'done'; readonly head: Buffer; readonly next: number }
  /** The head exceeds the limit; the accumulator holds nothing. */
  | { readonly kind: 'too_large' };

const LF = 0x0a;
const CR = 0x0d;

export class HeadAccumulator {
  readonly #maxHeadBytes: number;
  #chunks: Buffer[] = [];
  #length = 0;
  /** 0: inside a line; 1: just after an LF; 2: after LF CR. */
  #state = 0;

  constructor(maxHeadBytes: number) {
    this.#maxHeadBytes = maxHeadBytes;
  }

  /** Bytes held for the head in progress (never more than maxHeadBytes). */
  get bufferedBytes(): number {
    return this.#length;
  }

  /** True when some head bytes (other than skipped empty lines) have been seen. */
  get started(): boolean {
    return this.#length > 0;
  }

  reset(): void {
    this.#chunks = [];
    this.#length = 0;
    this.#state = 0;
  }

  push(data: Buffer, offset: number): HeadPush {
    let start = offset;
    if (this.#length === 0) {
      while (start < data.length && (data[start] === CR || data[start] === LF)) start++;
      if (start === data.length) return { kind: 'more' };
    }
    // Never look further than the limit allows: a 10 MB chunk without an empty line costs
    // maxHeadBytes of scanning and nothing of memory.
    const allowed = this.#maxHeadBytes - this.#length;
    const scanEnd = Math.min(data.length, start + allowed);
    let state = this.#state;
    for (let i = start; i < scanEnd; i++) {
      const byte = data[i];
      if (byte === LF) {
        if (state !== 0) {
          const end = i + 1;
          const head = Buffer.concat([...this.#chunks, data.subarray(start, end)]);
          this.reset();
          return { kind: 'done', head, next: end };
        }
        state = 1;
      } else if (byte === CR && state === 1) {
        state = 2;
      } else {
        state = 0;
      }
    }
    if (scanEnd < data.length) {
      this.reset();
      return { kind: 'too_large' };
    }
    if (scanEnd > start) {
      // Copy: a view would pin the caller's (possibly large) buffer.
      this.#chunks.push(Buffer.from(data.subarray(start, scanEnd)));
      this.#length += scanEnd - start;
    }
    this.#state = state;
    return { kind: 'more' };
  }
}
