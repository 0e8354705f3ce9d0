/**
 * Drivers for real IMDS clients, none written by us (except the stdlib script that stands for
 * the many home-made scripts on real hosts): curl, the AWS SDK for JavaScript v3 credential
 * provider, Debian's awscli and Python's urllib. Each runs inside a namespace as its own
 * process; the pid is returned so tests can check the analyzer's attribution (`ip netns exec`
 * execs the command, so the spawned pid is the client's own pid).
 *
 * Nothing here prints a credential or a token: clients report a SHA-256 of the credentials
 * they read, and curl's output stays in memory.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Netns } from '../netns.js';
import type { MockSecrets } from '../mock-imds.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PY_CLIENT = fileURLToPath(new URL('./imds-client.py', import.meta.url));
/** Debian's packages, by absolute path: version managers put other builds first in PATH. */
export const AWS_CLI = '/usr/bin/aws';
export const PYTHON = '/usr/bin/python3';
export const CURL = '/usr/bin/curl';

export interface ClientRun {
  readonly pid: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A base environment without any AWS configuration leaking in from the machine. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
  };
  return { ...env, ...extra };
}

/** Runs one client process in `ns` to completion (killed by its pid after timeoutMs). */
export function runClient(
  ns: Netns,
  cmd: string,
  args: readonly string[],
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    timeoutMs?: number;
    onSpawn?: (pid: number) => void;
  } = {},
): Promise<ClientRun> {
  return new Promise((resolve, reject) => {
    const child = ns.spawn(cmd, args, {
      env: options.env ?? cleanEnv(),
      cwd: options.cwd ?? REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    if (pid === undefined) {
      reject(new Error(`${cmd} did not start`));
      return;
    }
    options.onSpawn?.(pid);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      if (child.exitCode === null) process.kill(pid, 'SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ pid, code, stdout, stderr });
    });
  });
}

export function imdsBase(ipv6: boolean): string {
  return ipv6 ? 'http://[fd00:ec2::254]' : 'http://169.254.169.254';
}

/** SHA-256 of the credentials joined by newlines: what the client drivers report. */
export function credentialsDigest(s: MockSecrets): string {
  return createHash('sha256')
    .update([s.accessKeyId, s.secretAccessKey, s.sessionToken].join('\n'))
    .digest('hex');
}

// ---- curl ----------------------------------------------------------------------------------

/** One curl process GETting every path (one connection, keep-alive), with a token if given. */
export function curlGet(
  ns: Netns,
  paths: readonly string[],
  opts: { ipv6?: boolean; token?: string; timeoutS?: number } = {},
): Promise<ClientRun> {
  const args = ['-sS', '--max-time', String(opts.timeoutS ?? 5)];
  if (opts.token !== undefined) args.push('-H', `X-aws-ec2-metadata-token: ${opts.token}`);
  // "-w" marks where each response ends, with its status, so tests can split the outputs.
  args.push('-w', '\\n@@status=%{http_code}@@\\n');
  for (const p of paths) args.push(`${imdsBase(opts.ipv6 ?? false)}${p}`);
  return runClient(ns, CURL, args);
}

/** The statuses curl reported, one per URL (from the -w marker). */
export function curlStatuses(run: ClientRun): number[] {
  return [...run.stdout.matchAll(/@@status=(\d{3})@@/g)].map((m) => Number(m[1]));
}

/** The IMDSv2 token PUT as AWS documents it: curl -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: N". */
export async function curlToken(
  ns: Netns,
  opts: {
    ipv6?: boolean;
    ttl?: number | null;
    headers?: readonly string[];
    timeoutS?: number;
  } = {},
): Promise<ClientRun & { token: string | undefined; status: number }> {
  const args = ['-sS', '-X', 'PUT', '--max-time', String(opts.timeoutS ?? 5)];
  const ttl = opts.ttl === undefined ? 21600 : opts.ttl;
  if (ttl !== null) args.push('-H', `X-aws-ec2-metadata-token-ttl-seconds: ${ttl}`);
  for (const h of opts.headers ?? []) args.push('-H', h);
  args.push('-w', '\\n@@status=%{http_code}@@', `${imdsBase(opts.ipv6 ?? false)}/latest/api/token`);
  const run = await runClient(ns, CURL, args);
  const m = /^([\s\S]*)\n@@status=(\d{3})@@$/.exec(run.stdout);
  const status = m ? Number(m[2]) : 0;
  return { ...run, status, token: status === 200 ? m?.[1] : undefined };
}

// ---- AWS SDK for JavaScript v3 ----------------------------------------------------------------

/**
 * Client timeouts are 2 s instead of the SDKs' default 1 s: a loaded CI machine must not turn
 * an instance's answered token PUT into a timeout (and a v1 fallback the test did not mean).
 * The fallback behaviour itself does not depend on the value.
 */
export const CLIENT_TIMEOUT_S = 2;

/** The provider the SDK's default chain uses on EC2; reports the flow's outcome, never secrets. */
const SDK_SCRIPT = `
import { createHash } from 'node:crypto';
import { fromInstanceMetadata } from '@aws-sdk/credential-provider-imds';
try {
  const c = await fromInstanceMetadata({ timeout: ${CLIENT_TIMEOUT_S * 1000}, maxRetries: 0 })();
  const digest = createHash('sha256').update([c.accessKeyId, c.secretAccessKey, c.sessionToken].join('\\n')).digest('hex');
  console.log(JSON.stringify({ ok: true, credentialsSha256: digest }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: e?.name ?? 'Error' }));
  process.exitCode = 1;
}
`;

export interface ReportingRun extends ClientRun {
  readonly report: { ok: boolean; credentialsSha256?: string; flow?: string; error?: string };
}

function withReport(run: ClientRun): ReportingRun {
  const last = run.stdout.trim().split('\n').pop() ?? '';
  let report: ReportingRun['report'] = { ok: false, error: 'no report' };
  try {
    report = JSON.parse(last) as ReportingRun['report'];
  } catch {
    // keep the "no report" verdict: the client crashed before printing
  }
  return { ...run, report };
}

/**
 * `tag` is appended to the process's argv only to tell two runs apart in the analyzer's
 * process identity (the same command line twice would be one client to its roll-up).
 */
export async function sdkJsCredentials(
  ns: Netns,
  opts: { ipv6?: boolean; tag?: string } = {},
): Promise<ReportingRun> {
  const env = cleanEnv(opts.ipv6 ? { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'IPv6' } : {});
  const args = ['--input-type=module', '-e', SDK_SCRIPT];
  if (opts.tag !== undefined) args.push('--', opts.tag);
  const run = await runClient(ns, process.execPath, args, { env, cwd: REPO_ROOT });
  return withReport(run);
}

// ---- awscli (Debian package; botocore inside) -------------------------------------------------

/**
 * `aws configure export-credentials` resolves credentials through the default chain (IMDS
 * last) and prints them without calling any AWS endpoint. HOME and config files point into an
 * empty temp directory so nothing on the machine is used.
 */
export async function awsCliCredentials(
  ns: Netns,
  opts: { ipv6?: boolean; region?: boolean } = {},
): Promise<ReportingRun> {
  const home = mkdtempSync(join(tmpdir(), 'imds-awscli-'));
  try {
    const env = cleanEnv({
      HOME: home,
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      ...(opts.region === false ? {} : { AWS_DEFAULT_REGION: 'eu-west-1' }),
      AWS_PAGER: '',
      AWS_METADATA_SERVICE_TIMEOUT: String(CLIENT_TIMEOUT_S),
      ...(opts.ipv6 ? { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'IPv6' } : {}),
    });
    const run = await runClient(
      ns,
      AWS_CLI,
      ['configure', 'export-credentials', '--format', 'process'],
      {
        env,
        cwd: home,
      },
    );
    let report: ReportingRun['report'] = { ok: false, error: `exit ${run.code}` };
    if (run.code === 0) {
      try {
        const c = JSON.parse(run.stdout) as {
          AccessKeyId: string;
          SecretAccessKey: string;
          SessionToken: string;
        };
        const digest = createHash('sha256')
          .update([c.AccessKeyId, c.SecretAccessKey, c.SessionToken].join('\n'))
          .digest('hex');
        report = { ok: true, credentialsSha256: digest };
      } catch {
        report = { ok: false, error: 'unparsable output' };
      }
    }
    // The CLI's stdout holds the credentials: keep only the verdict.
    return { ...run, stdout: '', report };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export async function awsCliVersion(): Promise<string> {
  const { run } = await import('../netns.js');
  const r = await run(AWS_CLI, ['--version']);
  return (r.stdout || r.stderr).trim();
}

// ---- Python standard library ----------------------------------------------------------------

export async function pythonUrllib(
  ns: Netns,
  flow: 'v1' | 'v2' | 'auto',
  opts: { ipv6?: boolean } = {},
): Promise<ReportingRun> {
  const args = [PY_CLIENT, '--flow', flow, '--timeout', String(CLIENT_TIMEOUT_S)];
  if (opts.ipv6) args.push('--ipv6');
  return withReport(await runClient(ns, PYTHON, args));
}
