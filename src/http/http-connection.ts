/**
 * HTTP/1.x exchange tracker for one TCP flow. It sees only the two reassembled byte streams and
 * stream events (data, gap, end), like Zeek's HTTP analyzer, and emits one HttpExchange per
 * request, in request order.
 *
 * - Requests are queued as their heads complete; responses are matched to them FIFO
 *   (pipelining). Interim 1xx responses (100-continue ...) do not consume a request.
 * - Bodies are skipped by their framing and never stored. When `digestResponseBody(request)`
 *   says so (token responses), the response body is streamed into a SHA-256 instead.
 * - An exchange is emitted at its response head, or, when a digest is wanted, when its body is
 *   complete. Because responses arrive in order, that never holds back later exchanges for
 *   longer than the current body; `end()` flushes everything still open.
 * - Malformed or oversized input is counted and parsing of that direction stops; nothing throws
 *   and nothing grows past `maxHeadBytes` per direction.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Anomalies } from '../anomalies.js';
import { BodyReader } from './body-reader.js';
import { requestBodyFraming, responseBodyFraming } from './body-framing.js';
import type {
  ExchangeOutcome,
  HttpExchange,
  HttpLimits,
  RequestHead,
  ResponseHead,
} from './exchange.js';
import { HeadAccumulator } from './head-accumulator.js';
import { parseRequestHead, parseResponseHead } from './head-parser.js';

export interface HttpConnectionOptions {
  readonly limits: HttpLimits;
  readonly anomalies: Anomalies;
  /** True when this request's response body should be digested (token PUTs). */
  readonly digestResponseBody: (request: RequestHead) => boolean;
  readonly onExchange: (exchange: HttpExchange) => void;
  /** Called as soon as a request head is complete, before its response (may be absent). */
  readonly onRequest?: (request: RequestHead) => void;
}

/** Anomaly names this stage counts. */
export const HTTP_ANOMALIES = {
  headTooLarge: 'http.head_too_large',
  parseError: 'http.parse_error',
  requestGap: 'http.request_gap',
  responseGap: 'http.response_gap',
  tooManyPending: 'http.too_many_pending',
  digestTooLarge: 'http.digest_too_large',
  unexpectedResponse: 'http.unexpected_response',
  protocolSwitch: 'http.protocol_switch',
  truncatedRequest: 'http.truncated_request',
} as const;

interface Pending {
  readonly request: RequestHead;
  readonly wantDigest: boolean;
  response: ResponseHead | undefined;
  digest: string | undefined;
  /** Set once the exchange may be emitted. */
  outcome: ExchangeOutcome | undefined;
}

/** head: waiting for a head; body: skipping a body; stopped: ignoring the rest of the stream. */
type RequestState = 'head' | 'body' | 'stopped';
/** failed: the stream could not be read, so every request still unanswered is unparsable. */
type ResponseState = 'head' | 'body' | 'stopped' | 'failed';

export class HttpConnection {
  readonly #limits: HttpLimits;
  readonly #anomalies: Anomalies;
  readonly #digestResponseBody: (request: RequestHead) => boolean;
  readonly #onExchange: (exchange: HttpExchange) => void;
  readonly #onRequestHead: ((request: RequestHead) => void) | undefined;

  /** Not yet emitted, in request order. Only the first one can be answered (in its body). */
  #queue: Pending[] = [];
  /** Requests dropped for the pending cap whose responses may still come: true for HEAD. */
  #skipped: boolean[] = [];
  #ended = false;

  #requestState: RequestState = 'head';
  readonly #requestHead: HeadAccumulator;
  #requestBody: BodyReader | undefined;

  #responseState: ResponseState = 'head';
  readonly #responseHead: HeadAccumulator;
  #responseBody: BodyReader | undefined;
  #digestEntry: Pending | undefined;
  #hash: Hash | undefined;
  #digestBytes = 0;

  constructor(options: HttpConnectionOptions) {
    this.#limits = options.limits;
    this.#anomalies = options.anomalies;
    this.#digestResponseBody = options.digestResponseBody;
    this.#onExchange = options.onExchange;
    this.#onRequestHead = options.onRequest;
    this.#requestHead = new HeadAccumulator(options.limits.maxHeadBytes);
    this.#responseHead = new HeadAccumulator(options.limits.maxHeadBytes);
  }

  /** Bytes held for unfinished heads and framing lines (bounded by the limits). */
  get bufferedBytes(): number {
    return (
      this.#requestHead.bufferedBytes +
      this.#responseHead.bufferedBytes +
      (this.#requestBody?.bufferedBytes ?? 0) +
      (this.#responseBody?.bufferedBytes ?? 0)
    );
  }

  /** Requests seen but not yet emitted. */
  get pendingRequests(): number {
    return this.#queue.length;
  }

  requestData(data: Buffer, timeMs: number): void {
    let at = 0;
    while (at < data.length && !this.#ended && this.#requestState !== 'stopped') {
      if (this.#requestState === 'body' && this.#requestBody) {
        const body = this.#requestBody;
        at = body.feed(data, at);
        if (body.error) {
          this.#anomalies.count(HTTP_ANOMALIES.parseError);
          this.#stopRequests();
        } else if (body.done) {
          this.#requestBody = undefined;
          this.#requestState = 'head';
        }
        continue;
      }
      const pushed = this.#requestHead.push(data, at);
      if (pushed.kind === 'more') return;
      if (pushed.kind === 'too_large') {
        this.#anomalies.count(HTTP_ANOMALIES.headTooLarge);
        this.#stopRequests();
        return;
      }
      at = pushed.next;
      const parsed = parseRequestHead(pushed.head);
      if (!parsed.ok) {
        this.#anomalies.count(HTTP_ANOMALIES.parseError);
        this.#stopRequests();
        return;
      }
      const request: RequestHead = { ...parsed.head, timeMs };
      // The head is good even when its body cannot be delimited: report it, then stop.
      this.#onRequest(request);
      const framing = requestBodyFraming(parsed.head);
      if (!framing.ok) {
        this.#anomalies.count(HTTP_ANOMALIES.parseError);
        this.#stopRequests();
        return;
      }
      if (framing.framing.kind === 'length' || framing.framing.kind === 'chunked') {
        this.#requestBody = new BodyReader(framing.framing, this.#limits.maxHeadBytes);
        this.#requestState = 'body';
      }
    }
  }

  responseData(data: Buffer, timeMs: number): void {
    let at = 0;
    while (at < data.length && !this.#ended && this.#isResponseLive()) {
      if (this.#responseState === 'body' && this.#responseBody) {
        const body = this.#responseBody;
        at = body.feed(data, at);
        if (body.error) {
          this.#anomalies.count(HTTP_ANOMALIES.parseError);
          this.#failResponses();
        } else if (body.done) {
          this.#finishResponseBody(true);
        }
        continue;
      }
      const pushed = this.#responseHead.push(data, at);
      if (pushed.kind === 'more') return;
      if (pushed.kind === 'too_large') {
        this.#anomalies.count(HTTP_ANOMALIES.headTooLarge);
        this.#failResponses();
        return;
      }
      at = pushed.next;
      const parsed = parseResponseHead(pushed.head);
      if (!parsed.ok) {
        this.#anomalies.count(HTTP_ANOMALIES.parseError);
        this.#failResponses();
        return;
      }
      this.#onResponseHead({ ...parsed.head, timeMs });
    }
  }

  /** Bytes missing from one direction: that stream cannot be trusted past here. */
  gap(direction: 'request' | 'response'): void {
    if (this.#ended) return;
    if (direction === 'request') {
      if (this.#requestState === 'stopped') return;
      this.#anomalies.count(HTTP_ANOMALIES.requestGap);
      this.#stopRequests();
    } else {
      if (!this.#isResponseLive()) return;
      this.#anomalies.count(HTTP_ANOMALIES.responseGap);
      this.#failResponses();
    }
  }

  /** The flow is over: emit everything still open. Later calls are ignored. */
  end(_timeMs: number): void {
    if (this.#ended) return;
    if (this.#requestHead.started) this.#anomalies.count(HTTP_ANOMALIES.truncatedRequest);
    if (this.#responseState === 'body' && this.#responseBody) {
      // A close-delimited body ends with the connection; a length or chunked one was cut short.
      this.#finishResponseBody(this.#responseBody.completeAtEnd);
    }
    this.#ended = true;
    const unanswered: ExchangeOutcome =
      this.#responseState === 'failed' ? 'response_unparsable' : 'no_response';
    for (const entry of this.#queue) {
      entry.outcome ??= entry.response ? 'answered' : unanswered;
    }
    this.#flush();
    this.#requestHead.reset();
    this.#responseHead.reset();
    this.#requestBody = undefined;
    this.#responseBody = undefined;
  }

  #isResponseLive(): boolean {
    return this.#responseState === 'head' || this.#responseState === 'body';
  }

  #onRequest(request: RequestHead): void {
    this.#onRequestHead?.(request);
    const entry: Pending = {
      request,
      wantDigest: this.#digestResponseBody(request),
      response: undefined,
      digest: undefined,
      outcome: undefined,
    };
    if (this.#responseState === 'failed') {
      // Its response can never be read; nothing is gained by holding it.
      entry.outcome = 'response_unparsable';
      this.#queue.push(entry);
      this.#flush();
      return;
    }
    this.#queue.push(entry);
    while (this.#queue.length > this.#limits.maxPendingRequests) this.#dropOldest();
  }

  /** Pending cap hit: give up on the oldest request so memory stays bounded. */
  #dropOldest(): void {
    const oldest = this.#queue[0];
    if (!oldest) return;
    this.#anomalies.count(HTTP_ANOMALIES.tooManyPending);
    if (oldest.response) {
      // Answered and in its body: emit it now, without the digest.
      this.#abandonDigest();
      oldest.outcome ??= 'answered';
    } else {
      oldest.outcome = 'no_response';
      // Keep response matching in step: its response, if it comes, is skipped.
      this.#skipped.push(oldest.request.method === 'HEAD');
      if (this.#skipped.length > this.#limits.maxPendingRequests) this.#failResponses();
    }
    this.#flush();
  }

  #onResponseHead(response: ResponseHead): void {
    let method: string;
    const entry = this.#skipped.length > 0 ? undefined : this.#queue[0];
    if (this.#skipped.length > 0) {
      method = this.#skipped[0] ? 'HEAD' : 'GET';
    } else if (entry && !entry.response) {
      method = entry.request.method;
    } else {
      // A response nobody asked for: either the request stream stopped (expected, stay quiet)
      // or the server sent something unsolicited (a 408 before closing ...).
      if (this.#requestState !== 'stopped') {
        this.#anomalies.count(HTTP_ANOMALIES.unexpectedResponse);
        this.#failResponses();
      } else {
        this.#responseState = 'stopped';
      }
      return;
    }
    if (response.status >= 100 && response.status < 200 && response.status !== 101) return;
    if (!entry) this.#skipped.shift();
    if (entry) entry.response = response;

    if (response.status === 101) {
      // The connection now speaks another protocol in both directions.
      this.#anomalies.count(HTTP_ANOMALIES.protocolSwitch);
      for (const e of this.#queue) e.outcome ??= e === entry ? 'answered' : 'no_response';
      this.#flush();
      this.#stopRequests();
      this.#responseState = 'stopped';
      this.#responseHead.reset();
      return;
    }

    const framing = responseBodyFraming(method, response);
    if (!framing.ok) {
      this.#anomalies.count(HTTP_ANOMALIES.parseError);
      this.#failResponses();
      return;
    }
    const kind = framing.framing.kind;
    if (kind === 'none') {
      if (entry) this.#complete(entry);
      return;
    }
    let sink: ((payload: Buffer) => void) | undefined;
    if (entry?.wantDigest) {
      this.#digestEntry = entry;
      this.#hash = createHash('sha256');
      this.#digestBytes = 0;
      sink = (payload) => {
        this.#digest(payload);
      };
    } else if (entry) {
      this.#complete(entry);
    }
    const reader = new BodyReader(framing.framing, this.#limits.maxHeadBytes, sink);
    this.#responseBody = reader;
    this.#responseState = 'body';
    if (reader.done) this.#finishResponseBody(true);
  }

  #digest(payload: Buffer): void {
    if (!this.#hash) return;
    this.#digestBytes += payload.length;
    if (this.#digestBytes > this.#limits.maxDigestBytes) {
      this.#anomalies.count(HTTP_ANOMALIES.digestTooLarge);
      this.#abandonDigest();
      this.#flush();
      return;
    }
    this.#hash.update(payload);
  }

  /** Stops digesting; the exchange is emitted without a digest (the body is still skipped). */
  #abandonDigest(): void {
    const entry = this.#digestEntry;
    this.#digestEntry = undefined;
    this.#hash = undefined;
    if (entry) entry.outcome = 'answered';
  }

  #finishResponseBody(complete: boolean): void {
    const entry = this.#digestEntry;
    if (entry && this.#hash && complete) entry.digest = this.#hash.digest('hex');
    this.#abandonDigest();
    if (entry) this.#flush();
    this.#responseBody = undefined;
    this.#responseState = 'head';
  }

  #complete(entry: Pending): void {
    entry.outcome = 'answered';
    this.#flush();
  }

  #stopRequests(): void {
    this.#requestState = 'stopped';
    this.#requestHead.reset();
    this.#requestBody = undefined;
  }

  /** The response stream is unreadable from here: settle every open exchange now. */
  #failResponses(): void {
    this.#abandonDigest();
    this.#responseState = 'failed';
    this.#responseHead.reset();
    this.#responseBody = undefined;
    this.#skipped = [];
    for (const entry of this.#queue) {
      entry.outcome ??= entry.response ? 'answered' : 'response_unparsable';
    }
    this.#flush();
  }

  /** Emits settled exchanges from the front, keeping request order. */
  #flush(): void {
    while (this.#queue[0]?.outcome !== undefined) {
      const entry = this.#queue.shift();
      if (!entry?.outcome) break;
      this.#onExchange({
        request: entry.request,
        response: entry.response,
        outcome: entry.outcome,
        responseBodySha256: entry.digest,
      });
    }
  }
}
