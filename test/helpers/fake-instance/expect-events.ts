/**
 * Checks the analyzer's events against the ground truth: the fake IMDS's own record of every
 * request (method, path, status, class, client port) and the pid of the client process the
 * test started. One analyzer event per IMDS request, matched by client address, port, method
 * and path.
 */
import type { Test } from 'tap';
import type { MockRequest } from '../mock-imds.js';
import { schemaErrors } from '../../sinks/validate.js';
import { field, type AnalyzerEvent } from './analyzer.js';

/** A request the mock saw, and the pid of the process the test started that sent it. */
export interface SentRequest {
  readonly request: MockRequest;
  readonly pid: number;
  /** Short scenario name for assertion messages. */
  readonly scenario: string;
}

export function requestEvents(events: readonly AnalyzerEvent[]): AnalyzerEvent[] {
  return events.filter((e) => field(e, 'event.action') === 'imds-request');
}

export function findEvent(events: readonly AnalyzerEvent[], r: MockRequest): AnalyzerEvent[] {
  return requestEvents(events).filter(
    (e) =>
      field(e, 'source.ip') === r.peerIp &&
      field(e, 'source.port') === r.peerPort &&
      field(e, 'http.request.method') === r.method &&
      field(e, 'url.path') === r.path,
  );
}

export interface AttributionTally {
  attributed: number;
  total: number;
}

/**
 * Asserts one event per sent request with the right facts; returns the matched events in the
 * same order. process.pid: when the event names a process it must be the client's; when it
 * names none (a one-shot client can exit before its lookup: a race the tool cannot always
 * win) the event must say so, `exited` or `unknown` with a reason, and the tally counts it so
 * the caller can require a share.
 */
export function expectEvents(
  t: Test,
  events: readonly AnalyzerEvent[],
  sent: readonly SentRequest[],
  tally?: AttributionTally,
): (AnalyzerEvent | undefined)[] {
  return sent.map(({ request: r, pid, scenario }) => {
    const what = `${scenario}: ${r.method} ${r.path}`;
    const found = findEvent(events, r);
    t.equal(found.length, 1, `${what}: exactly one event`);
    const e = found[0];
    if (e === undefined) return undefined;
    const v6 = r.peerIp.includes(':');
    t.equal(field(e, 'imds.kind'), r.kind, `${what}: imds.kind ${r.kind}`);
    t.equal(field(e, 'http.response.status_code'), r.status, `${what}: status ${r.status}`);
    t.equal(field(e, 'network.type'), v6 ? 'ipv6' : 'ipv4', `${what}: network.type`);
    t.equal(
      field(e, 'destination.ip'),
      v6 ? 'fd00:ec2::254' : '169.254.169.254',
      `${what}: destination.ip`,
    );
    t.equal(field(e, 'destination.port'), 80, `${what}: destination.port`);
    t.match(field(e, 'network.community_id'), /^1:[A-Za-z0-9+/]+=*$/, `${what}: community_id`);
    t.match(
      field(e, '@timestamp'),
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
      `${what}: @timestamp`,
    );
    if (r.userAgent !== '') {
      t.equal(field(e, 'user_agent.original'), r.userAgent, `${what}: user_agent.original`);
    }
    const fp = field(e, 'imds.token.fingerprint');
    if (r.kind === 'v1') t.equal(fp, undefined, `${what}: no token fingerprint on v1`);
    else if (r.kind === 'v2' || r.status === 200) {
      t.match(fp, /^[0-9a-f]{16}$/, `${what}: token fingerprint`);
    }
    const got = field(e, 'process.pid');
    if (tally) {
      tally.total += 1;
      if (got === pid) tally.attributed += 1;
    }
    if (got === undefined) {
      expectUnattributedSaysWhy(t, e, what);
    } else {
      t.equal(got, pid, `${what}: process.pid is the client's`);
    }
    return e;
  });
}

/** A request whose process was not named says why: `exited` or `unknown`, with a reason. */
export function expectUnattributedSaysWhy(t: Test, e: AnalyzerEvent, what: string): void {
  t.match(field(e, 'imds.attribution.status'), /^(exited|unknown)$/, `${what}: not named: status`);
  t.match(field(e, 'imds.attribution.reason'), /\S/, `${what}: not named: reason given`);
}

/** The token a v2 request used is the one its token PUT issued: same fingerprint. */
export function expectSameToken(
  t: Test,
  tokenEvent: AnalyzerEvent | undefined,
  uses: readonly (AnalyzerEvent | undefined)[],
  what: string,
): void {
  const issued = tokenEvent === undefined ? undefined : field(tokenEvent, 'imds.token.fingerprint');
  t.ok(issued !== undefined, `${what}: token event has a fingerprint`);
  for (const u of uses) {
    t.equal(
      u === undefined ? undefined : field(u, 'imds.token.fingerprint'),
      issued,
      `${what}: v2 call's fingerprint is the issued token's`,
    );
  }
}

/** Several requests on one connection: one flow id, one community id, request_index 1..n. */
export function expectOneConnection(
  t: Test,
  es: readonly (AnalyzerEvent | undefined)[],
  what: string,
): void {
  const ids = new Set(es.map((e) => (e === undefined ? undefined : field(e, 'imds.flow.id'))));
  const cids = new Set(
    es.map((e) => (e === undefined ? undefined : field(e, 'network.community_id'))),
  );
  t.equal(ids.size, 1, `${what}: one imds.flow.id`);
  t.notOk(ids.has(undefined), `${what}: imds.flow.id present`);
  t.equal(cids.size, 1, `${what}: one network.community_id`);
  t.same(
    es.map((e) => (e === undefined ? undefined : field(e, 'imds.flow.request_index'))),
    es.map((_, i) => i + 1),
    `${what}: request_index counts the keep-alive requests`,
  );
}

/** No secret string from the mock's responses in any output (messages never quote them). */
export function expectNoSecrets(
  t: Test,
  outputs: Readonly<Record<string, string>>,
  secrets: readonly string[],
): void {
  for (const [name, text] of Object.entries(outputs)) {
    const leaked = secrets.filter((s) => text.includes(s)).length;
    t.equal(leaked, 0, `no token or credential string in ${name} (${text.length} bytes)`);
  }
}

/**
 * Runs one client scenario against the mock and returns what it sent, each request paired with
 * the pid of the process that sent it (`pidOf` decides, e.g. token PUT from one curl, GETs
 * from the next).
 */
export async function driveScenario(
  imds: { clear(): void; waitForRequests(n: number, ms?: number): Promise<MockRequest[]> },
  scenario: string,
  expectedRequests: number,
  drive: () => Promise<(r: MockRequest) => number>,
): Promise<SentRequest[]> {
  imds.clear();
  const pidOf = await drive();
  const requests = await imds.waitForRequests(expectedRequests, 5000);
  return requests.map((request) => ({ request, pid: pidOf(request), scenario }));
}

/** The v1 call after a token PUT whose answer never reached the client carries `imds.fallback`. */
export function expectFallback(t: Test, e: AnalyzerEvent | undefined, what: string): void {
  const fb = e === undefined ? undefined : field(e, 'imds.fallback');
  t.ok(fb !== undefined, `${what}: marked imds.fallback`);
}

/** Every line the analyzer wrote validates against its shipped JSON Schema. */
export function expectSchemaValid(t: Test, events: readonly AnalyzerEvent[], what: string): void {
  const bad = events
    .map((e, i) => ({ i, errors: schemaErrors(e) }))
    .filter((x) => x.errors.length > 0);
  t.same(
    bad.slice(0, 5).map((x) => `line ${x.i + 1}: ${x.errors.join('; ')}`),
    [],
    `${what}: all ${events.length} events match the event schema`,
  );
}

/**
 * Requests the mock saw on one client connection (same client port) are one flow for the
 * analyzer too: one imds.flow.id, one community id, request_index 1..n in order.
 */
export function expectConnectionsAsSent(
  t: Test,
  sent: readonly SentRequest[],
  matched: readonly (AnalyzerEvent | undefined)[],
  what: string,
): void {
  const byConn = new Map<string, (AnalyzerEvent | undefined)[]>();
  sent.forEach((s, i) => {
    const key = `${s.request.peerIp} ${s.request.peerPort}`;
    const list = byConn.get(key) ?? [];
    list.push(matched[i]);
    byConn.set(key, list);
  });
  for (const [key, es] of byConn) {
    if (es.length > 1) expectOneConnection(t, es, `${what} (${es.length} requests on ${key})`);
  }
}
