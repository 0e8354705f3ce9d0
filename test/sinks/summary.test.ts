import t from 'tap';
import { Summary, type CaptureFacts } from '../../src/sinks/summary.js';
import { curlProcess, EXITED, HOST, OK, record, T0, UNKNOWN } from './records.js';
import { schemaErrors } from './validate.js';

const agent = {
  ...OK,
  process: curlProcess({
    pid: 500,
    name: 'python3',
    executable: '/usr/bin/python3.11',
    args: ['python3', '/opt/agent.py'],
    commandLine: 'python3 /opt/agent.py',
    systemdUnit: 'agent.service',
  }),
};

const capture: CaptureFacts = {
  source: 'eth0',
  frames: 1234,
  kernelDropped: 2,
  interfaceDropped: 0,
  anomalies: {
    'decode.truncated_ipv4': 1,
    'flows.evicted': 4,
    'http.head_too_large': 3,
    'http.bad_request_line': 2,
  },
  twinsSuppressed: 5,
  startMs: T0 - 60_000,
  endMs: T0 + 60_000,
};

function filled(): Summary {
  const s = new Summary({ host: HOST });
  // agent: 1 v1 + 10 v2 + 1 token; curl (cron): 3 v1; exited client: 2 v1
  for (let i = 0; i < 10; i++) s.add(record({ kind: 'v2', attribution: agent, timeMs: T0 + i }));
  s.add(record({ kind: 'token', attribution: agent, timeMs: T0 - 5 }));
  s.add(
    record({
      attribution: agent,
      timeMs: T0 + 20,
      fallback: { afterTokenFlowId: 'C9', tokenOutcome: 'no_response', explanation: 'hop limit' },
    }),
  );
  s.add(record({ target: '/latest/meta-data/a' }));
  s.add(record({ target: '/latest/meta-data/b', status: 404 }));
  s.add(record({ target: '/latest/meta-data/a?x', outcome: 'no_response' }));
  s.add(
    record({
      attribution: EXITED,
      clientName: 'boto3',
      clientVersion: '1.9.0',
      supportsV2: false,
      hint: 'upgrade boto3 to >= 1.12.6',
    }),
  );
  s.add(
    record({
      attribution: EXITED,
      headers: [{ name: 'User-Agent', value: 'curl/7.88.1' }],
      clientName: 'unknown',
      hint: '?',
    }),
  );
  s.add(record({ kind: 'v2', attribution: UNKNOWN, clientIp: '192.0.2.9' }));
  s.setCapture(capture);
  return s;
}

t.test('groups by identity, most v1 first, with exact counts', (t) => {
  const s = filled();
  t.ok(s.v1Seen);
  const ev = s.toEvent();
  t.same(schemaErrors(ev), []);
  const sum = ev.imds.summary;
  t.same(sum.requests, { total: 18, v1: 6, v2: 11, token: 1 });
  t.same(sum.attribution, { ok: 15, exited: 2, unknown: 1 });
  t.equal(sum.fallbacks, 1);
  t.equal(sum.identities, 4);
  t.equal(sum.identities_overflow, 0);
  t.same(
    sum.clients.map((c) => [c.identity, c.requests.v1, c.requests.total]),
    [
      ['/usr/bin/curl: curl -s http://169.254.169.254/latest/meta-data/ (unit cron.service)', 3, 3],
      ['uid 1000 (alice) via 192.0.2.2 [curl/7.88.1]', 2, 2],
      ['/usr/bin/python3.11: python3 /opt/agent.py (unit agent.service)', 1, 12],
      ['192.0.2.9 [curl/7.88.1]', 0, 1],
    ],
  );
  const [curl, exited, py] = sum.clients;
  t.same(curl?.paths, { count: 2, list: ['/latest/meta-data/a', '/latest/meta-data/b'] });
  t.same(curl?.statuses, { '200': 1, '404': 1, none: 1 });
  t.same(curl?.pids, [1234]);
  t.same(curl?.user, { id: '0', name: 'root' });
  t.same(
    exited?.client,
    { name: 'boto3', version: '1.9.0', supports_imdsv2: false, hint: 'upgrade boto3 to >= 1.12.6' },
    'a named client beats a later unknown one',
  );
  t.same(exited?.attribution, { ok: 0, exited: 2, unknown: 0 });
  t.equal(py?.first_seen, '2026-01-02T03:04:05.673Z');
  t.equal(py?.last_seen, '2026-01-02T03:04:05.698Z');
  t.equal(py?.fallbacks, 1);
  t.same(sum.capture, {
    source: 'eth0',
    frames: 1234,
    kernel_dropped: 2,
    interface_dropped: 0,
    twins_suppressed: 5,
    parse_errors: 5,
    flow_evictions: 4,
    anomalies: capture.anomalies,
  });
  t.equal(ev.event.start, '2026-01-02T03:03:05.678Z');
  t.equal(ev['@timestamp'], '2026-01-02T03:05:05.678Z');
  t.end();
});

t.test('renders a readable table with totals', (t) => {
  const text = filled().renderText();
  const lines = text.split('\n');
  t.equal(lines[0], 'IMDS calls by process (4 clients, most IMDSv1 calls first)');
  t.equal(lines[1], '      v1     v2  token  client');
  t.equal(
    lines[2],
    '       3      0      0  /usr/bin/curl: curl -s http://169.254.169.254/latest/meta-data/ (unit cron.service)',
  );
  t.match(
    text,
    /first 03:04:05\.678 {2}last 03:04:05\.678 {2}status 200:1 404:1 none:1 {2}attribution ok 3/,
  );
  t.match(text, /paths \(2\): \/latest\/meta-data\/a, \/latest\/meta-data\/b\n/);
  t.match(text, /client boto3 1\.9\.0: upgrade boto3 to >= 1\.12\.6/);
  t.match(text, /v1 fallback after a failed token request: 1/);
  t.match(text, /requests {10}18 \(v1 6, v2 11, token 1\)/);
  t.match(text, /attribution {7}ok 15, exited 2, unknown 1/);
  t.match(text, /capture {11}eth0: 1234 frames, kernel drops 2, interface drops 0/);
  t.match(text, /parse errors {6}5\n/);
  t.match(text, /flow evictions {4}4\n/);
  t.match(
    text,
    /anomalies {9}decode\.truncated_ipv4 1, flows\.evicted 4, http\.bad_request_line 2, http\.head_too_large 3\n/,
  );
  t.end();
});

t.test('kernel drops nobody could count are unknown, never 0', (t) => {
  const s = new Summary();
  s.setCapture({ ...capture, kernelDropped: undefined });
  t.match(s.renderText(), /capture {11}eth0: 1234 frames, kernel drops unknown, interface drops 0/);
  const ev = s.toEvent(T0);
  t.same(schemaErrors(ev), []);
  t.notOk(ev.imds.summary.capture !== undefined && 'kernel_dropped' in ev.imds.summary.capture);
  t.end();
});

t.test('an empty run says so and exits 0', (t) => {
  const s = new Summary();
  t.notOk(s.v1Seen);
  t.match(s.renderText(), /\(no IMDS request seen\)/);
  const ev = s.toEvent(T0);
  t.same(schemaErrors(ev), []);
  t.equal(ev['@timestamp'], '2026-01-02T03:04:05.678Z');
  t.equal(ev.imds.summary.capture, undefined);
  t.end();
});

t.test('identities and paths are bounded, counts stay exact', (t) => {
  const s = new Summary({ maxIdentities: 2, maxPathsListed: 3 });
  for (let i = 0; i < 50; i++) {
    s.add(record({ attribution: UNKNOWN, clientIp: `198.51.100.${i}`, target: `/p${i}` }));
  }
  for (let i = 0; i < 10; i++) s.add(record({ target: `/latest/${i}` }));
  const ev = s.toEvent(T0);
  t.same(schemaErrors(ev), []);
  const sum = ev.imds.summary;
  t.equal(sum.requests.total, 60);
  t.equal(sum.identities, 51);
  t.equal(sum.identities_overflow, 49);
  t.equal(sum.clients.length, 3);
  const last = sum.clients[2];
  t.equal(last?.identity, '(other clients)');
  t.equal(last?.overflow, true);
  t.equal(last?.requests.total, 58, '48 unknown clients and the 10 curl calls');
  t.equal(last?.paths.count, 58);
  t.equal(last?.paths.list.length, 3);
  t.match(s.renderText(), /\(49 folded into "\(other clients\)"\)/);
  t.end();
});

t.test('wire strings in the table are escaped', (t) => {
  const s = new Summary();
  s.add(
    record({
      attribution: UNKNOWN,
      headers: [{ name: 'User-Agent', value: 'x\n<3>forged' }],
      target: '/a\u001b[2J',
    }),
  );
  const text = s.renderText();
  // eslint-disable-next-line no-control-regex -- asserting these are absent
  t.notMatch(text, /\u001b/);
  t.notMatch(text, /\n<3>/);
  t.match(text, /x\\x0a<3>forged/);
  t.end();
});

t.test('the remediation hint is shown only to clients that made IMDSv1 calls', (t) => {
  const s = new Summary();
  s.add(record({ kind: 'v2', attribution: agent }));
  s.add(record({ kind: 'v1' }));
  const text = s.renderText();
  t.match(text, /client curl 7\.88\.1: supports IMDSv2: enable it/, 'the v1 client gets the hint');
  t.match(text, /client curl 7\.88\.1: uses IMDSv2 only/, 'the v2-only client gets no advice');
  t.end();
});
