/**
 * The built imds-analyzer in one-shot mode (`--duration N --format json`) inside the fake
 * instance: events and the summary on stdout, readiness on stderr, and the exit status scripts
 * rely on: 0 when only IMDSv2 was seen, 1 when any IMDSv1 call was.
 */
import t, { type Test } from 'tap';
import {
  ensureBuilt,
  field,
  parseJsonLines,
  runOneShot,
  type AnalyzerEvent,
} from '../helpers/fake-instance/analyzer.js';
import {
  awsCliCredentials,
  curlGet,
  curlToken,
  pythonUrllib,
  sdkJsCredentials,
} from '../helpers/fake-instance/clients.js';
import {
  driveScenario,
  expectConnectionsAsSent,
  expectEvents,
  expectFallback,
  expectUnattributedSaysWhy,
  expectNoSecrets,
  expectSameToken,
  expectSchemaValid,
  requestEvents,
  type SentRequest,
} from '../helpers/fake-instance/expect-events.js';
import { requireE2E } from '../helpers/fake-instance/preflight.js';
import { createFakeInstanceNet, type FakeInstanceNet } from '../helpers/fake-instance/topology.js';
import { startMockImds, tokenAt, type MockImds } from '../helpers/mock-imds.js';

const CREDS = '/latest/meta-data/iam/security-credentials/';

/** The summary's request counts are the request events printed before it. */
function expectSummaryCounts(t: Test, events: readonly AnalyzerEvent[]): void {
  const last = events[events.length - 1];
  const reqs = requestEvents(events);
  const count = (k: string): number => reqs.filter((e) => field(e, 'imds.kind') === k).length;
  t.same(
    last && field(last, 'imds.summary.requests'),
    { total: reqs.length, v1: count('v1'), v2: count('v2'), token: count('token') },
    'summary counts match the events',
  );
}

function secretsOf(imds: MockImds, extra: readonly string[] = []): string[] {
  const s = [...imds.secretStrings(), ...extra];
  for (let n = 0; n < 50; n++) s.push(tokenAt(imds.secrets.tokenSeed, n));
  return s;
}

if (await requireE2E(t)) {
  let net: FakeInstanceNet;
  t.before(async () => {
    await ensureBuilt();
    net = await createFakeInstanceNet('os');
  });
  t.teardown(() => net.destroy());

  t.test('required mode, IMDSv2 only: exit 0, events and summary', async (t) => {
    const imds = await startMockImds(net.imds, { mode: 'required' });
    t.teardown(() => imds.stop());
    const tokens: string[] = [];
    const res = await runOneShot(
      net.instance,
      ['--duration', '8', '--format', 'json', '--interface', 'eth0'],
      async () => {
        const sdk6 = await driveScenario(imds, 'aws-sdk-js-v3 IPv6', 3, async () => {
          const r = await sdkJsCredentials(net.instance, { ipv6: true });
          return () => r.pid;
        });
        const cli = await driveScenario(imds, 'awscli', 3, async () => {
          const r = await awsCliCredentials(net.instance);
          return () => r.pid;
        });
        const curl = await driveScenario(imds, 'curl v2', 2, async () => {
          const tok = await curlToken(net.instance);
          if (tok.token !== undefined) tokens.push(tok.token);
          const get = await curlGet(net.instance, ['/latest/meta-data/instance-id'], {
            token: tok.token ?? '',
          });
          return (r) => (r.kind === 'token' ? tok.pid : get.pid);
        });
        const py = await driveScenario(imds, 'python-urllib v2', 3, async () => {
          const r = await pythonUrllib(net.instance, 'v2');
          return () => r.pid;
        });
        return { sdk6, cli, curl, py };
      },
    );
    t.match(res.stderr, /capturing on eth0/, 'readiness line on stderr');
    t.equal(res.code, 0, 'exit 0: no IMDSv1 call seen');
    const events = parseJsonLines(res.stdout);
    expectSchemaValid(t, events, 'stdout');
    const { sdk6, cli, curl, py } = res.during;
    t.same(
      sdk6.map((s) => s.request.kind),
      ['token', 'v2', 'v2'],
      'ground truth: SDK v2 over IPv6',
    );
    t.same(
      cli.map((s) => s.request.kind),
      ['token', 'v2', 'v2'],
      'ground truth: awscli v2',
    );
    const sdkMatched = expectEvents(t, events, sdk6);
    expectConnectionsAsSent(t, sdk6, sdkMatched, 'sdk IPv6');
    const [sdkToken, ...sdkGets] = sdkMatched;
    expectSameToken(t, sdkToken, sdkGets, 'sdk IPv6');
    const cliMatched = expectEvents(t, events, cli);
    expectConnectionsAsSent(t, cli, cliMatched, 'awscli');
    const [cliToken, ...cliGets] = cliMatched;
    expectSameToken(t, cliToken, cliGets, 'awscli');
    const [curlTok, curlGet1] = expectEvents(t, events, curl);
    expectSameToken(t, curlTok, [curlGet1], 'curl');
    const [pyToken, ...pyGets] = expectEvents(t, events, py);
    expectSameToken(t, pyToken, pyGets, 'python-urllib v2');
    t.equal(requestEvents(events).length, 11, 'one event per request, no more');
    const last = events[events.length - 1];
    t.equal(last && field(last, 'event.action'), 'imds-summary', 'summary is the last line');
    expectSummaryCounts(t, events);
    t.equal(requestEvents(events).filter((e) => field(e, 'imds.kind') === 'v1').length, 0);
    expectNoSecrets(t, { stdout: res.stdout, stderr: res.stderr }, secretsOf(imds, tokens));
  });

  t.test('optional mode, IMDSv1 seen: exit 1', async (t) => {
    const imds = await startMockImds(net.imds, { mode: 'optional' });
    t.teardown(() => imds.stop());
    const res = await runOneShot(
      net.instance,
      ['--duration', '5', '--format', 'json', '--interface', 'eth0'],
      async () => {
        const curl = await driveScenario(imds, 'curl v1 IPv6', 1, async () => {
          const r = await curlGet(net.instance, ['/latest/meta-data/iam/info'], { ipv6: true });
          return () => r.pid;
        });
        const py = await driveScenario(imds, 'python-urllib v1', 2, async () => {
          const r = await pythonUrllib(net.instance, 'v1');
          return () => r.pid;
        });
        return [...curl, ...py];
      },
    );
    t.equal(res.code, 1, 'exit 1: IMDSv1 calls seen');
    const events = parseJsonLines(res.stdout);
    expectSchemaValid(t, events, 'stdout');
    t.same(
      res.during.map((s) => `${s.request.kind} ${s.request.status}`),
      ['v1 200', 'v1 200', 'v1 200'],
    );
    expectEvents(t, events, res.during);
    const last = events[events.length - 1];
    t.equal(last && field(last, 'event.action'), 'imds-summary', 'summary is the last line');
    expectSummaryCounts(t, events);
    expectNoSecrets(t, { stdout: res.stdout, stderr: res.stderr }, secretsOf(imds));
  });

  t.test("text format: a token on curl's command line never reaches the output", async (t) => {
    const imds = await startMockImds(net.imds, { mode: 'required' });
    t.teardown(() => imds.stop());
    const tokens: string[] = [];
    const res = await runOneShot(
      net.instance,
      ['--duration', '4', '--format', 'text', '--interface', 'eth0'],
      async () => {
        const tok = await curlToken(net.instance);
        if (tok.token !== undefined) tokens.push(tok.token);
        // The token sits in this curl's argv for its whole life: attribution reads argv.
        const get = await curlGet(
          net.instance,
          ['/latest/meta-data/iam/info', `${CREDS}${imds.role}`],
          {
            token: tok.token ?? '',
          },
        );
        return get;
      },
    );
    t.equal(res.code, 0, 'exit 0: only IMDSv2');
    t.equal(tokens.length, 1, 'curl got a token');
    t.notOk(res.stdout.trim().startsWith('{'), 'text, not JSON');
    t.match(res.stdout, /\/latest\/meta-data\/iam\/info/, 'the requests are listed');
    expectNoSecrets(t, { stdout: res.stdout, stderr: res.stderr }, secretsOf(imds, tokens));
  });

  t.test('container behind NAT, captured on any: awscli falls back to IMDSv1', async (t) => {
    const imds = await startMockImds(net.imds, { mode: 'optional', hopLimit: 1 });
    t.teardown(() => imds.stop());
    let sent: SentRequest[] = [];
    let ok = false;
    const res = await runOneShot(
      net.instance,
      ['--duration', '8', '--format', 'json', '--interface', 'any'],
      async () => {
        sent = await driveScenario(imds, 'awscli in container', 3, async () => {
          const r = await awsCliCredentials(net.container);
          ok = r.report.ok;
          return () => r.pid;
        });
      },
    );
    t.ok(ok, 'awscli got credentials over v1');
    t.same(
      sent.map(
        (s) => `${s.request.method} ${s.request.kind} ${s.request.status} ${s.request.path}`,
      ),
      ['PUT token 200 /latest/api/token', `GET v1 200 ${CREDS}`, `GET v1 200 ${CREDS}${imds.role}`],
      'ground truth: token PUT answered but never received, then v1',
    );
    t.equal(res.code, 1, 'exit 1: IMDSv1 calls seen');
    const events = requestEvents(parseJsonLines(res.stdout));
    // Seen twice (container side before NAT, eth0 after): reported once each.
    for (const s of sent) {
      const matching = events.filter(
        (e) =>
          field(e, 'http.request.method') === s.request.method &&
          field(e, 'url.path') === s.request.path,
      );
      t.equal(matching.length, 1, `${s.request.method} ${s.request.path}: one event despite NAT`);
      const e = matching[0];
      if (e === undefined) continue;
      t.equal(field(e, 'imds.kind'), s.request.kind, `${s.request.path}: kind`);
      t.equal(
        field(e, 'source.ip'),
        '198.51.100.2',
        `${s.request.path}: the container's own address`,
      );
      if (s.request.kind === 'token') {
        t.not(field(e, 'http.response.status_code'), 200, 'the container never received the token');
      } else {
        // On `any` the container-side copy of the PUT never gets its answer: the v1 calls come
        // while it is still unanswered ("no answer yet").
        expectFallback(t, e, s.request.path);
      }
      const pid = field(e, 'process.pid');
      if (pid === undefined) expectUnattributedSaysWhy(t, e, s.request.path);
      else t.equal(pid, s.pid, `${s.request.path}: process.pid is awscli's`);
    }
    expectNoSecrets(t, { stdout: res.stdout, stderr: res.stderr }, secretsOf(imds));
  });
}
