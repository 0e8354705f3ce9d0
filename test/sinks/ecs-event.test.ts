import t from 'tap';
import { toEcsEvent } from '../../src/sinks/ecs-event.js';
import { splitTarget } from '../../src/sinks/record-view.js';
import { curlProcess, EXITED, HOST, record, T0, UNKNOWN } from './records.js';
import { schemaErrors } from './validate.js';

t.test('a named v1 call maps every field by name', (t) => {
  const ev = toEcsEvent(
    record({
      target: '/latest/meta-data/iam/security-credentials/web?x=1',
      fingerprint: undefined,
    }),
    HOST,
  );
  t.same(schemaErrors(ev), []);
  t.equal(ev['@timestamp'], '2026-01-02T03:04:05.678Z');
  t.same(ev.event, {
    kind: 'event',
    category: ['network'],
    action: 'imds-request',
    outcome: 'success',
    duration: 1_500_000,
  });
  t.equal(ev.imds.kind, 'v1');
  t.equal(ev.imds.token, undefined, 'no token facts on a plain v1 call');
  t.equal(ev.imds.forwarded_for, false);
  t.same(ev.imds.flow, { id: 'C1', request_index: 1 });
  t.same(ev.imds.exchange, { outcome: 'answered' });
  t.same(ev.http, { version: '1.1', request: { method: 'GET' }, response: { status_code: 200 } });
  t.same(ev.url, { path: '/latest/meta-data/iam/security-credentials/web', query: 'x=1' });
  t.same(ev.user_agent, { original: 'curl/7.88.1' });
  t.same(ev.source, { ip: '192.0.2.2', port: 40000 });
  t.same(ev.destination, { ip: '169.254.169.254', port: 80 });
  t.same(ev.network, {
    type: 'ipv4',
    transport: 'tcp',
    protocol: 'http',
    community_id: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
  });
  t.same(ev.host, { hostname: 'host-a.example' });
  t.same(ev.process, {
    pid: 1234,
    name: 'curl',
    executable: '/usr/bin/curl',
    args: ['curl', '-s', 'http://169.254.169.254/latest/meta-data/'],
    command_line: 'curl -s http://169.254.169.254/latest/meta-data/',
    start: '2026-01-02T03:04:05.000Z',
    parent: { pid: 1000, name: 'bash' },
  });
  t.same(ev.imds.process, {
    ancestors: [
      { pid: 1000, name: 'bash', command_line: '-bash' },
      { pid: 1, name: 'systemd', command_line: '/sbin/init' },
    ],
  });
  t.same(ev.user, { id: '0', name: 'root' }, 'user.id is a string, as ECS says');
  t.same(ev.imds.systemd, { unit: 'cron.service' });
  t.equal(ev.container, undefined);
  t.equal(ev.imds.kubernetes, undefined);
  t.same(ev.imds.attribution, { status: 'ok', method: 'proc', latency_ms: 0.432 });
  t.same(ev.imds.client, {
    name: 'curl',
    version: '7.88.1',
    supports_imdsv2: true,
    hint: 'supports IMDSv2: enable it (send a token)',
  });
  t.equal(ev.imds.fallback, undefined);
  t.end();
});

t.test('token requests carry ttl and the issued token fingerprint', (t) => {
  const ev = toEcsEvent(
    record({ kind: 'token', ttl: 21600, fingerprint: '0123456789abcdef' }),
    HOST,
  );
  t.same(schemaErrors(ev), []);
  t.equal(ev.http.request.method, 'PUT');
  t.same(ev.imds.token, {
    fingerprint: '0123456789abcdef',
    ttl_seconds: 21600,
    ttl_invalid: false,
  });

  const bad = toEcsEvent(record({ kind: 'token', ttlInvalid: true, status: 400 }), HOST);
  t.same(schemaErrors(bad), []);
  t.equal(bad.imds.token?.ttl_invalid, true);
  t.equal(bad.event.outcome, 'failure', '400 is a failure');

  const v2 = toEcsEvent(record({ kind: 'v2', fingerprint: 'fedcba9876543210' }), HOST);
  t.same(v2.imds.token, { fingerprint: 'fedcba9876543210' }, 'no ttl fields on v2 requests');
  t.end();
});

t.test('absent facts are omitted, never null', (t) => {
  const ev = toEcsEvent(
    record({
      outcome: 'no_response',
      headers: [{ name: 'Host', value: '169.254.169.254' }],
      attribution: UNKNOWN,
      clientName: 'unknown',
      clientVersion: undefined,
      supportsV2: undefined,
      hint: 'unknown client',
    }),
    HOST,
  );
  t.same(schemaErrors(ev), []);
  const json = JSON.stringify(ev);
  t.notMatch(json, /null/);
  t.equal(ev.event.outcome, 'failure', 'no answer is a failure');
  t.equal(ev.event.duration, undefined);
  t.equal(ev.http.response, undefined);
  t.equal(ev.user_agent, undefined);
  t.equal(ev.url.query, undefined);
  for (const key of ['process', 'user', 'container'] as const) t.equal(ev[key], undefined, key);
  t.same(ev.imds.attribution, { status: 'unknown', reason: 'reading a capture file' });
  t.same(ev.imds.client, { name: 'unknown', hint: 'unknown client' });
  t.same(ev.imds.exchange, { outcome: 'no_response' });

  const unparsable = toEcsEvent(record({ outcome: 'response_unparsable' }), HOST);
  t.equal(unparsable.event.outcome, 'unknown');
  t.end();
});

t.test('an exited process keeps its uid from the socket table', (t) => {
  const ev = toEcsEvent(record({ attribution: EXITED }), HOST);
  t.same(schemaErrors(ev), []);
  t.equal(ev.process, undefined);
  t.same(ev.user, { id: '1000', name: 'alice' });
  t.same(ev.imds.attribution, {
    status: 'exited',
    method: 'proc',
    reason: 'process exited before lookup',
    latency_ms: 3,
  });
  const noName = toEcsEvent(record({ attribution: { ...EXITED, userName: undefined } }), HOST);
  t.same(noName.user, { id: '1000' });
  t.end();
});

t.test('containers, pods, IPv6, fallback and X-Forwarded-For', (t) => {
  const ev = toEcsEvent(
    record({
      family: 'ipv6',
      clientPort: 51000,
      forwardedFor: true,
      attribution: {
        status: 'ok',
        method: 'lsof',
        latencyMs: 12,
        process: curlProcess({
          executable: undefined,
          parent: undefined,
          systemdUnit: undefined,
          container: { id: 'a'.repeat(64), runtime: 'containerd' },
          podUid: '00000000-0000-4000-8000-000000000001',
        }),
      },
      fallback: {
        afterTokenFlowId: 'C7',
        tokenOutcome: 'no_response',
        explanation: 'token PUT got no answer: hop limit 1 is too low for a container',
      },
    }),
    HOST,
  );
  t.same(schemaErrors(ev), []);
  t.same(ev.source, { ip: '2001:db8::2', port: 51000 });
  t.same(ev.destination, { ip: 'fd00:ec2::254', port: 80 });
  t.equal(ev.network.type, 'ipv6');
  t.same(ev.container, { id: 'a'.repeat(64), runtime: 'containerd' });
  t.same(ev.imds.kubernetes, { pod_uid: '00000000-0000-4000-8000-000000000001' });
  t.equal(ev.imds.systemd, undefined);
  t.equal(ev.process?.executable, undefined);
  t.equal(ev.process?.parent, undefined);
  t.equal(ev.imds.forwarded_for, true);
  t.same(ev.imds.fallback, {
    after_flow_id: 'C7',
    token_outcome: 'no_response',
    explanation: 'token PUT got no answer: hop limit 1 is too low for a container',
  });
  t.equal(ev.imds.attribution.method, 'lsof');
  t.end();
});

t.test('wire strings are bounded; the JSON stays one line', (t) => {
  const agent = 'A'.repeat(5000);
  const ev = toEcsEvent(
    record({
      headers: [{ name: 'user-agent', value: `${agent}\r\nX-Evil: 1` }],
      target: '/latest/\u001b[31mred\n',
    }),
    HOST,
  );
  t.same(schemaErrors(ev), []);
  t.equal(ev.user_agent?.original.length, 512);
  t.ok(ev.user_agent?.original.endsWith('…'));
  const line = JSON.stringify(ev);
  // eslint-disable-next-line no-control-regex -- asserting these are absent
  t.notMatch(line, /[\n\r\u001b]/, 'control characters are escaped by JSON');
  t.equal((JSON.parse(line) as typeof ev).url.path, '/latest/\u001b[31mred\n', 'kept faithfully');
  t.end();
});

t.test('request time keeps milliseconds, duration is in nanoseconds', (t) => {
  // Binary fractions: epoch milliseconds as doubles only resolve ~0.2 microseconds.
  const ev = toEcsEvent(record({ timeMs: T0 + 0.5, responseDelayMs: 0.125 }), HOST);
  t.equal(ev['@timestamp'], '2026-01-02T03:04:05.678Z', 'truncated, not rounded up');
  t.equal(ev.event.duration, 125_000);
  t.end();
});

t.test('request targets split into path and query', (t) => {
  t.same(splitTarget('/latest/meta-data/'), { path: '/latest/meta-data/', query: undefined });
  t.same(splitTarget('/a?b=1&c'), { path: '/a', query: 'b=1&c' });
  t.same(splitTarget('/a?'), { path: '/a', query: '' });
  t.same(splitTarget('http://169.254.169.254/latest/x?y'), { path: '/latest/x', query: 'y' });
  t.same(splitTarget('http://169.254.169.254'), { path: '/', query: undefined });
  t.same(splitTarget('http://169.254.169.254?q'), { path: '/', query: 'q' });
  t.same(splitTarget('/a#frag'), { path: '/a', query: undefined });
  t.end();
});
