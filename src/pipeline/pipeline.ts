/**
 * The analysis pipeline from the brief, wired in one place:
 * frame -> decode -> flows (reassembly) -> http -> classify -> attribute -> record.
 *
 * Everything here is synchronous per frame except attribution, which starts at a flow's first
 * packet and is awaited only when a request is ready to be reported, so a slow /proc scan
 * never stalls decoding. Records of one connection come out in request order.
 */
import { Anomalies } from '../anomalies.js';
import type { Attribution, Attributor } from '../attribute/attribution.js';
import type { Frame } from '../capture/frame.js';
import type { ImdsKind } from '../classify/classification.js';
import { classifyExchange, isTokenRequest } from '../classify/classify.js';
import { FallbackDetector } from '../classify/fallback.js';
import { clientVerdict } from '../classify/user-agent.js';
import { decodeFrame } from '../decode/link.js';
import type {
  Direction,
  FlowEndReason,
  FlowInfo,
  FlowListener,
  FlowTableConfig,
} from '../flows/flow.js';
import { FlowTable } from '../flows/flow-table.js';
import {
  headerValue,
  type HttpExchange,
  type HttpLimits,
  type RequestHead,
} from '../http/exchange.js';
import { HttpConnection } from '../http/http-connection.js';
import type { ImdsRequestRecord } from './record.js';

export interface PipelineOptions {
  readonly flows: FlowTableConfig;
  readonly http: HttpLimits;
  readonly attributor: Attributor;
  /** How long after a failed token request a v1 call still counts as a fallback. */
  readonly fallbackWindowMs: number;
  readonly onRecord: (record: ImdsRequestRecord) => void;
  /** A sink failed while writing a record; the record is counted as lost, the pipeline goes on. */
  readonly onError: (error: unknown) => void;
}

export interface PipelineCounters {
  readonly frames: number;
  readonly segments: number;
  readonly requests: number;
  /** Requests not reported because their connection is a NAT twin of one already reported. */
  readonly twinRequestsSuppressed: number;
}

interface FlowState {
  readonly flow: FlowInfo;
  readonly http: HttpConnection;
  readonly attribution: Promise<Attribution>;
  requests: number;
}

export class Pipeline implements FlowListener {
  readonly anomalies = new Anomalies();
  readonly #options: PipelineOptions;
  readonly #table: FlowTable;
  readonly #flows = new Map<string, FlowState>();
  readonly #fallback: FallbackDetector;
  /** Reports not yet written because their attribution is still running. */
  readonly #inFlight = new Set<Promise<void>>();
  #frames = 0;
  #segments = 0;
  #requests = 0;
  #twinRequests = 0;

  constructor(options: PipelineOptions) {
    this.#options = options;
    this.#table = new FlowTable(options.flows, this, this.anomalies);
    this.#fallback = new FallbackDetector(options.fallbackWindowMs);
  }

  handleFrame(frame: Frame): void {
    this.#frames += 1;
    const decoded = decodeFrame(frame.linkType, frame.data);
    if (decoded.kind !== 'tcp') {
      this.anomalies.count(decoded.reason);
      return;
    }
    this.#segments += 1;
    this.#table.process(decoded.segment, frame.timeMs);
  }

  /** Ends flows idle for longer than the configured timeout (call it from a clock). */
  expireIdle(nowMs: number): void {
    this.#table.expireIdle(nowMs);
  }

  /** Ends every open flow and waits until every request has been reported. */
  async shutdown(nowMs: number): Promise<void> {
    this.#table.shutdown(nowMs);
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  counters(): PipelineCounters {
    return {
      frames: this.#frames,
      segments: this.#segments,
      requests: this.#requests,
      twinRequestsSuppressed: this.#twinRequests,
    };
  }

  // FlowListener: the flow table calls these in stream order.

  flowStarted(flow: FlowInfo, timeMs: number): void {
    // A NAT twin is the same connection again: no second lookup, its requests are not reported.
    const attribution =
      flow.twinOf === undefined
        ? this.#options.attributor.lookup(flow, timeMs)
        : Promise.resolve<Attribution>({ status: 'unknown', reason: `NAT twin of ${flow.twinOf}` });
    const state: FlowState = {
      flow,
      attribution,
      requests: 0,
      http: new HttpConnection({
        limits: this.#options.http,
        anomalies: this.anomalies,
        digestResponseBody: isTokenRequest,
        onExchange: (exchange) => {
          this.#exchange(state, exchange);
        },
        onRequest: (request) => {
          this.#requestHead(state, request);
        },
      }),
    };
    this.#flows.set(flow.id, state);
  }

  streamData(flow: FlowInfo, direction: Direction, data: Buffer, timeMs: number): void {
    const state = this.#flows.get(flow.id);
    if (state === undefined) return;
    if (direction === 'request') state.http.requestData(data, timeMs);
    else state.http.responseData(data, timeMs);
  }

  streamGap(flow: FlowInfo, direction: Direction): void {
    this.#flows.get(flow.id)?.http.gap(direction);
  }

  flowEnded(flow: FlowInfo, _reason: FlowEndReason, timeMs: number): void {
    const state = this.#flows.get(flow.id);
    if (state === undefined) return;
    state.http.end(timeMs);
    this.#flows.delete(flow.id);
  }

  /** A token PUT is remembered from its request on: a v1 call before its answer is a fallback. */
  #requestHead(state: FlowState, request: RequestHead): void {
    if (state.flow.twinOf !== undefined || !isTokenRequest(request)) return;
    void state.attribution.then((attribution) => {
      this.#fallback.tokenRequested(
        fallbackKeys('token', state.flow, attribution, request),
        state.flow.id,
        request.timeMs,
      );
    });
  }

  #exchange(state: FlowState, exchange: HttpExchange): void {
    state.requests += 1;
    if (state.flow.twinOf !== undefined) {
      this.#twinRequests += 1;
      return;
    }
    this.#requests += 1;
    const requestIndex = state.requests;
    const classification = classifyExchange(exchange);
    const client = clientVerdict(headerValue(exchange.request.headers, 'user-agent'));
    // Attribution callbacks of one flow run in registration order, so per-connection order holds.
    const report = state.attribution
      .then((attribution) => {
        const inContainer =
          attribution.status === 'ok' && attribution.process.container !== undefined;
        const fallback = this.#fallback.observe(
          fallbackKeys(classification.kind, state.flow, attribution, exchange.request),
          state.flow.id,
          classification,
          exchange.outcome,
          exchange.request.timeMs,
          inContainer,
        );
        this.#options.onRecord({
          flow: state.flow,
          requestIndex,
          exchange,
          classification,
          client,
          attribution,
          fallback,
        });
      })
      .catch((error: unknown) => {
        this.anomalies.count('pipeline.report_failed');
        this.#options.onError(error);
      });
    this.#inFlight.add(report);
    void report.then(() => this.#inFlight.delete(report));
  }
}

/**
 * Keys under which the fallback detector remembers "the same client". A named process is its
 * pid and start time; every client is also its address and User-Agent, which is all that is
 * known when the process was not named (exited, or seen only after NAT). A named process's v1
 * call is matched by its own key only, so one process's failed token never marks another's.
 */
function fallbackKeys(
  kind: ImdsKind,
  flow: FlowInfo,
  attribution: Attribution,
  request: RequestHead,
): string[] {
  const byAddress = `address ${flow.client.ip} ${headerValue(request.headers, 'user-agent') ?? ''}`;
  if (attribution.status !== 'ok') return [byAddress];
  const byProcess = `process ${attribution.process.pid} ${attribution.process.start}`;
  return kind === 'v1' ? [byProcess] : [byProcess, byAddress];
}
