/**
 * End-to-end tests need root, network namespaces, iptables and the real clients. When any is
 * missing they FAIL with a sentence saying what to install; they are skipped only when the
 * environment says so explicitly (IMDS_E2E=skip), which CI never does.
 */
import { access, constants } from 'node:fs/promises';
import { run } from '../netns.js';
import { AWS_CLI, CURL, PYTHON } from './clients.js';

export function e2eSkipped(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.IMDS_E2E === 'skip';
}

/** Debian packages the end-to-end suite runs (with the binary that proves each is there). */
export const REQUIRED_TOOLS: readonly (readonly [string, string])[] = [
  ['/usr/sbin/ip', 'iproute2'],
  ['/usr/sbin/iptables', 'iptables'],
  ['/usr/sbin/ip6tables', 'iptables'],
  ['/usr/sbin/sysctl', 'procps'],
  [CURL, 'curl'],
  [PYTHON, 'python3'],
  [AWS_CLI, 'awscli'],
  ['/usr/bin/tcpdump', 'tcpdump'],
];

/** Returns the problems found (empty when the bench can run). */
export async function preflightProblems(
  tools: readonly (readonly [string, string])[] = REQUIRED_TOOLS,
  uid: number | undefined = process.getuid?.(),
): Promise<string[]> {
  const problems: string[] = [];
  if (uid !== 0) problems.push('needs root (network namespaces, iptables)');
  for (const [bin, pkg] of tools) {
    try {
      await access(bin, constants.X_OK);
    } catch {
      problems.push(`${bin} missing: apt-get install -y ${pkg}`);
    }
  }
  if (problems.length === 0) {
    const r = await run('ip', ['netns', 'list']);
    if (r.code !== 0) problems.push(`ip netns does not work: ${r.stderr.trim()}`);
  }
  return problems;
}

/**
 * Call at the top of an e2e test file. Returns false when the file must do nothing (explicit
 * skip); throws, failing the file, when the bench cannot run.
 */
export async function requireE2E(
  t: { plan(n: number, why?: string): void },
  probe: { env?: NodeJS.ProcessEnv; problems?: () => Promise<string[]> } = {},
): Promise<boolean> {
  if (e2eSkipped(probe.env)) {
    t.plan(0, 'IMDS_E2E=skip set explicitly');
    return false;
  }
  const problems = await (probe.problems ?? preflightProblems)();
  if (problems.length > 0) {
    throw new Error(
      `end-to-end bench cannot run (set IMDS_E2E=skip to skip on purpose): ${problems.join('; ')}`,
    );
  }
  return true;
}
