import type { Attribution } from '../attribute/attribution.js';
import type { Classification, ClientVerdict, FallbackVerdict } from '../classify/classification.js';
import type { FlowInfo } from '../flows/flow.js';
import type { HttpExchange } from '../http/exchange.js';

/**
 * One IMDS request with everything the pipeline learnt about it: the input of every sink.
 * Sinks pick fields from it by name; they never serialise `exchange.request.headers` wholesale
 * (they hold the token).
 */
export interface ImdsRequestRecord {
  readonly flow: FlowInfo;
  /** 1 for the first request on the connection, 2 for the next (keep-alive) ... */
  readonly requestIndex: number;
  readonly exchange: HttpExchange;
  readonly classification: Classification;
  readonly client: ClientVerdict;
  readonly attribution: Attribution;
  readonly fallback: FallbackVerdict | undefined;
}
