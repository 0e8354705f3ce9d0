/**
 * The service's sandbox still captures and attributes. systemd is not PID 1 here, so the
 * unit's process-level restrictions are rebuilt from systemd/imds-analyzer.service itself:
 * its user is replaced by `nobody`, its capabilities (ambient and bounding set) and
 * NoNewPrivileges by setpriv, its SystemCallFilter= / SystemCallErrorNumber= /
 * RestrictAddressFamilies= by unit-seccomp-exec.py (libseccomp). The built daemon then
 * records a root-owned curl's IMDSv1 call in a fake instance, and names it. Without
 * CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH the same call is left unnamed: the unit's three
 * capabilities are needed, not just sufficient. (Mount-namespace directives such as
 * ProtectSystem= are not rebuilt here.)
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  ANALYZER_MAIN,
  ensureBuilt,
  field,
  parseJsonLines,
  type AnalyzerEvent,
} from '../helpers/fake-instance/analyzer.js';
import { curlGet, REPO_ROOT, type ClientRun } from '../helpers/fake-instance/clients.js';
import { createImdsLink, type ImdsLink } from '../helpers/netns.js';
import { startMockImds } from '../helpers/mock-imds.js';

const UNIT = join(REPO_ROOT, 'systemd', 'imds-analyzer.service');
const SECCOMP_EXEC = join(REPO_ROOT, 'test', 'packaging', 'unit-seccomp-exec.py');
const PYTHON = '/usr/bin/python3';

function unitCaps(): string[] {
  const line = /^AmbientCapabilities=(.*)$/m.exec(readFileSync(UNIT, 'utf8'))?.[1] ?? '';
  return line.split(/\s+/).filter((c) => c !== '');
}

/** setpriv's spelling of a capability set: "-all,+net_raw,...". */
function capSpec(caps: readonly string[]): string {
  return ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
}

function missing(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (namespaces, setpriv)';
  const probe = spawnSync(PYTHON, ['-c', 'import seccomp'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'needs python3-seccomp (apt-get install -y python3-seccomp)';
  if (spawnSync('setpriv', ['--help']).status !== 0) return 'needs setpriv (util-linux)';
  return false;
}

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly curl: ClientRun;
}

/**
 * Runs a one-shot capture as the unit would (user nobody, the given capabilities, no new
 * privileges, the unit's seccomp filter) inside the instance namespace, and one curl IMDSv1
 * call (as root) while it captures.
 */
async function sandboxedOneShot(link: ImdsLink, caps: readonly string[]): Promise<Outcome> {
  const spec = capSpec(caps);
  const child: ChildProcess = link.instance.spawn(
    'setpriv',
    [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      `--inh-caps=${spec}`,
      `--ambient-caps=${spec}`,
      `--bounding-set=${spec}`,
      '--no-new-privs',
      PYTHON,
      SECCOMP_EXEC,
      UNIT,
      '--',
      process.execPath,
      ANALYZER_MAIN,
      '--interface',
      link.instanceInterface,
      '--duration',
      '4',
      '--format',
      'json',
      '--attribution',
      'proc',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    for (let waited = 0; !/capturing on \S+/.test(stderr); waited += 50) {
      if (child.exitCode !== null || waited > 20_000) {
        throw new Error(`sandboxed analyzer did not start capturing: ${stderr.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const curl = await curlGet(link.instance, ['/latest/meta-data/instance-id']);
    const code = await exited;
    return { code, stdout, stderr, curl };
  } finally {
    clearTimeout(kill);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

function eventsOf(outcome: Outcome): AnalyzerEvent[] {
  return parseJsonLines(outcome.stdout).filter((e) => field(e, 'imds.kind') === 'v1');
}

t.test('the unit sandbox captures and attributes', { skip: missing() }, async (t) => {
  t.setTimeout(180_000);
  await ensureBuilt();
  const caps = unitCaps();
  t.same(
    [...caps].sort(),
    ['CAP_DAC_READ_SEARCH', 'CAP_NET_RAW', 'CAP_SYS_PTRACE'],
    'the unit grants exactly the three capabilities',
  );
  const link = await createImdsLink('sb');
  t.teardown(() => link.destroy());
  // A slow answer keeps curl alive for a second: this test is about permissions, not about
  // winning the race against a client that exits within milliseconds (that is attribution's).
  const imds = await startMockImds(link.imds, { mode: 'optional', latencyMs: 1000 });
  t.teardown(() => imds.stop());

  const full = await sandboxedOneShot(link, caps);
  t.equal(full.curl.code, 0, 'curl got its answer');
  t.equal(full.code, 1, 'exit status 1: an IMDSv1 call was seen', {
    stderr: full.stderr.slice(-2000),
  });
  t.notMatch(full.stderr, /Operation not permitted|EPERM|EAFNOSUPPORT/, 'nothing was refused');
  t.match(full.stderr, /sock_diag for our namespace/, 'the sock_diag netlink socket is allowed');
  const v1 = eventsOf(full);
  const mine = v1.filter((e) => field(e, 'process.pid') === full.curl.pid);
  t.equal(mine.length, 1, 'the root-owned curl is named by pid by a daemon running as nobody', {
    seen: v1.map((e) => [field(e, 'process.pid'), field(e, 'imds.attribution.status')]),
  });
  t.equal(mine[0] && field(mine[0], 'process.name'), 'curl', 'and by name');
  t.equal(mine[0] && field(mine[0], 'imds.attribution.status'), 'ok', 'attribution status ok');

  const bare = await sandboxedOneShot(
    link,
    caps.filter((c) => c === 'CAP_NET_RAW'),
  );
  const bareV1 = eventsOf(bare);
  t.equal(bareV1.length, 1, 'with CAP_NET_RAW alone the call is still captured');
  t.equal(
    bareV1.filter((e) => field(e, 'process.pid') === bare.curl.pid).length,
    0,
    'but without CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH it is not named',
  );
});
