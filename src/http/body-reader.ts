/**
 * Skips one message body incrementally (Content-Length, chunked, or until close), handing the
 * body's payload bytes to an optional sink and never keeping them. Chunked framing lines
 * (chunk-size with extensions, the CRLF after data, trailer fields) are held only up to
 * `maxLineBytes`, so a stream of garbage cannot grow memory.
 */

export type BodyReaderError = 'http.bad_chunk' | 'http.chunk_line_too_long';

type ChunkState = 'size' | 'data' | 'data_end' | 'trailer';

const LF = 0x0a;
const CHUNK_SIZE_LINE = /^([0-9A-Fa-f]{1,13})[ \t]*(?:;.*)?$/;

export class BodyReader {
  readonly #kind: 'length' | 'chunked' | 'close';
  readonly #maxLineBytes: number;
  readonly #sink: ((payload: Buffer) => void) | undefined;
  /** length: bytes still to read; chunked: bytes left in the current chunk. */
  #remaining: number;
  #chunkState: ChunkState = 'size';
  #line = '';
  #trailerBytes = 0;
  #done: boolean;
  #error: BodyReaderError | undefined;

  constructor(
    framing: { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' },
    maxLineBytes: number,
    sink?: (payload: Buffer) => void,
  ) {
    this.#kind = framing.kind;
    this.#maxLineBytes = maxLineBytes;
    this.#sink = sink;
    this.#remaining = framing.kind === 'length' ? framing.length : 0;
    this.#done = framing.kind === 'length' && framing.length === 0;
  }

  get done(): boolean {
    return this.#done;
  }

  get error(): BodyReaderError | undefined {
    return this.#error;
  }

  /** A close-delimited body is complete when the stream ends; the others are not. */
  get completeAtEnd(): boolean {
    return this.#kind === 'close';
  }

  /** Bytes held for an unfinished framing line. */
  get bufferedBytes(): number {
    return this.#line.length;
  }

  /** Consumes bytes from `offset`; returns the offset of the first byte after the body. */
  feed(data: Buffer, offset: number): number {
    if (this.#done || this.#error) return offset;
    if (this.#kind === 'close') {
      this.#emit(data, offset, data.length);
      return data.length;
    }
    if (this.#kind === 'length') {
      const end = Math.min(data.length, offset + this.#remaining);
      this.#emit(data, offset, end);
      this.#remaining -= end - offset;
      if (this.#remaining === 0) this.#done = true;
      return end;
    }
    let at = offset;
    while (at < data.length && this.#active()) {
      if (this.#chunkState === 'data') {
        const end = Math.min(data.length, at + this.#remaining);
        this.#emit(data, at, end);
        this.#remaining -= end - at;
        at = end;
        if (this.#remaining === 0) this.#chunkState = 'data_end';
        continue;
      }
      const line = this.#takeLine(data, at);
      at = line.next;
      if (line.text !== undefined) this.#onLine(line.text);
    }
    return at;
  }

  #active(): boolean {
    return !this.#done && this.#error === undefined;
  }

  #emit(data: Buffer, start: number, end: number): void {
    if (this.#sink && end > start) this.#sink(data.subarray(start, end));
  }

  /** Accumulates up to the next LF; text is the line without CR/LF once complete. */
  #takeLine(data: Buffer, at: number): { text: string | undefined; next: number } {
    const lf = data.indexOf(LF, at);
    const end = lf === -1 ? data.length : lf;
    if (this.#line.length + (end - at) > this.#maxLineBytes) {
      this.#error = 'http.chunk_line_too_long';
      this.#line = '';
      return { text: undefined, next: data.length };
    }
    this.#line += data.toString('latin1', at, end);
    if (lf === -1) return { text: undefined, next: data.length };
    let text = this.#line;
    this.#line = '';
    if (text.endsWith('\r')) text = text.slice(0, -1);
    return { text, next: lf + 1 };
  }

  #onLine(text: string): void {
    switch (this.#chunkState) {
      case 'size': {
        const match = CHUNK_SIZE_LINE.exec(text);
        if (!match) {
          this.#error = 'http.bad_chunk';
          return;
        }
        const size = parseInt(match[1] ?? '', 16);
        if (size === 0) {
          this.#chunkState = 'trailer';
        } else {
          this.#remaining = size;
          this.#chunkState = 'data';
        }
        return;
      }
      case 'data_end':
        if (text !== '') this.#error = 'http.bad_chunk';
        else this.#chunkState = 'size';
        return;
      case 'trailer':
        // Trailer fields are skipped; only their total size is bounded.
        if (text === '') {
          this.#done = true;
          return;
        }
        this.#trailerBytes += text.length;
        if (this.#trailerBytes > this.#maxLineBytes) this.#error = 'http.chunk_line_too_long';
        return;
      case 'data':
        return;
    }
  }
}
