/**
 * The end-to-end suite fails, never skips, when it cannot run; only IMDS_E2E=skip skips it.
 */
import t from 'tap';
import { preflightProblems, requireE2E } from '../helpers/fake-instance/preflight.js';

t.test('a missing tool is a problem that names the Debian package', async (t) => {
  const problems = await preflightProblems([['/nonexistent/bin/aws', 'awscli']], 0);
  t.same(problems, ['/nonexistent/bin/aws missing: apt-get install -y awscli']);
});

t.test('not being root is a problem', async (t) => {
  const problems = await preflightProblems([], 1000);
  t.match(problems, [/needs root/]);
});

t.test('requireE2E throws when the bench cannot run (the test file fails)', async (t) => {
  const plans: string[] = [];
  await t.rejects(
    requireE2E(
      { plan: (_n, why) => plans.push(why ?? '') },
      { env: {}, problems: () => Promise.resolve(['needs root']) },
    ),
    /cannot run .*IMDS_E2E=skip.*needs root/,
  );
  t.same(plans, [], 'no skip plan');
});

t.test('requireE2E skips only on IMDS_E2E=skip', async (t) => {
  const plans: string[] = [];
  const go = await requireE2E(
    { plan: (_n, why) => plans.push(why ?? '') },
    { env: { IMDS_E2E: 'skip' }, problems: () => Promise.resolve(['needs root']) },
  );
  t.equal(go, false);
  t.same(plans, ['IMDS_E2E=skip set explicitly']);
  const other = await requireE2E(
    { plan: (_n, why) => plans.push(why ?? '') },
    { env: { IMDS_E2E: '0' }, problems: () => Promise.resolve([]) },
  );
  t.equal(other, true, 'any other value runs the suite');
});
