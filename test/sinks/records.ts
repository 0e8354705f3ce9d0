/**
 * Builders of ImdsRequestRecord values for sink tests: plain objects, as the pipeline would
 * hand them on. Addresses are documentation ranges; names and ids are fake.
 */
import type { Attribution, ProcessFacts } from '../../src/attribute/attribution.js';
import type { ImdsKind } from '../../src/classify/classification.js';
import type { HttpHeader } from '../../src/http/exchange.js';
import type { ImdsRequestRecord } from '../../src/pipeline/record.js';
import type { HostFacts } from '../../src/sinks/ecs-event.js';

export const HOST: HostFacts = { hostname: 'host-a.example' };

/** 2026-01-02T03:04:05.678Z plus a sub-millisecond fraction, as pcap times have. */
export const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678) + 0.25;

export function curlProcess(overrides: Partial<ProcessFacts> = {}): ProcessFacts {
  return {
    pid: 1234,
    name: 'curl',
    executable: '/usr/bin/curl',
    args: ['curl', '-s', 'http://169.254.169.254/latest/meta-data/'],
    commandLine: 'curl -s http://169.254.169.254/latest/meta-data/',
    start: '2026-01-02T03:04:05.000Z',
    parent: { pid: 1000, name: 'bash' },
    ancestors: [
      { pid: 1000, name: 'bash', commandLine: '-bash' },
      { pid: 1, name: 'systemd', commandLine: '/sbin/init' },
    ],
    uid: 0,
    userName: 'root',
    cgroup: '0::/system.slice/cron.service',
    systemdUnit: 'cron.service',
    container: undefined,
    podUid: undefined,
    ...overrides,
  };
}

type Ok = Extract<Attribution, { status: 'ok' }>;
type Exited = Extract<Attribution, { status: 'exited' }>;

export const OK: Ok = {
  status: 'ok',
  method: 'proc',
  process: curlProcess(),
  latencyMs: 0.4321,
};
export const EXITED: Exited = {
  status: 'exited',
  method: 'proc',
  reason: 'process exited before lookup',
  uid: 1000,
  userName: 'alice',
  latencyMs: 3,
};
export const UNKNOWN: Attribution = { status: 'unknown', reason: 'reading a capture file' };

export interface RecordSpec {
  kind?: ImdsKind | undefined;
  method?: string | undefined;
  target?: string | undefined;
  headers?: HttpHeader[] | undefined;
  status?: number | undefined;
  outcome?: 'answered' | 'no_response' | 'response_unparsable' | undefined;
  timeMs?: number | undefined;
  responseDelayMs?: number | undefined;
  attribution?: Attribution | undefined;
  family?: 'ipv4' | 'ipv6' | undefined;
  clientIp?: string | undefined;
  clientPort?: number | undefined;
  flowId?: string | undefined;
  requestIndex?: number | undefined;
  fingerprint?: string | undefined;
  ttl?: number | undefined;
  ttlInvalid?: boolean | undefined;
  forwardedFor?: boolean | undefined;
  fallback?: ImdsRequestRecord['fallback'] | undefined;
  clientName?: string | undefined;
  clientVersion?: string | undefined;
  supportsV2?: boolean | undefined;
  hint?: string | undefined;
}

export function record(spec: RecordSpec = {}): ImdsRequestRecord {
  const kind = spec.kind ?? 'v1';
  const family = spec.family ?? 'ipv4';
  const timeMs = spec.timeMs ?? T0;
  const outcome = spec.outcome ?? 'answered';
  const status = outcome === 'answered' ? (spec.status ?? 200) : undefined;
  const headers = spec.headers ?? [
    { name: 'Host', value: '169.254.169.254' },
    { name: 'User-Agent', value: 'curl/7.88.1' },
    { name: 'Accept', value: '*/*' },
  ];
  return {
    flow: {
      id: spec.flowId ?? 'C1',
      communityId: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
      family,
      client: {
        ip: spec.clientIp ?? (family === 'ipv4' ? '192.0.2.2' : '2001:db8::2'),
        port: spec.clientPort ?? 40000,
      },
      server: { ip: family === 'ipv4' ? '169.254.169.254' : 'fd00:ec2::254', port: 80 },
      startMs: timeMs - 1,
      sawSyn: true,
      twinOf: undefined,
    },
    requestIndex: spec.requestIndex ?? 1,
    exchange: {
      request: {
        method: spec.method ?? (kind === 'token' ? 'PUT' : 'GET'),
        target:
          spec.target ?? (kind === 'token' ? '/latest/api/token' : '/latest/meta-data/instance-id'),
        version: 'HTTP/1.1',
        headers,
        timeMs,
      },
      response:
        status === undefined
          ? undefined
          : {
              status,
              version: 'HTTP/1.1',
              headers: [{ name: 'Content-Length', value: '19' }],
              timeMs: timeMs + (spec.responseDelayMs ?? 1.5),
            },
      outcome,
      responseBodySha256: undefined,
    },
    classification: {
      kind,
      tokenTtlSeconds: kind === 'token' ? (spec.ttl ?? 21600) : undefined,
      tokenTtlInvalid: spec.ttlInvalid ?? false,
      tokenFingerprint: spec.fingerprint,
      forwardedFor: spec.forwardedFor ?? false,
      status,
    },
    client: {
      name: spec.clientName ?? 'curl',
      version: 'clientVersion' in spec ? spec.clientVersion : '7.88.1',
      supportsImdsV2: 'supportsV2' in spec ? spec.supportsV2 : true,
      hint: spec.hint ?? 'supports IMDSv2: enable it (send a token)',
    },
    attribution: spec.attribution ?? OK,
    fallback: spec.fallback,
  };
}
