/**
 * Pure parsing of one HTTP/1.x message head (start line + header fields + the empty line).
 *
 * Input is the raw bytes up to and including the terminating empty line. Lines may end in CRLF
 * or a bare LF (RFC 9112 section 2.2 lets a recipient accept bare LF; some hand-written clients
 * send it). Bytes are decoded as latin1 so every byte maps to one char and obs-text survives.
 *
 * obs-fold (a header line starting with SP/HTAB): joined to the previous header's value with one
 * SP, as RFC 9112 section 5.2 allows a user agent to do. A sniffer must see what the server saw,
 * and rejecting would stop parsing the whole direction of the flow over a cosmetic quirk.
 *
 * Errors carry a stable code and a fixed sentence: never any input bytes, which may hold a token.
 */
import type { HttpHeader, RequestHead, ResponseHead } from './exchange.js';

export type ParsedRequestHead = Omit<RequestHead, 'timeMs'>;
export type ParsedResponseHead = Omit<ResponseHead, 'timeMs'>;

export type HeadErrorCode =
  | 'http.bad_request_line'
  | 'http.bad_status_line'
  | 'http.bad_version'
  | 'http.bad_header'
  | 'http.unterminated_head';

export type HeadResult<T> =
  | { readonly ok: true; readonly head: T }
  | { readonly ok: false; readonly code: HeadErrorCode; readonly message: string };

const MESSAGES: Readonly<Record<HeadErrorCode, string>> = {
  'http.bad_request_line': 'The request line is not "METHOD SP target SP HTTP/x.y".',
  'http.bad_status_line': 'The status line is not "HTTP/x.y SP 3DIGIT [SP reason]".',
  'http.bad_version': 'The HTTP version is not HTTP/1.0 or HTTP/1.1.',
  'http.bad_header': 'A header field line is malformed.',
  'http.unterminated_head': 'The head does not end with an empty line.',
};

function fail(code: HeadErrorCode): { ok: false; code: HeadErrorCode; message: string } {
  return { ok: false, code, message: MESSAGES[code] };
}

// RFC 9110 token chars (method, field name).
const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
// Visible chars and obs-text: no controls, no whitespace.
const REQUEST_LINE = new RegExp(`^(${TOKEN}) ([\\x21-\\x7e\\x80-\\xff]+) (HTTP/\\d\\.\\d)$`);
const STATUS_LINE = /^(HTTP\/\d\.\d) (\d{3})(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const HEADER_LINE = new RegExp(`^(${TOKEN}):([\\t\\x20-\\x7e\\x80-\\xff]*)$`);
const FOLD_LINE = /^[ \t]+([\t\x20-\x7e\x80-\xff]*)$/;
const SUPPORTED_VERSIONS = new Set(['HTTP/1.0', 'HTTP/1.1']);

/** Trims SP and HTAB only (String.prototype.trim would also eat latin1 NBSP, 0xA0). */
export function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value[start] === ' ' || value[start] === '\t')) start++;
  while (end > start && (value[end - 1] === ' ' || value[end - 1] === '\t')) end--;
  return value.slice(start, end);
}

/**
 * Splits a head into lines without their line ends, dropping the terminating empty line.
 * Returns undefined when the input does not end with an empty line.
 */
function splitLines(bytes: Buffer): string[] | undefined {
  const text = bytes.toString('latin1');
  if (!text.endsWith('\n')) return undefined;
  const lines = text.slice(0, -1).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.endsWith('\r')) lines[i] = line.slice(0, -1);
  }
  if (lines.pop() !== '' || lines.length === 0) return undefined;
  return lines;
}

function parseHeaderLines(lines: readonly string[]): HttpHeader[] | undefined {
  const headers: { name: string; value: string }[] = [];
  for (const line of lines) {
    const fold = FOLD_LINE.exec(line);
    if (fold) {
      const previous = headers[headers.length - 1];
      if (!previous) return undefined;
      const more = trimOws(fold[1] ?? '');
      if (more !== '') previous.value = previous.value === '' ? more : `${previous.value} ${more}`;
      continue;
    }
    // A bare CR inside a line, an empty line in the middle, a space before the colon and
    // control chars all fail this match (RFC 9112 section 5.1 requires rejecting them).
    const match = HEADER_LINE.exec(line);
    if (!match) return undefined;
    headers.push({ name: match[1] ?? '', value: trimOws(match[2] ?? '') });
  }
  return headers;
}

export function parseRequestHead(bytes: Buffer): HeadResult<ParsedRequestHead> {
  const lines = splitLines(bytes);
  if (!lines) return fail('http.unterminated_head');
  const match = REQUEST_LINE.exec(lines[0] ?? '');
  if (!match) return fail('http.bad_request_line');
  const version = match[3] ?? '';
  if (!SUPPORTED_VERSIONS.has(version)) return fail('http.bad_version');
  const headers = parseHeaderLines(lines.slice(1));
  if (!headers) return fail('http.bad_header');
  return {
    ok: true,
    head: { method: match[1] ?? '', target: match[2] ?? '', version, headers },
  };
}

export function parseResponseHead(bytes: Buffer): HeadResult<ParsedResponseHead> {
  const lines = splitLines(bytes);
  if (!lines) return fail('http.unterminated_head');
  const match = STATUS_LINE.exec(lines[0] ?? '');
  if (!match) return fail('http.bad_status_line');
  const version = match[1] ?? '';
  if (!SUPPORTED_VERSIONS.has(version)) return fail('http.bad_version');
  const headers = parseHeaderLines(lines.slice(1));
  if (!headers) return fail('http.bad_header');
  return { ok: true, head: { status: Number(match[2]), version, headers } };
}
