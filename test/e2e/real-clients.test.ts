/**
 * Ground truth for the analyzer's end-to-end tests: what each real client actually sends to
 * IMDS, as the fake IMDS itself logged it, in `optional` and `required` mode, from the instance
 * and from a NATed container behind it (hop limit 1: the token PUT response never arrives).
 * No analyzer here: this pins the clients' behaviour the analyzer must then report.
 */
import t from 'tap';
import {
  awsCliCredentials,
  credentialsDigest,
  curlGet,
  curlStatuses,
  curlToken,
  pythonUrllib,
  sdkJsCredentials,
  type ReportingRun,
} from '../helpers/fake-instance/clients.js';
import { startWitness } from '../helpers/fake-instance/capture.js';
import { requireE2E } from '../helpers/fake-instance/preflight.js';
import { createFakeInstanceNet, type FakeInstanceNet } from '../helpers/fake-instance/topology.js';
import { startMockImds, type MockImds, type MockRequest } from '../helpers/mock-imds.js';
import type { Netns } from '../helpers/netns.js';

const CREDS = '/latest/meta-data/iam/security-credentials/';

/** "PUT token 200 /latest/api/token" per request: the shape asserted and reported. */
function sent(requests: readonly MockRequest[]): string[] {
  return requests.map((r) => `${r.method} ${r.kind} ${r.status} ${r.path}`);
}

if (await requireE2E(t)) {
  let net: FakeInstanceNet;
  const table: string[] = [];
  t.before(async () => {
    net = await createFakeInstanceNet('rc');
  });
  t.teardown(async () => {
    await net.destroy();
  });

  const v2Credentials = (role: string): string[] => [
    'PUT token 200 /latest/api/token',
    `GET v2 200 ${CREDS}`,
    `GET v2 200 ${CREDS}${role}`,
  ];

  interface Case {
    readonly client: string;
    readonly ua: RegExp;
    readonly drive: (ns: Netns, ipv6: boolean) => Promise<ReportingRun>;
  }
  const credentialClients: Case[] = [
    { client: 'aws-sdk-js-v3', ua: /^$/, drive: (ns, ipv6) => sdkJsCredentials(ns, { ipv6 }) },
    { client: 'awscli', ua: /^aws-cli\/2\./, drive: (ns, ipv6) => awsCliCredentials(ns, { ipv6 }) },
    {
      client: 'python-urllib (v2, scripted v1 fallback)',
      ua: /^Python-urllib\//,
      drive: (ns, ipv6) => pythonUrllib(ns, 'auto', { ipv6 }),
    },
  ];

  async function scenario(
    imds: MockImds,
    label: string,
    drive: () => Promise<{ ok: boolean; digestOk?: boolean }>,
    settleCount: number,
  ): Promise<{ requests: MockRequest[]; ok: boolean; digestOk?: boolean }> {
    imds.clear();
    const r = await drive();
    const requests = await imds.waitForRequests(settleCount, 3000);
    table.push(`${label}: ${r.ok ? 'succeeded' : 'FAILED'}; sent ${sent(requests).join(' | ')}`);
    return { ...r, requests };
  }

  for (const mode of ['optional', 'required'] as const) {
    t.test(`${mode} mode, from the instance`, async (t) => {
      const imds = await startMockImds(net.imds, { mode });
      t.teardown(() => imds.stop());
      const digest = credentialsDigest(imds.secrets);

      for (const ipv6 of [false, true]) {
        const fam = ipv6 ? 'IPv6' : 'IPv4';
        for (const c of credentialClients) {
          const r = await scenario(
            imds,
            `${mode} instance ${fam} ${c.client}`,
            async () => {
              const run = await c.drive(net.instance, ipv6);
              return { ok: run.report.ok, digestOk: run.report.credentialsSha256 === digest };
            },
            3,
          );
          t.ok(r.ok && r.digestOk, `${c.client} ${fam}: got the instance credentials`);
          t.same(sent(r.requests), v2Credentials(imds.role), `${c.client} ${fam}: IMDSv2 flow`);
          t.ok(
            r.requests.every((q) => c.ua.test(q.userAgent)),
            `${c.client} ${fam}: User-Agent ${r.requests[0]?.userAgent ?? ''}`,
          );
          t.ok(
            r.requests.every((q) => q.peerIp === (ipv6 ? '2001:db8::2' : '192.0.2.2')),
            `${c.client} ${fam}: from the instance address`,
          );
        }

        const v1 = await scenario(
          imds,
          `${mode} instance ${fam} curl v1`,
          async () => {
            const run = await curlGet(net.instance, [`${CREDS}${imds.role}`], { ipv6 });
            return { ok: curlStatuses(run)[0] === 200 };
          },
          1,
        );
        t.same(
          sent(v1.requests),
          [`GET v1 ${mode === 'optional' ? 200 : 401} ${CREDS}${imds.role}`],
          `curl v1 ${fam}`,
        );

        const v2 = await scenario(
          imds,
          `${mode} instance ${fam} curl v2`,
          async () => {
            const tok = await curlToken(net.instance, { ipv6 });
            const run = await curlGet(net.instance, [`${CREDS}${imds.role}`], {
              ipv6,
              token: tok.token ?? '',
            });
            return { ok: curlStatuses(run)[0] === 200 };
          },
          2,
        );
        t.same(
          sent(v2.requests),
          ['PUT token 200 /latest/api/token', `GET v2 200 ${CREDS}${imds.role}`],
          `curl v2 ${fam}`,
        );

        const py1 = await scenario(
          imds,
          `${mode} instance ${fam} python-urllib v1`,
          async () => ({ ok: (await pythonUrllib(net.instance, 'v1', { ipv6 })).report.ok }),
          mode === 'optional' ? 2 : 1,
        );
        t.same(
          sent(py1.requests),
          mode === 'optional'
            ? [`GET v1 200 ${CREDS}`, `GET v1 200 ${CREDS}${imds.role}`]
            : [`GET v1 401 ${CREDS}`],
          `python-urllib v1 ${fam}`,
        );
      }
    });

    t.test(`${mode} mode, from the container (hop limit 1)`, async (t) => {
      const imds = await startMockImds(net.imds, { mode, hopLimit: 1 });
      t.teardown(() => imds.stop());
      const digest = credentialsDigest(imds.secrets);
      for (const ipv6 of [false, true]) {
        const fam = ipv6 ? 'IPv6' : 'IPv4';
        for (const c of credentialClients) {
          const r = await scenario(
            imds,
            `${mode} container ${fam} ${c.client}`,
            async () => {
              const run = await c.drive(net.container, ipv6);
              return { ok: run.report.ok, digestOk: run.report.credentialsSha256 === digest };
            },
            mode === 'optional' ? 3 : 2,
          );
          // The token PUT was answered by IMDS but the answer died at the instance (TTL 1):
          // the client gave up on it and fell back to token-less (v1) calls.
          const fallback =
            mode === 'optional'
              ? [
                  'PUT token 200 /latest/api/token',
                  `GET v1 200 ${CREDS}`,
                  `GET v1 200 ${CREDS}${imds.role}`,
                ]
              : ['PUT token 200 /latest/api/token', `GET v1 401 ${CREDS}`];
          t.same(sent(r.requests), fallback, `${c.client} ${fam}: token PUT unanswered, then v1`);
          if (mode === 'optional')
            t.ok(r.ok && r.digestOk, `${c.client} ${fam}: got credentials over v1`);
          else t.notOk(r.ok, `${c.client} ${fam}: fails, IMDS refuses v1`);
          t.ok(
            r.requests.every((q) => q.peerIp === (ipv6 ? '2001:db8::2' : '192.0.2.2')),
            `${c.client} ${fam}: NATed to the instance address`,
          );
        }
      }
      const curl = await scenario(
        imds,
        `${mode} container IPv4 curl v2`,
        async () => ({ ok: (await curlToken(net.container, { timeoutS: 2 })).status === 200 }),
        1,
      );
      t.notOk(curl.ok, 'curl in the container never gets the token');
      t.same(sent(curl.requests), ['PUT token 200 /latest/api/token']);
    });
  }

  t.test('awscli export-credentials contacts IMDS and nothing else', async (t) => {
    const imds = await startMockImds(net.imds, { mode: 'optional' });
    t.teardown(() => imds.stop());
    for (const region of [true, false]) {
      const witness = await startWitness(net.instance);
      const run = await awsCliCredentials(net.instance, { region });
      const seen = await witness.stop();
      t.ok(run.report.ok, `credentials resolved (AWS_DEFAULT_REGION ${region ? 'set' : 'unset'})`);
      t.ok(seen.imdsPackets > 0, `the witness saw the IMDS traffic (${seen.imdsPackets} packets)`);
      t.same(
        seen.matching,
        [],
        `no packet to anything but IMDS (AWS_DEFAULT_REGION ${region ? 'set' : 'unset'})`,
      );
    }
  });

  t.test('report', (t) => {
    for (const line of table) t.comment(line);
    t.ok(table.length > 0);
    t.end();
  });
}
