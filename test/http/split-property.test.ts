/**
 * Property: how the two byte streams of a keep-alive, pipelined connection are cut into chunks
 * (and how request and response chunks interleave, as long as a response never precedes its
 * request) never changes the exchanges that come out.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { b, harness, untimed } from './harness.js';

interface Message {
  readonly request: string;
  readonly response: string;
  readonly expect: string;
}

const caseVariant = fc.constantFrom(
  (s: string) => s,
  (s: string) => s.toLowerCase(),
  (s: string) => s.toUpperCase(),
);
const bodyText = fc.string({
  unit: fc.constantFrom(...'abcXYZ019-_=\r\n'.split('')),
  maxLength: 40,
});

/** A chunked encoding of `body` cut at the given sizes, with extensions and a trailer. */
function chunked(body: string, sizes: readonly number[], trailer: boolean): string {
  let out = '';
  let at = 0;
  let i = 0;
  while (at < body.length) {
    const n = Math.min(body.length - at, sizes[i++ % Math.max(1, sizes.length)] ?? 1);
    out += `${n.toString(16)}${i % 2 ? ';ext=1' : ''}\r\n${body.slice(at, at + n)}\r\n`;
    at += n;
  }
  return out + `0\r\n${trailer ? 'X-Checksum: abc\r\n' : ''}\r\n`;
}

const responseArb = fc.record({
  status: fc.constantFrom(200, 200, 404, 401, 204, 304),
  body: bodyText,
  framing: fc.constantFrom('length', 'chunked'),
  sizes: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 4 }),
  trailer: fc.boolean(),
  interim: fc.boolean(),
  lf: fc.boolean(),
});

const messageArb: fc.Arbitrary<Message> = fc
  .record({
    kind: fc.constantFrom('get', 'token', 'head', 'put-length', 'put-chunked'),
    path: fc.constantFrom(
      '/latest/meta-data/',
      '/latest/meta-data/iam/security-credentials/role',
      '/?a=b',
    ),
    nameCase: caseVariant,
    response: responseArb,
  })
  .map(({ kind, path, nameCase, response }) => {
    const eol = response.lf ? '\n' : '\r\n';
    const host = `${nameCase('Host')}: 169.254.169.254${eol}`;
    let request: string;
    let method = 'GET';
    let target: string = path;
    if (kind === 'token') {
      method = 'PUT';
      target = '/latest/api/token';
      request = `PUT ${target} HTTP/1.1${eol}${host}${nameCase('X-aws-ec2-metadata-token-ttl-seconds')}: 60${eol}${eol}`;
    } else if (kind === 'head') {
      method = 'HEAD';
      request = `HEAD ${path} HTTP/1.1${eol}${host}${eol}`;
    } else if (kind === 'put-length') {
      method = 'PUT';
      request = `PUT ${path} HTTP/1.1${eol}${host}${nameCase('Content-Length')}: 5${eol}${eol}hello`;
    } else if (kind === 'put-chunked') {
      method = 'PUT';
      request = `PUT ${path} HTTP/1.1${eol}${host}${nameCase('Transfer-Encoding')}: chunked${eol}${eol}${chunked('hello', [2], true)}`;
    } else {
      request = `GET ${path} HTTP/1.1${eol}${host}${eol}`;
    }
    const { status } = response;
    const noBody = method === 'HEAD' || status === 204 || status === 304;
    const framingHeader =
      response.framing === 'length'
        ? `${nameCase('Content-Length')}: ${response.body.length}`
        : `${nameCase('Transfer-Encoding')}: chunked`;
    const sent = noBody
      ? ''
      : response.framing === 'length'
        ? response.body
        : chunked(response.body, response.sizes, response.trailer);
    const interim = response.interim ? `HTTP/1.1 100 Continue${eol}${eol}` : '';
    const head = `HTTP/1.1 ${status} X${eol}${framingHeader}${eol}${eol}`;
    const digest =
      kind === 'token' && !noBody
        ? createHash('sha256').update(b(response.body)).digest('hex')
        : '-';
    return {
      request,
      response: interim + head + sent,
      expect: `${method} ${target} ${status} ${digest}`,
    };
  });

/** Feeds both streams in chunks, interleaved by `schedule`, never a response before its request. */
function feed(
  messages: readonly Message[],
  reqSizes: readonly number[],
  respSizes: readonly number[],
  schedule: readonly boolean[],
): ReturnType<typeof harness> {
  const h = harness();
  const req = b(messages.map((m) => m.request).join(''));
  const resp = b(messages.map((m) => m.response).join(''));
  const reqEnd: number[] = [];
  const respStart: number[] = [];
  let r = 0;
  let s = 0;
  for (const m of messages) {
    r += m.request.length;
    reqEnd.push(r);
    respStart.push(s);
    s += m.response.length;
  }
  let reqPos = 0;
  let respPos = 0;
  let step = 0;
  let ri = 0;
  let si = 0;
  while (reqPos < req.length || respPos < resp.length) {
    const respNext = Math.min(resp.length, respPos + (respSizes[si % respSizes.length] ?? 1));
    // The last exchange whose response bytes this chunk touches must have its request sent.
    let k = 0;
    while (k + 1 < respStart.length && (respStart[k + 1] ?? Infinity) < respNext) k++;
    const respAllowed = respPos < resp.length && reqPos >= (reqEnd[k] ?? 0);
    const preferResponse = schedule[step++ % schedule.length] ?? false;
    if (respAllowed && (preferResponse || reqPos >= req.length)) {
      h.conn.responseData(resp.subarray(respPos, respNext), step);
      respPos = respNext;
      si++;
    } else {
      const reqNext = Math.min(req.length, reqPos + (reqSizes[ri % reqSizes.length] ?? 1));
      h.conn.requestData(req.subarray(reqPos, reqNext), step);
      reqPos = reqNext;
      ri++;
    }
  }
  h.conn.end(step + 1);
  return h;
}

t.test('any split and interleaving of a pipelined stream yields the same exchanges', (t) => {
  fc.assert(
    fc.property(
      fc.array(messageArb, { minLength: 1, maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }),
      (messages, reqSizes, respSizes, schedule) => {
        const whole = feed(messages, [1 << 30], [1 << 30], [false]);
        const split = feed(messages, reqSizes, respSizes, schedule);
        const got = split.exchanges.map(
          (e) =>
            `${e.request.method} ${e.request.target} ${e.response?.status ?? '-'} ${e.responseBodySha256 ?? '-'}`,
        );
        return (
          JSON.stringify(got) === JSON.stringify(messages.map((m) => m.expect)) &&
          JSON.stringify(untimed(split.exchanges)) === JSON.stringify(untimed(whole.exchanges)) &&
          split.exchanges.every((e) => e.outcome === 'answered') &&
          split.anomalies.total() === 0
        );
      },
    ),
    { numRuns: 400 },
  );
  t.pass('property held');
  t.end();
});

t.test('byte-by-byte feeding matches whole feeding', (t) => {
  fc.assert(
    fc.property(fc.array(messageArb, { minLength: 1, maxLength: 4 }), (messages) => {
      const whole = feed(messages, [1 << 30], [1 << 30], [false]);
      const bytes = feed(messages, [1], [1], [true, false]);
      return JSON.stringify(untimed(bytes.exchanges)) === JSON.stringify(untimed(whole.exchanges));
    }),
    { numRuns: 100 },
  );
  t.pass('property held');
  t.end();
});
