import { Anomalies } from '../../src/anomalies.js';
import {
  DEFAULT_HTTP_LIMITS,
  type HttpExchange,
  type HttpLimits,
} from '../../src/http/exchange.js';
import { HttpConnection } from '../../src/http/http-connection.js';
import { isTokenRequest } from '../../src/classify/classify.js';

export interface Harness {
  readonly conn: HttpConnection;
  readonly anomalies: Anomalies;
  readonly exchanges: HttpExchange[];
}

export function harness(limits: Partial<HttpLimits> = {}): Harness {
  const anomalies = new Anomalies();
  const exchanges: HttpExchange[] = [];
  const conn = new HttpConnection({
    limits: { ...DEFAULT_HTTP_LIMITS, ...limits },
    anomalies,
    digestResponseBody: isTokenRequest,
    onExchange: (e) => exchanges.push(e),
  });
  return { conn, anomalies, exchanges };
}

export const b = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Exchanges without capture times, for comparing runs fed in different chunkings. */
export function untimed(exchanges: readonly HttpExchange[]): unknown[] {
  return exchanges.map((e) => ({
    request: { ...e.request, timeMs: 0 },
    response: e.response ? { ...e.response, timeMs: 0 } : undefined,
    outcome: e.outcome,
    responseBodySha256: e.responseBodySha256,
  }));
}

/** Short view of exchanges: "GET /a -> 200 answered". */
export function summary(exchanges: readonly HttpExchange[]): string[] {
  return exchanges.map(
    (e) => `${e.request.method} ${e.request.target} -> ${e.response?.status ?? '-'} ${e.outcome}`,
  );
}
