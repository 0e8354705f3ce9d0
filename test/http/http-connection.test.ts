import { createHash } from 'node:crypto';
import t from 'tap';
import { b, harness, summary, untimed } from './harness.js';

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n`;
const OK = (body: string): string =>
  `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const TOKEN_PUT =
  'PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

t.test('keep-alive: several requests and responses on one connection, in order', (t) => {
  const h = harness();
  h.conn.requestData(b(GET('/latest/meta-data/')), 1);
  h.conn.responseData(b(OK('ami-id\nhostname')), 2);
  h.conn.requestData(b(GET('/latest/meta-data/ami-id')), 3);
  h.conn.responseData(b(OK('ami-0123')), 4);
  t.same(summary(h.exchanges), [
    'GET /latest/meta-data/ -> 200 answered',
    'GET /latest/meta-data/ami-id -> 200 answered',
  ]);
  t.equal(h.exchanges[0]?.request.timeMs, 1);
  t.equal(h.exchanges[0]?.response?.timeMs, 2);
  t.equal(h.exchanges[0]?.responseBodySha256, undefined, 'no digest unless asked');
  h.conn.end(5);
  t.equal(h.exchanges.length, 2);
  t.same(h.anomalies.snapshot(), {});
  t.end();
});

t.test('pipelining: responses are matched FIFO to requests', (t) => {
  const h = harness();
  h.conn.requestData(b(GET('/a') + GET('/b') + 'HEAD /c HTTP/1.1\r\n\r\n' + GET('/d')), 1);
  t.equal(h.conn.pendingRequests, 4);
  h.conn.responseData(
    b(
      OK('aa') +
        'HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!' +
        // HEAD response: Content-Length describes a body that is not sent.
        'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' +
        OK('dd'),
    ),
    2,
  );
  t.same(summary(h.exchanges), [
    'GET /a -> 200 answered',
    'GET /b -> 404 answered',
    'HEAD /c -> 200 answered',
    'GET /d -> 200 answered',
  ]);
  t.end();
});

t.test('chunked response with extensions and trailers, split byte by byte', (t) => {
  const h = harness();
  const body =
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n' +
    '4;name=value;x="y"\r\nabcd\r\n' +
    'A \r\n0123456789\r\n' +
    '0;last\r\nX-Trailer: 1\r\nY: 2\r\n\r\n';
  h.conn.requestData(b(GET('/x') + GET('/y')), 1);
  for (const byte of b(body + OK('y'))) h.conn.responseData(Buffer.from([byte]), 2);
  t.same(summary(h.exchanges), ['GET /x -> 200 answered', 'GET /y -> 200 answered']);
  t.same(h.anomalies.snapshot(), {});
  t.end();
});

t.test('a chunked token body is digested exactly (chunk framing excluded)', (t) => {
  const h = harness();
  h.conn.requestData(b(TOKEN_PUT), 1);
  h.conn.responseData(
    b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nAQA\r\n5;e\r\nEAabc\r\n0\r\n\r\n'),
    2,
  );
  t.equal(h.exchanges[0]?.responseBodySha256, sha256('AQAEAabc'));
  t.end();
});

t.test('Content-Length bodies split across chunks, request and response side', (t) => {
  const h = harness();
  const put = 'PUT /upload HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789';
  const stream = b(put + GET('/after'));
  h.conn.requestData(stream.subarray(0, 45), 1);
  h.conn.requestData(stream.subarray(45, 50), 1);
  h.conn.requestData(stream.subarray(50), 1);
  const resp = b(OK('x'.repeat(300)) + OK('z'));
  for (let i = 0; i < resp.length; i += 7) h.conn.responseData(resp.subarray(i, i + 7), 2);
  t.same(summary(h.exchanges), ['PUT /upload -> 200 answered', 'GET /after -> 200 answered']);
  t.end();
});

t.test('chunked request bodies are skipped', (t) => {
  const h = harness();
  h.conn.requestData(
    b(
      'PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' + GET('/next'),
    ),
    1,
  );
  t.equal(h.conn.pendingRequests, 2);
  h.conn.end(2);
  t.same(summary(h.exchanges), ['PUT /x -> - no_response', 'GET /next -> - no_response']);
  t.end();
});

t.test('HTTP/1.0 close-delimited body ends with the connection; digest only then', (t) => {
  const h = harness();
  h.conn.requestData(
    b('PUT /latest/api/token HTTP/1.0\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n'),
    1,
  );
  h.conn.responseData(b('HTTP/1.0 200 OK\r\n\r\nTOKEN'), 2);
  h.conn.responseData(b('PART2'), 3);
  t.equal(h.exchanges.length, 0, 'held until the body ends');
  h.conn.end(4);
  t.equal(h.exchanges[0]?.outcome, 'answered');
  t.equal(h.exchanges[0]?.responseBodySha256, sha256('TOKENPART2'));
  t.end();
});

t.test('a response with no length is close-delimited, also on HTTP/1.1', (t) => {
  const h = harness();
  h.conn.requestData(b(GET('/a')), 1);
  h.conn.responseData(b('HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK looks like a head but is body'), 2);
  h.conn.end(3);
  t.same(summary(h.exchanges), ['GET /a -> 200 answered']);
  t.end();
});

t.test('204 and 304 carry no body even with Content-Length', (t) => {
  const h = harness();
  h.conn.requestData(b(GET('/a') + GET('/b') + GET('/c')), 1);
  h.conn.responseData(
    b(
      'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n' +
        OK('c'),
    ),
    2,
  );
  t.same(summary(h.exchanges), [
    'GET /a -> 204 answered',
    'GET /b -> 304 answered',
    'GET /c -> 200 answered',
  ]);
  t.end();
});

t.test('100-continue interim responses do not consume the request', (t) => {
  const h = harness();
  h.conn.requestData(b('PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n'), 1);
  h.conn.responseData(b('HTTP/1.1 100 Continue\r\n\r\n'), 2);
  t.equal(h.exchanges.length, 0);
  h.conn.requestData(b('body' + GET('/y')), 3);
  h.conn.responseData(b('HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n' + OK('x') + OK('y')), 4);
  t.same(summary(h.exchanges), ['PUT /x -> 200 answered', 'GET /y -> 200 answered']);
  t.end();
});

t.test('end() flushes: requests without a response are no_response, in order', (t) => {
  const h = harness();
  h.conn.requestData(b(TOKEN_PUT + GET('/b')), 1);
  h.conn.responseData(b('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nAQAE'), 2);
  t.equal(h.exchanges.length, 0, 'token exchange waits for its body');
  h.conn.end(3);
  t.same(summary(h.exchanges), [
    'PUT /latest/api/token -> 200 answered',
    'GET /b -> - no_response',
  ]);
  t.equal(h.exchanges[0]?.responseBodySha256, undefined, 'cut-short body: no digest');
  h.conn.requestData(b(GET('/late')), 4);
  h.conn.end(5);
  t.equal(h.exchanges.length, 2, 'nothing after end');
  t.end();
});

t.test('oversized request head: counted, bounded, earlier requests still emitted', (t) => {
  const h = harness({ maxHeadBytes: 1024 });
  h.conn.requestData(b(GET('/first')), 1);
  const junk = Buffer.alloc(1024 * 1024, 'a');
  let maxBuffered = 0;
  h.conn.requestData(b('GET /huge HTTP/1.1\r\nX: '), 2);
  for (let i = 0; i < 10; i++) {
    h.conn.requestData(junk, 2);
    maxBuffered = Math.max(maxBuffered, h.conn.bufferedBytes);
  }
  t.ok(maxBuffered <= 1024, `buffered ${maxBuffered} bytes`);
  t.equal(h.anomalies.get('http.head_too_large'), 1);
  h.conn.responseData(b(OK('1')), 3);
  t.same(summary(h.exchanges), ['GET /first -> 200 answered']);
  t.end();
});

t.test(
  '10 MB without an empty line, byte-sized and huge chunks: memory stays under the limit',
  (t) => {
    for (const chunkSize of [1, 1500, 10 * 1024 * 1024]) {
      const h = harness({ maxHeadBytes: 16 * 1024 });
      const total = chunkSize === 1 ? 64 * 1024 : 10 * 1024 * 1024;
      const chunk = Buffer.alloc(chunkSize, 'x');
      let maxBuffered = 0;
      for (let sent = 0; sent < total; sent += chunkSize) {
        h.conn.responseData(chunk, 1);
        maxBuffered = Math.max(maxBuffered, h.conn.bufferedBytes);
      }
      t.ok(maxBuffered <= 16 * 1024, `chunk ${chunkSize}: buffered at most ${maxBuffered}`);
      t.equal(h.anomalies.get('http.head_too_large'), 1, `chunk ${chunkSize}: counted once`);
    }
    t.end();
  },
);

t.test('a head of exactly maxHeadBytes is accepted, one more byte is not', (t) => {
  const head = GET('/abc');
  const ok = harness({ maxHeadBytes: head.length });
  ok.conn.requestData(b(head), 1);
  t.equal(ok.conn.pendingRequests, 1);
  const over = harness({ maxHeadBytes: head.length - 1 });
  over.conn.requestData(b(head), 1);
  t.equal(over.conn.pendingRequests, 0);
  t.equal(over.anomalies.get('http.head_too_large'), 1);
  t.end();
});

t.test('malformed response: pending and later requests are response_unparsable', (t) => {
  const h = harness();
  h.conn.requestData(b(GET('/a') + GET('/b')), 1);
  h.conn.responseData(b(OK('a') + 'garbage here\r\n\r\n'), 2);
  h.conn.requestData(b(GET('/c')), 3);
  t.same(summary(h.exchanges), [
    'GET /a -> 200 answered',
    'GET /b -> - response_unparsable',
    'GET /c -> - response_unparsable',
  ]);
  t.equal(h.anomalies.get('http.parse_error'), 1);
  t.end();
});

t.test('malformed request: earlier requests are still answered and emitted', (t) => {
  const h = harness();
  h.conn.requestData(b(GET('/a') + 'NOT HTTP AT ALL\r\n\r\n' + GET('/never')), 1);
  h.conn.responseData(b(OK('a')), 2);
  h.conn.end(3);
  t.same(summary(h.exchanges), ['GET /a -> 200 answered']);
  t.equal(h.anomalies.get('http.parse_error'), 1);
  t.end();
});

t.test('bad Content-Length in a response is a parse error', (t) => {
  const h = harness();
  h.conn.requestData(b(GET('/a') + GET('/b')), 1);
  h.conn.responseData(b('HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabc'), 2);
  t.same(summary(h.exchanges), ['GET /a -> 200 answered', 'GET /b -> - response_unparsable']);
  t.equal(h.anomalies.get('http.parse_error'), 1);
  t.end();
});

t.test('request gap drops the request stream; response gap fails pending exchanges', (t) => {
  const h = harness();
  h.conn.requestData(b(GET('/a') + GET('/b') + 'GET /partial HTT'), 1);
  h.conn.gap('request');
  h.conn.requestData(b('P/1.1\r\n\r\n' + GET('/after-gap')), 2);
  t.equal(h.conn.pendingRequests, 2);
  h.conn.responseData(b(OK('a')), 3);
  h.conn.gap('response');
  t.same(summary(h.exchanges), ['GET /a -> 200 answered', 'GET /b -> - response_unparsable']);
  t.equal(h.anomalies.get('http.request_gap'), 1);
  t.equal(h.anomalies.get('http.response_gap'), 1);
  t.end();
});

t.test('a response gap inside a token body: answered, but no digest', (t) => {
  const h = harness();
  h.conn.requestData(b(TOKEN_PUT), 1);
  h.conn.responseData(b('HTTP/1.1 200 OK\r\nContent-Length: 56\r\n\r\nAQAE'), 2);
  h.conn.gap('response');
  t.same(summary(h.exchanges), ['PUT /latest/api/token -> 200 answered']);
  t.equal(h.exchanges[0]?.responseBodySha256, undefined);
  t.end();
});

t.test('too many pending requests: oldest emitted as no_response, matching stays in step', (t) => {
  const h = harness({ maxPendingRequests: 2 });
  h.conn.requestData(b(GET('/1') + GET('/2') + GET('/3')), 1);
  t.same(summary(h.exchanges), ['GET /1 -> - no_response']);
  t.equal(h.anomalies.get('http.too_many_pending'), 1);
  // The response to /1 still arrives first and must not be given to /2.
  h.conn.responseData(b(OK('one') + OK('two') + OK('three')), 2);
  t.same(summary(h.exchanges), [
    'GET /1 -> - no_response',
    'GET /2 -> 200 answered',
    'GET /3 -> 200 answered',
  ]);
  t.end();
});

t.test('a response nobody asked for is counted and stops the response side', (t) => {
  const h = harness();
  h.conn.responseData(b('HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n'), 1);
  h.conn.requestData(b(GET('/a')), 2);
  t.equal(h.anomalies.get('http.unexpected_response'), 1);
  t.same(summary(h.exchanges), ['GET /a -> - response_unparsable']);
  t.end();
});

t.test('101 Switching Protocols ends HTTP parsing on the connection', (t) => {
  const h = harness();
  h.conn.requestData(b('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'), 1);
  h.conn.responseData(b('HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x05hello'), 2);
  h.conn.requestData(b('\x81\x85binary frames'), 3);
  h.conn.end(4);
  t.same(summary(h.exchanges), ['GET /ws -> 101 answered']);
  t.equal(h.anomalies.get('http.parse_error'), 0);
  t.end();
});

t.test('token body digest: sha256 of the token bytes; the token appears in no output', (t) => {
  const token = 'AQAEAFTNrA4eEGx0AQgJ1arIq_Cc-t4tWt3fB0Hd8RKhXlKc5ccvhg==';
  const h = harness();
  h.conn.requestData(b(TOKEN_PUT), 1);
  h.conn.responseData(
    b(
      `HTTP/1.1 200 OK\r\nX-Aws-Ec2-Metadata-Token-Ttl-Seconds: 21600\r\nContent-Length: ${token.length}\r\n\r\n`,
    ),
    2,
  );
  h.conn.responseData(b(token.slice(0, 10)), 3);
  t.equal(h.exchanges.length, 0);
  h.conn.responseData(b(token.slice(10)), 4);
  t.equal(h.exchanges[0]?.responseBodySha256, sha256(token));
  t.notMatch(JSON.stringify(h.exchanges), token);
  t.end();
});

t.test('a token body over maxDigestBytes gets no digest, counted, emitted without waiting', (t) => {
  const h = harness({ maxDigestBytes: 8 });
  h.conn.requestData(b(TOKEN_PUT + GET('/b')), 1);
  h.conn.responseData(b('HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789'), 2);
  t.same(summary(h.exchanges), ['PUT /latest/api/token -> 200 answered']);
  t.equal(h.exchanges[0]?.responseBodySha256, undefined);
  t.equal(h.anomalies.get('http.digest_too_large'), 1);
  h.conn.responseData(b('0123456789' + OK('b')), 3);
  t.same(summary(h.exchanges), ['PUT /latest/api/token -> 200 answered', 'GET /b -> 200 answered']);
  t.end();
});

t.test('an empty token response body digests to the empty hash; HEAD/204 give none', (t) => {
  const h = harness();
  h.conn.requestData(b(TOKEN_PUT + TOKEN_PUT), 1);
  h.conn.responseData(
    b('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'),
    2,
  );
  t.equal(h.exchanges[0]?.responseBodySha256, sha256(''));
  t.equal(h.exchanges[1]?.responseBodySha256, undefined);
  t.end();
});

t.test('leading blank lines before a head are ignored', (t) => {
  const h = harness();
  h.conn.requestData(b('\r\n\r\n\n' + GET('/a') + '\r\n' + GET('/b')), 1);
  h.conn.responseData(b(OK('a') + '\r\n' + OK('b')), 2);
  t.same(summary(h.exchanges), ['GET /a -> 200 answered', 'GET /b -> 200 answered']);
  t.same(h.anomalies.snapshot(), {});
  t.end();
});

t.test('garbage never throws, whatever the order of calls', (t) => {
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let run = 0; run < 300; run++) {
    const h = harness({ maxHeadBytes: 256, maxPendingRequests: 4, maxDigestBytes: 16 });
    let maxBuffered = 0;
    for (let step = 0; step < 40; step++) {
      const len = rand() % 200;
      const bytes = Buffer.alloc(len);
      for (let i = 0; i < len; i++) {
        // Bias towards HTTP-ish bytes so the parser gets past the first line sometimes.
        const r = rand() % 10;
        bytes[i] = r < 3 ? 0x0a : r < 4 ? 0x0d : r < 6 ? 0x20 : rand() % 256;
      }
      const prefix =
        rand() % 3 === 0
          ? b(rand() % 2 ? TOKEN_PUT : 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')
          : b('');
      const data = Buffer.concat([prefix, bytes]);
      const action = rand() % 10;
      if (action < 4) h.conn.requestData(data, step);
      else if (action < 8) h.conn.responseData(data, step);
      else if (action === 8) h.conn.gap(rand() % 2 ? 'request' : 'response');
      maxBuffered = Math.max(maxBuffered, h.conn.bufferedBytes);
    }
    h.conn.end(99);
    t.equal(h.conn.pendingRequests, 0, 'end() flushes everything');
    t.ok(maxBuffered <= 2 * 256, `buffered at most ${maxBuffered}`);
  }
  t.end();
});

t.test('the same stream fed whole or byte by byte gives the same exchanges', (t) => {
  const req = b(TOKEN_PUT + GET('/a') + 'HEAD /h HTTP/1.1\r\n\r\n' + GET('/b'));
  const resp = b(
    'HTTP/1.1 100 Continue\r\n\r\n' +
      OK('AQAEtoken') +
      OK('aaa') +
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n' +
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a=b\r\nx\r\n0\r\nT: 1\r\n\r\n',
  );
  const whole = harness();
  whole.conn.requestData(req, 1);
  whole.conn.responseData(resp, 2);
  whole.conn.end(3);
  const bytes = harness();
  for (const x of req) bytes.conn.requestData(Buffer.from([x]), 1);
  for (const x of resp) bytes.conn.responseData(Buffer.from([x]), 2);
  bytes.conn.end(3);
  t.same(untimed(bytes.exchanges), untimed(whole.exchanges));
  t.equal(whole.exchanges.length, 4);
  t.equal(whole.exchanges[0]?.responseBodySha256, sha256('AQAEtoken'));
  t.end();
});
