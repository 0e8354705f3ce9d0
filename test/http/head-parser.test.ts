import t from 'tap';
import { parseRequestHead, parseResponseHead } from '../../src/http/head-parser.js';
import { b } from './harness.js';

t.test('parses a request head, keeps header name case, trims values', (t) => {
  const r = parseRequestHead(
    b(
      'PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\nX-aws-ec2-metadata-token-ttl-seconds: \t21600 \r\n\r\n',
    ),
  );
  t.ok(r.ok);
  if (!r.ok) return t.end();
  t.equal(r.head.method, 'PUT');
  t.equal(r.head.target, '/latest/api/token');
  t.equal(r.head.version, 'HTTP/1.1');
  t.same(r.head.headers, [
    { name: 'Host', value: '169.254.169.254' },
    { name: 'X-aws-ec2-metadata-token-ttl-seconds', value: '21600' },
  ]);
  t.end();
});

t.test('accepts bare LF line ends and mixed endings', (t) => {
  const r = parseRequestHead(b('GET /a HTTP/1.0\nA: 1\r\nB:2\n\n'));
  t.ok(r.ok);
  if (r.ok)
    t.same(r.head.headers, [
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
  const s = parseResponseHead(b('HTTP/1.1 200 OK\nContent-Length: 0\n\r\n'));
  t.ok(s.ok);
  t.end();
});

t.test('parses status lines with and without a reason phrase', (t) => {
  for (const line of [
    'HTTP/1.1 200 OK',
    'HTTP/1.1 404',
    'HTTP/1.1 401 ',
    'HTTP/1.0 500 Internal Server Error',
  ]) {
    const r = parseResponseHead(b(`${line}\r\n\r\n`));
    t.ok(r.ok, line);
    if (r.ok) t.equal(r.head.status, Number(line.split(' ')[1]), line);
  }
  t.end();
});

t.test('joins obs-fold continuation lines with one space', (t) => {
  const r = parseRequestHead(
    b('GET / HTTP/1.1\r\nX-Long: first\r\n  second\r\n\tthird\r\nY: y\r\n\r\n'),
  );
  t.ok(r.ok);
  if (r.ok)
    t.same(r.head.headers, [
      { name: 'X-Long', value: 'first second third' },
      { name: 'Y', value: 'y' },
    ]);
  t.end();
});

t.test('keeps empty header values and latin1 obs-text', (t) => {
  const r = parseRequestHead(
    Buffer.concat([b('GET / HTTP/1.1\r\nE:\r\nU: caf'), Buffer.from([0xe9, 0xa0]), b('\r\n\r\n')]),
  );
  t.ok(r.ok);
  if (r.ok) {
    t.same(r.head.headers[0], { name: 'E', value: '' });
    // 0xA0 (NBSP) is not optional whitespace and stays.
    t.equal(r.head.headers[1]?.value, 'caf\u00e9\u00a0');
  }
  t.end();
});

const badRequests: [string, string][] = [
  ['GET /\r\n\r\n', 'http.bad_request_line'],
  ['GET  / HTTP/1.1\r\n\r\n', 'http.bad_request_line'],
  ['G@T / HTTP/1.1\r\n\r\n', 'http.bad_request_line'],
  ['GET / HTTP/1.1 \r\n\r\n', 'http.bad_request_line'],
  ['GET /a\x00b HTTP/1.1\r\n\r\n', 'http.bad_request_line'],
  ['\r\n\r\n', 'http.bad_request_line'],
  ['PRI * HTTP/2.0\r\n\r\n', 'http.bad_version'],
  ['GET / HTTP/0.9\r\n\r\n', 'http.bad_version'],
  ['GET / HTTP/1.1\r\nNoColon\r\n\r\n', 'http.bad_header'],
  ['GET / HTTP/1.1\r\nSpace : x\r\n\r\n', 'http.bad_header'],
  ['GET / HTTP/1.1\r\n: empty-name\r\n\r\n', 'http.bad_header'],
  ['GET / HTTP/1.1\r\nA: b\rc\r\n\r\n', 'http.bad_header'],
  ['GET / HTTP/1.1\r\nA: b\x01\r\n\r\n', 'http.bad_header'],
  ['GET / HTTP/1.1\r\n continuation-first\r\n\r\n', 'http.bad_header'],
  ['GET / HTTP/1.1\r\nA: b\r\n', 'http.unterminated_head'],
  ['GET / HTTP/1.1\r\nA: b', 'http.unterminated_head'],
];

t.test('names what is wrong with a bad request head', (t) => {
  for (const [text, code] of badRequests) {
    const r = parseRequestHead(b(text));
    t.equal(r.ok ? 'ok' : r.code, code, JSON.stringify(text));
  }
  t.end();
});

t.test('names what is wrong with a bad response head', (t) => {
  const cases: [string, string][] = [
    ['HTTP/1.1 20 OK\r\n\r\n', 'http.bad_status_line'],
    ['HTTP/1.1 2000\r\n\r\n', 'http.bad_status_line'],
    ['HTTP/1.1  200 OK\r\n\r\n', 'http.bad_status_line'],
    ['ICY 200 OK\r\n\r\n', 'http.bad_status_line'],
    ['HTTP/2.0 200 OK\r\n\r\n', 'http.bad_version'],
    ['HTTP/1.1 200 OK\r\nBad Header\r\n\r\n', 'http.bad_header'],
  ];
  for (const [text, code] of cases) {
    const r = parseResponseHead(b(text));
    t.equal(r.ok ? 'ok' : r.code, code, JSON.stringify(text));
  }
  t.end();
});

t.test('errors never echo the input (it may hold a token)', (t) => {
  const secret = 'AQAEAsecretTOKENvalue==';
  const r = parseRequestHead(b(`GET / HTTP/1.1\r\nX-aws-ec2-metadata-token ${secret}\r\n\r\n`));
  t.notOk(r.ok);
  t.notMatch(JSON.stringify(r), secret);
  t.end();
});

t.test('arbitrary bytes never throw and errors carry a known code', async (t) => {
  const fc = (await import('fast-check')).default;
  const codes = new Set([
    'http.bad_request_line',
    'http.bad_status_line',
    'http.bad_version',
    'http.bad_header',
    'http.unterminated_head',
  ]);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withEnd) => {
      const input = Buffer.concat([Buffer.from(bytes), withEnd ? b('\r\n\r\n') : b('')]);
      for (const r of [parseRequestHead(input), parseResponseHead(input)]) {
        if (!r.ok && !codes.has(r.code)) return false;
      }
      return true;
    }),
    { numRuns: 2000 },
  );
  t.pass('no throw');
});
