import type { ImdsRequestRecord } from '../pipeline/record.js';
import { processView, requestView, userOf } from './record-view.js';
import { bounded, LIMITS } from './sanitize.js';

/**
 * The JSON event of one IMDS request: Elastic Common Schema names as nested objects, our own
 * facts under `imds.*`. Built field by field from a whitelist: request headers are never
 * copied wholesale (they hold the token) and no body is ever seen here. Absent facts are
 * omitted, never null. Documented in docs/events.md, checked by event-schema.ts.
 */

/** Facts about the host the events come from; kept small on purpose. */
export interface HostFacts {
  readonly hostname: string;
}

export type EventOutcome = 'success' | 'failure' | 'unknown';

export interface EcsEvent {
  readonly '@timestamp': string;
  readonly event: {
    readonly kind: 'event';
    readonly category: readonly ['network'];
    readonly action: 'imds-request';
    readonly outcome: EventOutcome;
    /** Nanoseconds from the request head to the response head. */
    readonly duration?: number;
  };
  readonly imds: {
    readonly kind: 'v1' | 'v2' | 'token';
    readonly token?: {
      readonly fingerprint?: string;
      readonly ttl_seconds?: number;
      readonly ttl_invalid?: boolean;
    };
    readonly forwarded_for: boolean;
    readonly flow: { readonly id: string; readonly request_index: number };
    readonly exchange: { readonly outcome: 'answered' | 'no_response' | 'response_unparsable' };
    readonly process?: {
      readonly ancestors: readonly {
        readonly pid: number;
        readonly name: string;
        readonly command_line: string;
      }[];
    };
    readonly kubernetes?: { readonly pod_uid: string };
    readonly systemd?: { readonly unit: string };
    readonly attribution: {
      readonly status: 'ok' | 'exited' | 'unknown';
      readonly method?: 'proc' | 'lsof';
      readonly reason?: string;
      readonly latency_ms?: number;
    };
    readonly client: {
      readonly name: string;
      readonly version?: string;
      readonly supports_imdsv2?: boolean;
      readonly hint: string;
    };
    readonly fallback?: {
      readonly after_flow_id: string;
      readonly token_outcome: string;
      readonly explanation: string;
    };
  };
  readonly http: {
    readonly version?: string;
    readonly request: { readonly method: string };
    readonly response?: { readonly status_code: number };
  };
  readonly url: { readonly path: string; readonly query?: string };
  readonly user_agent?: { readonly original: string };
  readonly source: { readonly ip: string; readonly port: number };
  readonly destination: { readonly ip: string; readonly port: number };
  readonly network: {
    readonly type: 'ipv4' | 'ipv6';
    readonly transport: 'tcp';
    readonly protocol: 'http';
    readonly community_id: string;
  };
  /** The capturing host; absent for pcap files, which come from elsewhere. */
  readonly host?: { readonly hostname: string };
  readonly process?: {
    readonly pid: number;
    readonly name: string;
    readonly executable?: string;
    readonly args: readonly string[];
    readonly command_line: string;
    readonly start: string;
    readonly parent?: { readonly pid: number; readonly name: string };
  };
  readonly user?: EcsUser;
  readonly container?: { readonly id: string; readonly runtime: string };
}

/** ISO-8601 UTC with milliseconds; capture times carry sub-millisecond fractions. */
export function isoTime(timeMs: number): string {
  return new Date(Math.floor(timeMs)).toISOString();
}

/** `HTTP/1.1` -> `1.1` (ECS http.version); undefined for anything that is not HTTP/x.y. */
function httpVersion(version: string): string | undefined {
  const m = /^HTTP\/(\d\.\d)$/.exec(version);
  return m?.[1];
}

export function eventOutcome(record: ImdsRequestRecord): EventOutcome {
  const { exchange } = record;
  if (exchange.outcome === 'no_response') return 'failure';
  if (exchange.outcome === 'response_unparsable' || exchange.response === undefined) {
    return 'unknown';
  }
  return exchange.response.status < 400 ? 'success' : 'failure';
}

export function toEcsEvent(record: ImdsRequestRecord, host: HostFacts | undefined): EcsEvent {
  const { exchange, classification: c, flow, client, attribution, fallback } = record;
  const request = exchange.request;
  const response = exchange.response;
  const { method, path, query, userAgent } = requestView(record);
  const version = httpVersion(request.version);
  const status = response?.status ?? c.status;
  const proc = processView(record);
  const user = userOf(record);

  const token = {
    ...(c.tokenFingerprint !== undefined && { fingerprint: c.tokenFingerprint }),
    ...(c.kind === 'token' &&
      c.tokenTtlSeconds !== undefined && { ttl_seconds: c.tokenTtlSeconds }),
    ...(c.kind === 'token' && { ttl_invalid: c.tokenTtlInvalid }),
  };

  return {
    '@timestamp': isoTime(request.timeMs),
    event: {
      kind: 'event',
      category: ['network'],
      action: 'imds-request',
      outcome: eventOutcome(record),
      ...(response !== undefined && {
        duration: Math.max(0, Math.round((response.timeMs - request.timeMs) * 1e6)),
      }),
    },
    imds: {
      kind: c.kind,
      ...(Object.keys(token).length > 0 && { token }),
      forwarded_for: c.forwardedFor,
      flow: { id: flow.id, request_index: record.requestIndex },
      exchange: { outcome: exchange.outcome },
      ...(proc !== undefined && {
        process: {
          ancestors: proc.ancestors.map((a) => ({
            pid: a.pid,
            name: a.name,
            command_line: a.commandLine,
          })),
        },
      }),
      ...(proc?.podUid !== undefined && { kubernetes: { pod_uid: proc.podUid } }),
      ...(proc?.systemdUnit !== undefined && { systemd: { unit: proc.systemdUnit } }),
      attribution:
        attribution.status === 'ok'
          ? {
              status: 'ok',
              method: attribution.method,
              latency_ms: round3(attribution.latencyMs),
            }
          : attribution.status === 'exited'
            ? {
                status: 'exited',
                method: attribution.method,
                reason: bounded(attribution.reason, LIMITS.reason),
                latency_ms: round3(attribution.latencyMs),
              }
            : { status: 'unknown', reason: bounded(attribution.reason, LIMITS.reason) },
      client: {
        name: client.name,
        ...(client.version !== undefined && { version: bounded(client.version, 64) }),
        ...(client.supportsImdsV2 !== undefined && { supports_imdsv2: client.supportsImdsV2 }),
        hint: client.hint,
      },
      ...(fallback !== undefined && {
        fallback: {
          after_flow_id: fallback.afterTokenFlowId,
          token_outcome: fallback.tokenOutcome,
          explanation: fallback.explanation,
        },
      }),
    },
    http: {
      ...(version !== undefined && { version }),
      request: { method },
      ...(status !== undefined && { response: { status_code: status } }),
    },
    url: { path, ...(query !== undefined && { query }) },
    ...(userAgent !== undefined && { user_agent: { original: userAgent } }),
    source: { ip: flow.client.ip, port: flow.client.port },
    destination: { ip: flow.server.ip, port: flow.server.port },
    network: {
      type: flow.family,
      transport: 'tcp',
      protocol: 'http',
      community_id: flow.communityId,
    },
    ...(host !== undefined && { host: { hostname: host.hostname } }),
    ...(proc !== undefined && {
      process: {
        pid: proc.pid,
        name: proc.name,
        ...(proc.executable !== undefined && { executable: proc.executable }),
        args: proc.args,
        command_line: proc.commandLine,
        start: proc.start,
        ...(proc.parent !== undefined && { parent: proc.parent }),
      },
    }),
    ...(user !== undefined && { user: ecsUser(user) }),
    ...(proc?.container !== undefined && {
      container: { id: proc.container.id, runtime: proc.container.runtime },
    }),
  };
}

/** Latency with microsecond precision: more digits are noise, fewer hide fast lookups. */
function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** ECS `user` (id as a string, name when known): the same in request, roll-up and summary events. */
export interface EcsUser {
  readonly id: string;
  readonly name?: string;
}

export function ecsUser(u: { readonly uid: number; readonly name: string | undefined }): EcsUser {
  return { id: String(u.uid), ...(u.name !== undefined && { name: u.name }) };
}
