import t from 'tap';
import { createImdsLink } from './netns.js';

t.test('the fake IMDS link routes both IMDS addresses from the instance namespace', async (t) => {
  const link = await createImdsLink('st');
  t.teardown(() => link.destroy());
  const v4 = await link.instance.run('ping', ['-c1', '-W2', '169.254.169.254']);
  t.equal(v4.code, 0, v4.stderr);
  const v6 = await link.instance.run('ping', ['-6', '-c1', '-W2', 'fd00:ec2::254']);
  t.equal(v6.code, 0, v6.stderr);
});
