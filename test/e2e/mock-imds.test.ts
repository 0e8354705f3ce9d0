/**
 * The fake IMDS answers as the real one does, checked with curl from the fake instance, and the
 * token PUT response really does not reach a container one hop further.
 */
import t from 'tap';
import { curlGet, curlStatuses, curlToken } from '../helpers/fake-instance/clients.js';
import { startWitness } from '../helpers/fake-instance/capture.js';
import { requireE2E } from '../helpers/fake-instance/preflight.js';
import { createFakeInstanceNet, type FakeInstanceNet } from '../helpers/fake-instance/topology.js';
import { startMockImds, tokenAt } from '../helpers/mock-imds.js';

if (await requireE2E(t)) {
  let net: FakeInstanceNet;
  t.before(async () => {
    net = await createFakeInstanceNet('mq');
  });
  t.teardown(async () => {
    await net.destroy();
  });

  t.test('optional mode: token rules, v1 and v2 reads', async (t) => {
    const imds = await startMockImds(net.imds, { mode: 'optional' });
    t.teardown(() => imds.stop());
    const inst = net.instance;

    const noTtl = await curlToken(inst, { ttl: null });
    t.equal(noTtl.status, 400, 'PUT without TTL header');
    t.equal((await curlToken(inst, { ttl: 0 })).status, 400, 'TTL 0');
    t.equal((await curlToken(inst, { ttl: 21601 })).status, 400, 'TTL 21601');
    const xff = await curlToken(inst, { headers: ['X-Forwarded-For: 198.51.100.7'] });
    t.equal(xff.status, 403, 'PUT with X-Forwarded-For');

    const ok = await curlToken(inst, { ttl: 21600 });
    t.equal(ok.status, 200, 'TTL 21600 accepted');
    t.ok(
      ok.token !== undefined && ok.token === tokenAt(imds.secrets.tokenSeed, 0),
      'token is the first of the run',
    );
    const ok1 = await curlToken(inst, { ttl: 1 });
    t.equal(ok1.status, 200, 'TTL 1 accepted');

    const paths = [
      '/latest/meta-data/',
      '/latest/meta-data/ami-id',
      '/latest/meta-data/instance-id',
      '/latest/meta-data/instance-type',
      '/latest/meta-data/local-ipv4',
      '/latest/meta-data/placement/region',
      '/latest/meta-data/placement/availability-zone',
      '/latest/meta-data/iam/info',
      '/latest/meta-data/iam/security-credentials/',
      `/latest/meta-data/iam/security-credentials/${imds.role}`,
      '/latest/dynamic/instance-identity/document',
    ];
    const v1 = await curlGet(inst, paths);
    t.same(
      curlStatuses(v1),
      paths.map(() => 200),
      'every documented path answers v1 in optional mode',
    );
    t.match(v1.stdout, /^iam\/$/m, 'meta-data/ lists iam/');
    t.match(v1.stdout, new RegExp(`^${imds.role}$`, 'm'), 'security-credentials/ lists the role');
    const credJson = /\{[^{}]*"AccessKeyId"[^{}]*\}/.exec(v1.stdout)?.[0] ?? '{}';
    const cred = JSON.parse(credJson) as Record<string, unknown>;
    t.same(
      Object.keys(cred),
      ['Code', 'LastUpdated', 'Type', 'AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration'],
      'credentials in the real JSON shape',
    );
    t.ok(cred.AccessKeyId === imds.secrets.accessKeyId, 'served the run access key id');
    t.ok(cred.Token === imds.secrets.sessionToken, 'served the run session token');
    t.equal(cred.Type, 'AWS-HMAC');

    const v2 = await curlGet(inst, ['/latest/meta-data/instance-id'], { token: ok.token ?? '' });
    t.same(curlStatuses(v2), [200], 'v2 read with the token');
    const bad = await curlGet(inst, ['/latest/meta-data/instance-id'], {
      token: 'AQAEAnotatoken==',
    });
    t.same(curlStatuses(bad), [401], 'unknown token refused');
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await curlGet(inst, ['/latest/meta-data/instance-id'], {
      token: ok1.token ?? '',
    });
    t.same(curlStatuses(expired), [401], 'expired token (TTL 1 s) refused');
    t.same(curlStatuses(await curlGet(inst, ['/latest/meta-data/nope'])), [404], 'unknown path');

    const v6 = await curlGet(inst, ['/latest/meta-data/instance-id'], { ipv6: true });
    t.same(curlStatuses(v6), [200], 'IPv6 endpoint answers');

    const kinds = imds.requests.map((r) => `${r.method} ${r.kind} ${r.status}`);
    t.ok(
      kinds.includes('PUT token 403') && kinds.includes('GET v2 401'),
      'mock log classifies requests',
    );
    const ports = new Set(
      imds.requests
        .filter(
          (r) =>
            r.path !== '/latest/api/token' &&
            r.status === 200 &&
            r.kind === 'v1' &&
            r.peerIp === '192.0.2.2',
        )
        .map((r) => r.peerPort),
    );
    t.ok(
      ports.size < paths.length,
      'one curl with several URLs reuses its connection (keep-alive)',
    );
  });

  t.test('required mode: token-less reads refused with 401', async (t) => {
    const imds = await startMockImds(net.imds, { mode: 'required' });
    t.teardown(() => imds.stop());
    const v1 = await curlGet(net.instance, ['/latest/meta-data/instance-id']);
    t.same(curlStatuses(v1), [401]);
    const tok = await curlToken(net.instance);
    t.equal(tok.status, 200);
    const v2 = await curlGet(net.instance, ['/latest/meta-data/instance-id'], {
      token: tok.token ?? '',
    });
    t.same(curlStatuses(v2), [200]);
    t.match(v2.stdout, /^i-0123456789abcdef0$/m);
  });

  t.test('hop limit 1: the container never receives the token, the instance does', async (t) => {
    const imds = await startMockImds(net.imds, { mode: 'optional', hopLimit: 1 });
    t.teardown(() => imds.stop());
    for (const ipv6 of [false, true]) {
      const fam = ipv6 ? 'IPv6' : 'IPv4';
      const inst = await curlToken(net.instance, { ipv6 });
      t.equal(inst.status, 200, `${fam}: instance receives the PUT response`);
      const ctr = await curlToken(net.container, { ipv6, timeoutS: 3 });
      t.equal(ctr.code, 28, `${fam}: container's PUT times out (curl exit 28)`);
      t.equal(ctr.token, undefined, `${fam}: container got no token`);
      const seen = imds.requests.filter((r) => r.method === 'PUT' && r.status === 200);
      t.ok(seen.length >= 2, `${fam}: the mock did answer the container's PUT`);
      imds.clear();
      const get = await curlGet(net.container, ['/latest/meta-data/instance-id'], { ipv6 });
      t.same(curlStatuses(get), [200], `${fam}: other responses reach the container (normal TTL)`);
    }
  });

  t.test('on the wire: the PUT response leaves with TTL/hop limit 1, others with 64', async (t) => {
    const imds = await startMockImds(net.imds, { mode: 'optional', hopLimit: 1 });
    t.teardown(() => imds.stop());
    // Data-carrying segments from IMDS, by IP TTL / IPv6 hop limit.
    const v4Data =
      'src host 169.254.169.254 and tcp and (ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) > 0';
    const v6Data =
      'src host fd00:ec2::254 and ip6[6] = 6 and (ip6[4:2] - ((ip6[52] & 0xf0) >> 2)) > 0';
    for (const [what, drive, ttl1, ttl64] of [
      ['token PUT', () => curlToken(net.instance), 1, 0],
      ['GET', () => curlGet(net.instance, ['/latest/meta-data/instance-id']), 0, 1],
      ['IPv6 token PUT', () => curlToken(net.instance, { ipv6: true }), 1, 0],
      [
        'IPv6 GET',
        () => curlGet(net.instance, ['/latest/meta-data/instance-id'], { ipv6: true }),
        0,
        1,
      ],
    ] as const) {
      const v6 = what.startsWith('IPv6');
      const data = v6 ? v6Data : v4Data;
      const hops = v6 ? 'ip6[7]' : 'ip[8]';
      const w1 = await startWitness(net.instance, 'eth0');
      await drive();
      const low = (await w1.stop(`${data} and ${hops} = 1`)).matching;
      t.equal(
        low.length > 0,
        ttl1 === 1,
        `${what}: ${ttl1 === 1 ? 'some' : 'no'} data segments with TTL 1`,
      );
      const w2 = await startWitness(net.instance, 'eth0');
      await drive();
      const normal = (await w2.stop(`${data} and ${hops} = 64`)).matching;
      t.equal(
        normal.length > 0,
        ttl64 === 1,
        `${what}: ${ttl64 === 1 ? 'some' : 'no'} data segments with TTL 64`,
      );
    }
  });

  t.test('hop limit 2: the container receives the token', async (t) => {
    const imds = await startMockImds(net.imds, { mode: 'optional', hopLimit: 2 });
    t.teardown(() => imds.stop());
    const ctr = await curlToken(net.container);
    t.equal(ctr.status, 200);
  });

  t.test('configurable latency delays answers', async (t) => {
    const imds = await startMockImds(net.imds, { latencyMs: 1500 });
    t.teardown(() => imds.stop());
    const r = await curlGet(net.instance, ['/latest/meta-data/instance-id'], { timeoutS: 1 });
    t.equal(r.code, 28, 'a 1 s client timeout expires against 1.5 s latency');
  });
}
