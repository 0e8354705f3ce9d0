import { createHash } from 'node:crypto';
import t from 'tap';
import { classifyExchange, isTokenRequest, targetPath } from '../../src/classify/classify.js';
import {
  fingerprintFromBodyDigest,
  fingerprintToken,
} from '../../src/classify/token-fingerprint.js';
import type { HttpExchange, HttpHeader } from '../../src/http/exchange.js';
import { harness } from '../http/harness.js';

function exchange(
  method: string,
  target: string,
  headers: Record<string, string>,
  status?: number,
  responseBodySha256?: string,
): HttpExchange {
  const list: HttpHeader[] = Object.entries(headers).map(([name, value]) => ({ name, value }));
  return {
    request: { method, target, version: 'HTTP/1.1', headers: list, timeMs: 1 },
    response:
      status === undefined ? undefined : { status, version: 'HTTP/1.1', headers: [], timeMs: 2 },
    outcome: status === undefined ? 'no_response' : 'answered',
    responseBodySha256,
  };
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const TOKEN = 'AQAEAFTNrA4eEGx0AQgJ1arIq_Cc-t4tWt3fB0Hd8RKhXlKc5ccvhg==';

t.test('classification table', (t) => {
  const rows: [string, HttpExchange, string, number | undefined, boolean][] = [
    [
      'token PUT',
      exchange(
        'PUT',
        '/latest/api/token',
        { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' },
        200,
      ),
      'token',
      21600,
      false,
    ],
    [
      'token PUT, query ignored',
      exchange('PUT', '/latest/api/token?x=1', { 'x-aws-ec2-metadata-token-ttl-seconds': '1' }),
      'token',
      1,
      false,
    ],
    [
      'token PUT, absolute-form target',
      exchange('PUT', 'http://169.254.169.254/latest/api/token', {
        'X-AWS-EC2-METADATA-TOKEN-TTL-SECONDS': '60',
      }),
      'token',
      60,
      false,
    ],
    ['token PUT, TTL missing', exchange('PUT', '/latest/api/token', {}), 'token', undefined, true],
    [
      'token PUT, TTL 0',
      exchange('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '0' }),
      'token',
      0,
      true,
    ],
    [
      'token PUT, TTL 21601',
      exchange('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '21601' }),
      'token',
      21601,
      true,
    ],
    [
      'token PUT, TTL negative',
      exchange('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '-5' }),
      'token',
      undefined,
      true,
    ],
    [
      'token PUT, TTL not a number',
      exchange('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '60s' }),
      'token',
      undefined,
      true,
    ],
    [
      'token PUT, TTL decimal',
      exchange('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '1.5' }),
      'token',
      undefined,
      true,
    ],
    [
      'GET of the token path is v1',
      exchange('GET', '/latest/api/token', {}),
      'v1',
      undefined,
      false,
    ],
    [
      'lower-case method is not PUT',
      exchange('put', '/latest/api/token', {}),
      'v1',
      undefined,
      false,
    ],
    [
      'trailing slash is another path',
      exchange('PUT', '/latest/api/token/', {}),
      'v1',
      undefined,
      false,
    ],
    [
      'v2 canonical case',
      exchange('GET', '/latest/meta-data/', { 'X-aws-ec2-metadata-token': TOKEN }, 200),
      'v2',
      undefined,
      false,
    ],
    [
      'v2 lower case',
      exchange('GET', '/latest/meta-data/', { 'x-aws-ec2-metadata-token': TOKEN }),
      'v2',
      undefined,
      false,
    ],
    [
      'v2 upper case',
      exchange('GET', '/latest/meta-data/', { 'X-AWS-EC2-METADATA-TOKEN': TOKEN }),
      'v2',
      undefined,
      false,
    ],
    [
      'v1 plain',
      exchange(
        'GET',
        '/latest/meta-data/iam/security-credentials/role',
        { Host: '169.254.169.254' },
        200,
      ),
      'v1',
      undefined,
      false,
    ],
    [
      'TTL header alone is not a token',
      exchange('GET', '/latest/meta-data/', { 'X-aws-ec2-metadata-token-ttl-seconds': '60' }),
      'v1',
      undefined,
      false,
    ],
  ];
  for (const [name, ex, kind, ttl, invalid] of rows) {
    const c = classifyExchange(ex);
    t.equal(c.kind, kind, `${name}: kind`);
    t.equal(c.tokenTtlSeconds, ttl, `${name}: ttl`);
    t.equal(c.tokenTtlInvalid, invalid, `${name}: ttl invalid`);
    t.equal(c.status, ex.response?.status, `${name}: status`);
  }
  t.end();
});

t.test('X-Forwarded-For is flagged, any case, any kind', (t) => {
  t.equal(
    classifyExchange(
      exchange(
        'PUT',
        '/latest/api/token',
        { 'x-forwarded-for': '192.0.2.1', 'X-aws-ec2-metadata-token-ttl-seconds': '60' },
        403,
      ),
    ).forwardedFor,
    true,
  );
  t.equal(
    classifyExchange(exchange('GET', '/', { 'X-Forwarded-For': '192.0.2.1' })).forwardedFor,
    true,
  );
  t.equal(classifyExchange(exchange('GET', '/', {})).forwardedFor, false);
  t.end();
});

t.test('v2 fingerprint is the first 16 hex of sha256(trimmed token)', (t) => {
  const c = classifyExchange(
    exchange('GET', '/latest/meta-data/', { 'X-aws-ec2-metadata-token': TOKEN }),
  );
  t.equal(c.tokenFingerprint, sha256(TOKEN).slice(0, 16));
  t.equal(fingerprintToken(` \t${TOKEN} `), sha256(TOKEN).slice(0, 16));
  t.equal(
    classifyExchange(exchange('GET', '/', { 'X-aws-ec2-metadata-token': '' })).tokenFingerprint,
    undefined,
  );
  t.equal(classifyExchange(exchange('GET', '/', {})).tokenFingerprint, undefined);
  t.end();
});

t.test('issued token fingerprint only for a 200 with a non-empty digested body', (t) => {
  const ttl = { 'X-aws-ec2-metadata-token-ttl-seconds': '60' };
  t.equal(
    classifyExchange(exchange('PUT', '/latest/api/token', ttl, 200, sha256(TOKEN)))
      .tokenFingerprint,
    sha256(TOKEN).slice(0, 16),
  );
  t.equal(
    classifyExchange(exchange('PUT', '/latest/api/token', ttl, 403, sha256('Forbidden')))
      .tokenFingerprint,
    undefined,
  );
  t.equal(
    classifyExchange(exchange('PUT', '/latest/api/token', ttl, 200, sha256(''))).tokenFingerprint,
    undefined,
  );
  t.equal(
    classifyExchange(exchange('PUT', '/latest/api/token', ttl, 200)).tokenFingerprint,
    undefined,
  );
  t.equal(fingerprintFromBodyDigest('not-a-digest'), undefined);
  t.end();
});

t.test(
  'end to end: issue and use of the same token share a fingerprint; the token is in no output',
  (t) => {
    const h = harness();
    const wire = (s: string): Buffer => Buffer.from(s, 'latin1');
    h.conn.requestData(
      wire('PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n'),
      1,
    );
    h.conn.responseData(
      wire(`HTTP/1.1 200 OK\r\nContent-Length: ${TOKEN.length}\r\n\r\n${TOKEN}`),
      2,
    );
    h.conn.requestData(
      wire(`GET /latest/meta-data/ HTTP/1.1\r\nx-aws-ec2-metadata-token:   ${TOKEN}  \r\n\r\n`),
      3,
    );
    h.conn.responseData(wire('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), 4);
    const [issue, use] = h.exchanges.map(classifyExchange);
    t.equal(issue?.kind, 'token');
    t.equal(use?.kind, 'v2');
    t.ok(issue?.tokenFingerprint);
    t.equal(issue?.tokenFingerprint, use?.tokenFingerprint);
    t.notMatch(JSON.stringify(issue), TOKEN);
    t.notMatch(JSON.stringify(use), TOKEN);
    t.notMatch(JSON.stringify(h.exchanges[0]), TOKEN, 'the token response exchange holds no body');
    t.end();
  },
);

t.test('target path extraction and isTokenRequest', (t) => {
  t.equal(targetPath('/a/b?c#d'), '/a/b');
  t.equal(targetPath('http://169.254.169.254'), '/');
  t.equal(targetPath('http://[fd00:ec2::254]/latest/api/token?x'), '/latest/api/token');
  t.equal(isTokenRequest({ method: 'PUT', target: '/latest/api/token' }), true);
  t.equal(isTokenRequest({ method: 'PUT', target: '/latest/api/tokens' }), false);
  t.equal(isTokenRequest({ method: 'POST', target: '/latest/api/token' }), false);
  t.end();
});
