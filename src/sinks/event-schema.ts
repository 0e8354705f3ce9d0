/**
 * JSON Schema (draft 2020-12) of every event imds-analyzer writes: `imds-request`,
 * `imds-rollup` and `imds-summary`. This object is the single source of truth; the shipped
 * `event-schema.json` beside it is generated from it (a test fails when they differ and says
 * how to regenerate). Objects are closed (`additionalProperties: false`), so a field added to
 * a sink without being documented here fails the tests.
 */

type Schema = Record<string, unknown>;

const str = { type: 'string' } as const;
const nonEmpty = { type: 'string', minLength: 1 } as const;
const int = { type: 'integer' } as const;
const count = { type: 'integer', minimum: 0 } as const;
const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const bool = { type: 'boolean' } as const;
const time = { $ref: '#/$defs/timestamp' } as const;
const kind = { enum: ['v1', 'v2', 'token'] } as const;

function obj(properties: Record<string, unknown>, required: readonly string[] = []): Schema {
  return { type: 'object', properties, required, additionalProperties: false };
}

const requestCounts = obj({ total: count, v1: count, v2: count, token: count }, [
  'total',
  'v1',
  'v2',
  'token',
]);
const attributionCounts = obj({ ok: count, exited: count, unknown: count }, [
  'ok',
  'exited',
  'unknown',
]);
const statuses = {
  type: 'object',
  propertyNames: { pattern: '^([0-9]{3}|none)$' },
  additionalProperties: count,
} as const;
const user = obj({ id: nonEmpty, name: str }, ['id']);
const container = obj({ id: nonEmpty, runtime: nonEmpty }, ['id', 'runtime']);
const client = obj({ name: nonEmpty, version: str, supports_imdsv2: bool, hint: str }, [
  'name',
  'hint',
]);
const host = obj({ hostname: str }, ['hostname']);
const category = { type: 'array', items: { const: 'network' }, minItems: 1, maxItems: 1 };

const requestEvent = obj(
  {
    '@timestamp': time,
    event: obj(
      {
        kind: { const: 'event' },
        category,
        action: { const: 'imds-request' },
        outcome: { enum: ['success', 'failure', 'unknown'] },
        duration: count,
      },
      ['kind', 'category', 'action', 'outcome'],
    ),
    imds: obj(
      {
        kind,
        token: obj({
          fingerprint: { type: 'string', pattern: '^[0-9a-f]{16}$' },
          ttl_seconds: int,
          ttl_invalid: bool,
        }),
        forwarded_for: bool,
        flow: obj({ id: nonEmpty, request_index: { type: 'integer', minimum: 1 } }, [
          'id',
          'request_index',
        ]),
        exchange: obj({ outcome: { enum: ['answered', 'no_response', 'response_unparsable'] } }, [
          'outcome',
        ]),
        process: obj(
          {
            ancestors: {
              type: 'array',
              items: obj({ pid: count, name: str, command_line: str }, [
                'pid',
                'name',
                'command_line',
              ]),
            },
          },
          ['ancestors'],
        ),
        kubernetes: obj({ pod_uid: nonEmpty }, ['pod_uid']),
        systemd: obj({ unit: nonEmpty }, ['unit']),
        attribution: {
          oneOf: [
            obj(
              {
                status: { const: 'ok' },
                method: { enum: ['proc', 'lsof'] },
                latency_ms: { type: 'number', minimum: 0 },
              },
              ['status', 'method', 'latency_ms'],
            ),
            obj(
              {
                status: { const: 'exited' },
                method: { enum: ['proc', 'lsof'] },
                reason: str,
                latency_ms: { type: 'number', minimum: 0 },
              },
              ['status', 'method', 'reason', 'latency_ms'],
            ),
            obj({ status: { const: 'unknown' }, reason: str }, ['status', 'reason']),
          ],
        },
        client,
        fallback: obj({ after_flow_id: nonEmpty, token_outcome: nonEmpty, explanation: str }, [
          'after_flow_id',
          'token_outcome',
          'explanation',
        ]),
      },
      ['kind', 'forwarded_for', 'flow', 'exchange', 'attribution', 'client'],
    ),
    http: obj(
      {
        version: { type: 'string', pattern: '^[0-9]\\.[0-9]$' },
        request: obj({ method: nonEmpty }, ['method']),
        response: obj({ status_code: { type: 'integer', minimum: 100, maximum: 999 } }, [
          'status_code',
        ]),
      },
      ['request'],
    ),
    url: obj({ path: str, query: str }, ['path']),
    user_agent: obj({ original: { type: 'string', minLength: 1, maxLength: 512 } }, ['original']),
    source: obj({ ip: nonEmpty, port }, ['ip', 'port']),
    destination: obj({ ip: nonEmpty, port }, ['ip', 'port']),
    network: obj(
      {
        type: { enum: ['ipv4', 'ipv6'] },
        transport: { const: 'tcp' },
        protocol: { const: 'http' },
        community_id: nonEmpty,
      },
      ['type', 'transport', 'protocol', 'community_id'],
    ),
    host,
    process: obj(
      {
        pid: count,
        name: str,
        executable: str,
        args: { type: 'array', items: str },
        command_line: str,
        start: time,
        parent: obj({ pid: count, name: str }, ['pid', 'name']),
      },
      ['pid', 'name', 'args', 'command_line', 'start'],
    ),
    user,
    container,
  },
  ['@timestamp', 'event', 'imds', 'http', 'url', 'source', 'destination', 'network'],
);

const rollupEvent = obj(
  {
    '@timestamp': time,
    event: obj({ kind: { const: 'metric' }, category, action: { const: 'imds-rollup' } }, [
      'kind',
      'category',
      'action',
    ]),
    imds: obj(
      {
        kind,
        identity: nonEmpty,
        rollup: obj(
          {
            count: { type: 'integer', minimum: 1 },
            first_seen: time,
            last_seen: time,
            interval_s: { type: 'number', exclusiveMinimum: 0 },
            statuses,
            overflow_keys: { type: 'integer', minimum: 1 },
          },
          ['count', 'first_seen', 'last_seen', 'interval_s', 'statuses'],
        ),
        attribution: obj({ status: { enum: ['ok', 'exited', 'unknown'] } }, ['status']),
      },
      ['kind', 'identity', 'rollup'],
    ),
    url: obj({ path: str }, ['path']),
    host,
    source: obj({ ip: nonEmpty }, ['ip']),
    process: obj({ pid: count, name: str, executable: str, command_line: str }, [
      'pid',
      'name',
      'command_line',
    ]),
    user,
    container,
  },
  ['@timestamp', 'event', 'imds'],
);

const summaryClient = obj(
  {
    identity: nonEmpty,
    overflow: { const: true },
    requests: requestCounts,
    paths: obj({ count, list: { type: 'array', items: str }, capped: { const: true } }, [
      'count',
      'list',
    ]),
    first_seen: time,
    last_seen: time,
    statuses,
    attribution: attributionCounts,
    client,
    fallbacks: count,
    pids: { type: 'array', items: count },
    user,
  },
  [
    'identity',
    'requests',
    'paths',
    'first_seen',
    'last_seen',
    'statuses',
    'attribution',
    'fallbacks',
    'pids',
  ],
);

const summaryEvent = obj(
  {
    '@timestamp': time,
    event: obj(
      {
        kind: { const: 'metric' },
        category,
        action: { const: 'imds-summary' },
        start: time,
        end: time,
      },
      ['kind', 'category', 'action'],
    ),
    host,
    imds: obj(
      {
        summary: obj(
          {
            requests: requestCounts,
            attribution: attributionCounts,
            fallbacks: count,
            identities: count,
            identities_overflow: count,
            capture: obj(
              {
                source: str,
                frames: count,
                kernel_dropped: count,
                interface_dropped: count,
                twins_suppressed: count,
                parse_errors: count,
                flow_evictions: count,
                anomalies: { type: 'object', additionalProperties: count },
              },
              [
                'source',
                'frames',
                'interface_dropped',
                'twins_suppressed',
                'parse_errors',
                'flow_evictions',
                'anomalies',
              ],
            ),
            clients: { type: 'array', items: summaryClient },
          },
          ['requests', 'attribution', 'fallbacks', 'identities', 'identities_overflow', 'clients'],
        ),
      },
      ['summary'],
    ),
  },
  ['@timestamp', 'event', 'imds'],
);

/** The schema of every line imds-analyzer writes as JSON. */
export const eventSchema: Schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:imds-analyzer:event-schema:1',
  title: 'imds-analyzer events',
  description:
    'One JSON object per line: imds-request (one per IMDS call), imds-rollup (daemon repeats), imds-summary (end of a one-shot or offline run). See docs/events.md.',
  oneOf: [{ $ref: '#/$defs/request' }, { $ref: '#/$defs/rollup' }, { $ref: '#/$defs/summary' }],
  $defs: {
    timestamp: {
      type: 'string',
      pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$',
    },
    request: requestEvent,
    rollup: rollupEvent,
    summary: summaryEvent,
  },
};
