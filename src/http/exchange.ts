/** HTTP/1.x heads as the parser hands them on. Bodies are never kept. */

export interface HttpHeader {
  /** As sent (case preserved). */
  readonly name: string;
  /** Trimmed of surrounding optional whitespace. */
  readonly value: string;
}

export interface RequestHead {
  readonly method: string;
  /** Request target as sent, e.g. "/latest/meta-data/?x=1". */
  readonly target: string;
  /** "HTTP/1.1" or "HTTP/1.0". */
  readonly version: string;
  readonly headers: readonly HttpHeader[];
  /** Capture time of the segment that completed the head. */
  readonly timeMs: number;
}

export interface ResponseHead {
  readonly status: number;
  readonly version: string;
  readonly headers: readonly HttpHeader[];
  readonly timeMs: number;
}

/** How an exchange ended when it has no response (or a response the parser gave up on). */
export type ExchangeOutcome =
  | 'answered' // response head parsed (and its body skipped, or the flow ended in it)
  | 'no_response' // the flow ended (FIN/RST/idle/shutdown) before any response head
  | 'response_unparsable'; // the response stream was malformed, had a gap or an oversized head

/** One request with its response, matched in order (pipelining aware). */
export interface HttpExchange {
  readonly request: RequestHead;
  readonly response: ResponseHead | undefined;
  readonly outcome: ExchangeOutcome;
  /**
   * SHA-256 (hex) of the response body, present only when the tracker was asked to digest this
   * request's body (token responses) and the whole body was seen. The body itself is never kept.
   */
  readonly responseBodySha256: string | undefined;
}

export interface HttpLimits {
  /** Largest request or response head (request line + headers) accepted, in bytes. */
  readonly maxHeadBytes: number;
  /** Most requests waiting for a response on one connection (pipelining). */
  readonly maxPendingRequests: number;
  /** Largest response body digested for `responseBodySha256` (tokens are ~56 bytes). */
  readonly maxDigestBytes: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxHeadBytes: 16 * 1024,
  maxPendingRequests: 64,
  maxDigestBytes: 4096,
};

/** Case-insensitive header lookup; first match wins. */
export function headerValue(headers: readonly HttpHeader[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find((h) => h.name.toLowerCase() === lower)?.value;
}
