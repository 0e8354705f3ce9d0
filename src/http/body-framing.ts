/**
 * How long a message body is, decided from the heads alone (RFC 9112 section 6.3).
 * Pure: the connection tracker acts on the answer.
 */
import type { HttpHeader } from './exchange.js';
import type { ParsedRequestHead, ParsedResponseHead } from './head-parser.js';
import { trimOws } from './head-parser.js';

export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  /** Until the server closes the connection (HTTP/1.0 style, or a tunnel after CONNECT). */
  | { readonly kind: 'close' };

export type FramingResult =
  | { readonly ok: true; readonly framing: BodyFraming }
  | { readonly ok: false; readonly code: 'http.bad_content_length' | 'http.bad_transfer_encoding' };

const NONE: FramingResult = { ok: true, framing: { kind: 'none' } };
const CHUNKED: FramingResult = { ok: true, framing: { kind: 'chunked' } };
const CLOSE: FramingResult = { ok: true, framing: { kind: 'close' } };

/** All values of a header, split on commas (a repeated header is a comma-joined list). */
function listValues(headers: readonly HttpHeader[], name: string): string[] | undefined {
  const lower = name.toLowerCase();
  let values: string[] | undefined;
  for (const header of headers) {
    if (header.name.toLowerCase() !== lower) continue;
    values ??= [];
    for (const part of header.value.split(',')) values.push(trimOws(part));
  }
  return values;
}

/**
 * Content-Length: digits only; a list ("5, 5", or the header repeated) is accepted only when all
 * values agree, as RFC 9112 section 6.3 allows. Returns undefined when absent, NaN when invalid.
 */
function contentLength(headers: readonly HttpHeader[]): number | undefined {
  const values = listValues(headers, 'content-length');
  if (!values) return undefined;
  const first = values[0] ?? '';
  // 15 digits stay below Number.MAX_SAFE_INTEGER.
  if (!/^\d{1,15}$/.test(first) || values.some((v) => v !== first)) return Number.NaN;
  return Number(first);
}

/** 'chunked' when chunked is the final coding, 'other' when another coding is last. */
function transferEncoding(headers: readonly HttpHeader[]): 'chunked' | 'other' | undefined {
  const values = listValues(headers, 'transfer-encoding')?.filter((v) => v !== '');
  if (!values) return undefined;
  return values[values.length - 1]?.toLowerCase() === 'chunked' ? 'chunked' : 'other';
}

export function requestBodyFraming(head: ParsedRequestHead): FramingResult {
  const te = transferEncoding(head.headers);
  // Transfer-Encoding overrides Content-Length; a request whose final coding is not chunked
  // cannot be delimited at all (the server answers 400 and closes).
  if (te === 'chunked') return CHUNKED;
  if (te === 'other') return { ok: false, code: 'http.bad_transfer_encoding' };
  const length = contentLength(head.headers);
  if (length === undefined || length === 0) return NONE;
  if (Number.isNaN(length)) return { ok: false, code: 'http.bad_content_length' };
  return { ok: true, framing: { kind: 'length', length } };
}

export function responseBodyFraming(
  requestMethod: string,
  head: ParsedResponseHead,
): FramingResult {
  const status = head.status;
  if (requestMethod === 'HEAD' || (status >= 100 && status < 200) || status === 204) return NONE;
  if (status === 304) return NONE;
  if (requestMethod === 'CONNECT' && status >= 200 && status < 300) return CLOSE;
  const te = transferEncoding(head.headers);
  if (te === 'chunked') return CHUNKED;
  if (te === 'other') return CLOSE;
  const length = contentLength(head.headers);
  if (length === undefined) return CLOSE;
  if (Number.isNaN(length)) return { ok: false, code: 'http.bad_content_length' };
  return { ok: true, framing: { kind: 'length', length } };
}
