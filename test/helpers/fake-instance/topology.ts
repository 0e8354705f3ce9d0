/**
 * The fake EC2 instance's network: three namespaces, nothing leaves the machine.
 *
 *   container eth0 198.51.100.2/24, 2001:db8:1::2/64 (default routes via the instance)
 *        |  veth (as Docker's bridge)
 *   instance ctr0 198.51.100.1/24, 2001:db8:1::1/64   forwarding on, MASQUERADE out of eth0
 *   instance eth0 192.0.2.2/24, 2001:db8::2/64        <- the analyzer captures here
 *        |  veth
 *   imds eth0 192.0.2.1/24, 2001:db8::1/64, 169.254.169.254, fd00:ec2::254
 *
 * A packet from the IMDS to the container is forwarded once by the instance, so the token PUT
 * response sent with IP TTL 1 (hop limit 1) dies there, as on EC2.
 */
import { createImdsLink, Netns, run, vethPair, type ImdsLink } from '../netns.js';

export const CONTAINER_IPV4 = '198.51.100.2';
export const CONTAINER_GATEWAY_IPV4 = '198.51.100.1';
export const CONTAINER_IPV6 = '2001:db8:1::2';
export const CONTAINER_GATEWAY_IPV6 = '2001:db8:1::1';
export const INSTANCE_IPV4 = '192.0.2.2';
export const INSTANCE_IPV6 = '2001:db8::2';
export const IMDS_IPV4 = '169.254.169.254';
export const IMDS_IPV6 = 'fd00:ec2::254';

export interface FakeInstanceNet extends ImdsLink {
  /** A namespace behind the instance, NATed like a container on Docker's default bridge. */
  readonly container: Netns;
  /** The instance's side of the container's veth (the "docker0" role). */
  readonly bridgeInterface: string;
}

/** Prefixes the e2e tests pass to createFakeInstanceNet (two letters, see Netns.create). */
const OUR_NAMESPACE = /^(fi|mq|rc|dm|os)[imc](\d+)-\d+$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A test run killed outright (no teardown) leaves its namespaces behind; their names carry the
 * pid of the test process, so those whose process is gone are removed before building anew.
 */
export async function removeStaleNamespaces(): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  const stale: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = OUR_NAMESPACE.exec(name);
    if (m?.[2] !== undefined && !alive(Number(m[2]))) stale.push(name);
  }
  for (const name of stale) await run('ip', ['netns', 'del', name]);
  return stale;
}

/** Builds the three namespaces; on any failure removes what it made and rethrows. */
export async function createFakeInstanceNet(prefix = 'fi'): Promise<FakeInstanceNet> {
  await removeStaleNamespaces();
  const link = await createImdsLink(prefix);
  let container: Netns | undefined;
  try {
    container = await Netns.create(`${prefix}c`);
    await vethPair(container, 'eth0', link.instance, 'ctr0');
    const inst = link.instance;
    // EC2 instances have a default route; here it also makes any stray traffic a client might
    // send elsewhere visible on eth0 (it dies in the imds namespace, which forwards nothing).
    await inst.mustRun('ip', ['route', 'add', 'default', 'via', '192.0.2.1']);
    await inst.mustRun('ip', ['-6', 'route', 'add', 'default', 'via', '2001:db8::1']);
    await container.mustRun('ip', ['addr', 'add', `${CONTAINER_IPV4}/24`, 'dev', 'eth0']);
    await container.mustRun('ip', ['route', 'add', 'default', 'via', CONTAINER_GATEWAY_IPV4]);
    await container.mustRun('ip', [
      '-6',
      'addr',
      'add',
      `${CONTAINER_IPV6}/64`,
      'dev',
      'eth0',
      'nodad',
    ]);
    await container.mustRun('ip', ['-6', 'route', 'add', 'default', 'via', CONTAINER_GATEWAY_IPV6]);
    await inst.mustRun('ip', ['addr', 'add', `${CONTAINER_GATEWAY_IPV4}/24`, 'dev', 'ctr0']);
    await inst.mustRun('ip', [
      '-6',
      'addr',
      'add',
      `${CONTAINER_GATEWAY_IPV6}/64`,
      'dev',
      'ctr0',
      'nodad',
    ]);
    await inst.mustRun('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    await inst.mustRun('sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
    await inst.mustRun('iptables', [
      '-t',
      'nat',
      '-A',
      'POSTROUTING',
      '-s',
      '198.51.100.0/24',
      '-o',
      'eth0',
      '-j',
      'MASQUERADE',
    ]);
    await inst.mustRun('ip6tables', [
      '-t',
      'nat',
      '-A',
      'POSTROUTING',
      '-s',
      '2001:db8:1::/64',
      '-o',
      'eth0',
      '-j',
      'MASQUERADE',
    ]);
  } catch (err) {
    await container?.delete();
    await link.destroy();
    throw err;
  }
  const c = container;
  return {
    ...link,
    container: c,
    bridgeInterface: 'ctr0',
    async destroy() {
      await c.delete();
      await link.destroy();
    },
  };
}
