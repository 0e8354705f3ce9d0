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
    let i = start;
    while (i < scanEnd) {
      const byte = data[i];
      if (state === 1 && byte === CR) {
        state = 2;
        i++;
        continue;
      }
      if (state !== 0 && byte === LF) {
        const end = i + 1;
        const head = Buffer.concat([...this.#chunks, data.subarray(start, end)]);
        this.reset();
        return { kind: 'done', head, next: end };
      }
      // Inside a line: jump to its end (indexOf is native, a byte loop is not).
      const lf = data.indexOf(LF, i);
      if (lf === -1 || lf >= scanEnd) {
        state = 0;
        break;
      }
      state = 1;
      i = lf + 1;
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
