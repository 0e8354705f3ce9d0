import t from 'tap';
import type { Classification } from '../../src/classify/classification.js';
import {
  FallbackDetector,
  UNUSED_TOKEN_OUTCOME,
  UNUSED_TOKEN_WINDOW_MS,
} from '../../src/classify/fallback.js';

const c = (kind: Classification['kind'], status?: number): Classification => ({
  kind,
  tokenTtlSeconds: kind === 'token' ? 21600 : undefined,
  tokenTtlInvalid: false,
  tokenFingerprint: undefined,
  forwardedFor: false,
  status,
});

t.test(
  'token PUT without answer then v1 within the window: fallback, hop limit in a container',
  (t) => {
    const d = new FallbackDetector(5000);
    t.equal(d.observe('pid:42', 'C1', c('token'), 'no_response', 1000, true), undefined);
    const v = d.observe('pid:42', 'C2', c('v1', 200), 'answered', 2000, true);
    t.ok(v);
    t.equal(v?.afterTokenFlowId, 'C1');
    t.equal(v?.tokenOutcome, 'no_response');
    t.match(v?.explanation, /hop limit/);
    t.match(v?.explanation, /--http-put-response-hop-limit 2/);
    t.end();
  },
);

t.test('outside a container the explanation is generic', (t) => {
  const d = new FallbackDetector(5000);
  d.observe('198.51.100.7', 'C1', c('token', 403), 'answered', 0, false);
  const v = d.observe('198.51.100.7', 'C2', c('v1', 200), 'answered', 10, false);
  t.equal(v?.tokenOutcome, '403');
  t.match(v?.explanation, /^token request failed \(403\) and the client fell back to IMDSv1/);
  t.notMatch(v?.explanation, /--http-put-response-hop-limit/);
  t.end();
});

t.test('unparsable token response counts as failed', (t) => {
  const d = new FallbackDetector(5000);
  d.observe('a', 'C1', c('token'), 'response_unparsable', 0, false);
  t.equal(
    d.observe('a', 'C2', c('v1'), 'no_response', 1, false)?.tokenOutcome,
    'response_unparsable',
  );
  t.end();
});

t.test(
  'no verdict: after the window, other identity, v2 calls, or a successful token in between',
  (t) => {
    const d = new FallbackDetector(5000);
    d.observe('a', 'C1', c('token'), 'no_response', 0, false);
    t.equal(
      d.observe('b', 'C2', c('v1', 200), 'answered', 100, false),
      undefined,
      'other identity',
    );
    t.equal(
      d.observe('a', 'C3', c('v2', 200), 'answered', 200, false),
      undefined,
      'v2 is no fallback',
    );
    t.equal(
      d.observe('a', 'C4', c('v1', 200), 'answered', 300, false),
      undefined,
      'a v2 call in between proves the client holds a token',
    );
    d.observe('a', 'C4b', c('token'), 'no_response', 350, false);
    t.ok(d.observe('a', 'C5', c('v1', 200), 'answered', 400, false), 'failed again, then v1');
    t.ok(d.observe('a', 'C5b', c('v1', 200), 'answered', 450, false), 'every v1 in the window');
    t.equal(d.observe('a', 'C6', c('v1', 200), 'answered', 5351, false), undefined, 'window over');
    t.equal(
      d.observe('a', 'C7', c('v1', 200), 'answered', 5402, false),
      undefined,
      'and forgotten',
    );

    d.observe('x', 'C8', c('token'), 'no_response', 10_000, false);
    d.observe('x', 'C9', c('token', 200), 'answered', 10_100, false);
    d.observe('x', 'C9b', c('v2', 200), 'answered', 10_150, false);
    t.equal(
      d.observe('x', 'C10', c('v1', 200), 'answered', 10_200, false),
      undefined,
      'token succeeded and was used',
    );
    t.end();
  },
);

t.test('a v1 call before the failed token is not a fallback', (t) => {
  const d = new FallbackDetector(5000);
  d.observe('a', 'C2', c('token'), 'no_response', 1000, false);
  t.equal(d.observe('a', 'C1', c('v1', 200), 'answered', 900, false), undefined);
  t.end();
});

t.test('a successful v1 call with a plain 401 token is also reported', (t) => {
  const d = new FallbackDetector(1000);
  d.observe('a', 'C1', c('token', 401), 'answered', 0, false);
  t.equal(d.observe('a', 'C2', c('v1', 200), 'answered', 1000, false)?.tokenOutcome, '401');
  t.end();
});

t.test('memory is bounded: least recently failed identities are dropped', (t) => {
  const d = new FallbackDetector(60_000, 100);
  for (let i = 0; i < 10_000; i++)
    d.observe(`id${i}`, `C${i}`, c('token'), 'no_response', i, false);
  t.equal(d.size, 100);
  t.equal(d.observe('id0', 'X', c('v1'), 'answered', 10_001, false), undefined, 'oldest dropped');
  t.ok(d.observe('id9999', 'X', c('v1'), 'answered', 10_001, false), 'newest kept');
  t.end();
});

t.test('expired failures are pruned when new ones arrive', (t) => {
  const d = new FallbackDetector(100);
  for (let i = 0; i < 50; i++)
    d.observe(`id${i}`, `C${i}`, c('token'), 'no_response', i * 1000, false);
  t.ok(d.size <= 2, `size ${d.size}`);
  t.end();
});

t.test('a token answered but never used, then v1: the answer never reached the client', (t) => {
  const d = new FallbackDetector(5000);
  d.observe('c', 'C1', c('token', 200), 'answered', 0, true);
  const verdict = d.observe('c', 'C2', c('v1', 200), 'answered', 1000, true);
  t.equal(verdict?.tokenOutcome, UNUSED_TOKEN_OUTCOME);
  t.equal(verdict?.afterTokenFlowId, 'C1');
  t.match(verdict?.explanation ?? '', /hop limit/);
  const notContainer = new FallbackDetector(5000);
  notContainer.observe('h', 'C1', c('token', 200), 'answered', 0, false);
  t.match(
    notContainer.observe('h', 'C2', c('v1', 200), 'answered', 1000, false)?.explanation ?? '',
    /never used the token.*raise the hop limit/,
  );
  const late = new FallbackDetector(60_000);
  late.observe('l', 'C1', c('token', 200), 'answered', 0, false);
  t.equal(
    late.observe('l', 'C2', c('v1', 200), 'answered', UNUSED_TOKEN_WINDOW_MS + 1, false),
    undefined,
    'an unused token only explains a v1 call that follows within seconds',
  );
  t.end();
});
