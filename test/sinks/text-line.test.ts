import t from 'tap';
import { journalError, journalInfo, journalLine } from '../../src/sinks/journal-line.js';
import { escapeControl, redactSecrets } from '../../src/sinks/sanitize.js';
import { textLine } from '../../src/sinks/text-line.js';
import { curlProcess, EXITED, OK, record, UNKNOWN } from './records.js';

t.test('one aligned line per request', (t) => {
  t.equal(
    textLine(record({ target: '/latest/meta-data/iam/security-credentials/web' })),
    '03:04:05.678 v1    GET /latest/meta-data/iam/security-credentials/web -> 200  ' +
      'pid 1234 curl (root) unit cron.service "-s http://169.254.169.254/latest/meta-d…" [curl/7.88.1]  192.0.2.2:40000',
  );
  t.equal(
    textLine(record({ kind: 'token', outcome: 'no_response', attribution: EXITED })),
    '03:04:05.678 token PUT /latest/api/token -> ---  exited (alice) [curl/7.88.1]  192.0.2.2:40000',
  );
  t.equal(
    textLine(
      record({
        kind: 'v2',
        family: 'ipv6',
        outcome: 'response_unparsable',
        attribution: UNKNOWN,
        headers: [],
      }),
    ),
    '03:04:05.678 v2    GET /latest/meta-data/instance-id -> ???  unknown process  [2001:db8::2]:40000',
  );
  t.end();
});

t.test('fallback, forwarded-for, invalid ttl and containers are flagged', (t) => {
  const line = textLine(
    record({
      forwardedFor: true,
      attribution: {
        ...OK,
        process: curlProcess({
          args: ['curl'],
          container: { id: 'b'.repeat(64), runtime: 'docker' },
        }),
      },
      fallback: { afterTokenFlowId: 'C3', tokenOutcome: 'no_response', explanation: 'hop limit' },
    }),
  );
  t.match(
    line,
    /pid 1234 curl \(root\) container bbbbbbbbbbbb \[curl\/7\.88\.1\] x-forwarded-for v1-fallback\(after C3\) {2}192/,
  );
  t.match(
    textLine(record({ kind: 'token', ttlInvalid: true, status: 400 })),
    / -> 400 .* ttl-invalid/,
  );
  t.end();
});

t.test('control characters from the wire are escaped', (t) => {
  const line = textLine(
    record({
      headers: [{ name: 'User-Agent', value: 'evil\r\n<3>forged line\u001b[2J\u202e' }],
      target: '/latest/\u0000x',
      method: 'G\tET',
    }),
  );
  // eslint-disable-next-line no-control-regex -- asserting these are absent
  t.notMatch(line, /[\u0000-\u001f\u007f\u202e]/);
  t.match(line, /G\\x09ET \/latest\/\\x00x/);
  t.match(line, /\[evil\\x0d\\x0a<3>forged line\\x1b\[2J\\u202e\]/);
  t.equal(escapeControl('a\\x0a'), 'a\\\\x0a', 'a literal backslash cannot fake an escape');
  t.end();
});

t.test('journal priorities: <4> v1, <6> v2 and token, <3> errors', (t) => {
  t.match(journalLine(record({ kind: 'v1' })), /^<4>03:04:05\.678 v1 /);
  t.match(journalLine(record({ kind: 'v2' })), /^<6>03:04:05\.678 v2 /);
  t.match(journalLine(record({ kind: 'token' })), /^<6>03:04:05\.678 token /);
  t.equal(journalError('error ERR_X: broke\nsecond'), '<3>error ERR_X: broke\\x0asecond');
  t.equal(journalInfo('capturing on eth0'), '<6>capturing on eth0');
  for (const l of [journalLine(record()), journalError('a\nb'), journalInfo('c\r\nd')]) {
    t.notOk(l.includes('\n'), 'one line');
  }
  t.end();
});

t.test('token values on command lines are redacted', (t) => {
  t.equal(
    redactSecrets('curl -H "X-aws-ec2-metadata-token: AQAEAbc123==" http://x', []),
    'curl -H "X-aws-ec2-metadata-token: [REDACTED]" http://x',
  );
  t.equal(
    redactSecrets(
      'curl -H X-aws-ec2-metadata-token:AQAEAbc123== -H x-aws-ec2-metadata-token-ttl-seconds:60',
      [],
    ),
    'curl -H X-aws-ec2-metadata-token:[REDACTED] -H x-aws-ec2-metadata-token-ttl-seconds:60',
  );
  t.equal(
    redactSecrets('wget --header=tok AQAEAbc123==', ['AQAEAbc123==']),
    'wget --header=tok [REDACTED]',
  );
  t.equal(redactSecrets('ab', ['a']), 'ab', 'too short to redact by value');
  t.end();
});
