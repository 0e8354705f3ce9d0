/**
 * Installs the .deb on this machine, checks what a Debian admin relies on (runs without any
 * Node.js on PATH, service user, log directory, conffile, unit, logrotate, man page,
 * completion), then purges it and checks that nothing is left. The machine ends as it began:
 * a pre-existing /var/log/imds-analyzer or /etc/imds-analyzer (from development runs) is moved
 * aside for the test and put back afterwards.
 *
 * Needs root and dpkg; builds the packages with scripts/package.sh when out/ lacks them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;
const OUT = process.env.OUT ?? join(ROOT, 'out');
const DEB = join(OUT, `imds-analyzer_${VERSION}_amd64.deb`);
const RPM = join(OUT, `imds-analyzer-${VERSION}-1.x86_64.rpm`);
const PKG = 'imds-analyzer';
const STATE_DIRS = ['/var/log/imds-analyzer', '/etc/imds-analyzer'];
const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function sh(cmd: string, args: readonly string[], timeoutMs = 120_000): Result {
  const r = spawnSync(cmd, [...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C.UTF-8' },
  });
  // Typed as strings, but null when the command could not be started at all.
  const stdout = r.stdout as string | null;
  const stderr = r.stderr as string | null;
  return { code: r.status ?? 1, stdout: stdout ?? '', stderr: stderr ?? String(r.error) };
}

function installed(): boolean {
  return sh('dpkg-query', ['-W', '-f=${Status}', PKG]).stdout.includes('install ok installed');
}

function known(pkgStatusOf: string): boolean {
  // dpkg still knows a removed-but-not-purged package ("deinstall ok config-files").
  return sh('dpkg-query', ['-W', '-f=${Status}', pkgStatusOf]).code === 0;
}

function has(cmd: string): boolean {
  return sh('sh', ['-c', `command -v ${cmd}`]).code === 0;
}

const skip =
  process.getuid?.() !== 0
    ? 'needs root (installs a system package)'
    : !has('dpkg') || !has('apt-get')
      ? 'needs a Debian system (dpkg, apt-get)'
      : known(PKG)
        ? `${PKG} is already installed here: not touching it`
        : false;

t.test('the .deb installs, runs without Node.js, and purges cleanly', { skip }, (t) => {
  t.setTimeout(30 * 60 * 1000);

  if (!existsSync(DEB) || !existsSync(RPM)) {
    const build = sh('bash', [join(ROOT, 'scripts/package.sh')], 25 * 60 * 1000);
    t.equal(build.code, 0, 'scripts/package.sh builds the packages', { stderr: build.stderr.slice(-4000) });
    if (build.code !== 0) {
      t.end();
      return;
    }
  }
  t.ok(existsSync(RPM), `${RPM} exists`);

  // Development runs of the daemon may have created these; keep them out of the way.
  const aside = mkdtempSync(join(tmpdir(), 'imds-pkg-aside-'));
  const moved: [string, string][] = [];
  for (const dir of STATE_DIRS) {
    if (existsSync(dir)) {
      const to = join(aside, dir.replaceAll('/', '_'));
      renameSync(dir, to);
      moved.push([dir, to]);
    }
  }
  const hadUser = sh('getent', ['passwd', PKG]).code === 0;
  t.teardown(() => {
    if (known(PKG)) sh('dpkg', ['--purge', PKG]);
    if (!hadUser && sh('getent', ['passwd', PKG]).code === 0) sh('deluser', ['--system', PKG]);
    for (const [dir, to] of moved) {
      rmSync(dir, { recursive: true, force: true });
      renameSync(to, dir);
    }
    rmSync(aside, { recursive: true, force: true });
  });

  const files = sh('dpkg-deb', ['-c', DEB])
    .stdout.split('\n')
    .map((line) => /\.(\/\S*)/.exec(line)?.[1] ?? '')
    .filter((p) => p !== '' && p !== '/' && !p.endsWith('/'));
  t.ok(files.includes('/usr/bin/imds-analyzer'), 'the package ships /usr/bin/imds-analyzer');

  const install = sh('apt-get', [
    'install',
    '-y',
    '--no-install-recommends',
    '-o',
    'DPkg::Lock::Timeout=300',
    DEB,
  ], 10 * 60 * 1000);
  t.equal(install.code, 0, 'apt-get install ./imds-analyzer.deb', { stderr: install.stderr });
  if (!installed()) {
    t.end();
    return;
  }

  t.test('runs with no Node.js reachable on PATH', (t) => {
    // A private mount namespace where the machine's node binaries are empty, non-executable
    // files: whatever `node` PATH could find is gone, only the package's own runtime is left.
    const hide = mkdtempSync(join(tmpdir(), 'imds-nonode-'));
    t.teardown(() => {
      rmSync(hide, { recursive: true, force: true });
    });
    const script = [
      'set -e',
      `touch ${hide}/empty`,
      'for n in $(which -a node nodejs 2>/dev/null); do mount --bind ' + hide + '/empty "$n"; done',
      'if env -i PATH=' + SYSTEM_PATH + ' sh -c "node --version" >/dev/null 2>&1; then echo NODE-STILL-RUNS; exit 3; fi',
      `env -i PATH=${SYSTEM_PATH} imds-analyzer --version`,
      `env -i PATH=${SYSTEM_PATH} imds-analyzer --check-config --config /etc/imds-analyzer/imds-analyzer.conf`,
      // Both addons must load from the package: a one-second capture on loopback, attributing
      // through the kernel's sock_diag (the netlink addon), which start-up reports.
      `env -i PATH=${SYSTEM_PATH} timeout 60 imds-analyzer --interface lo --duration 1 --format json --attribution proc 2>&1 >/dev/null | grep -q 'sock_diag for our namespace'`,
      'echo CAPTURE-OK',
    ].join('\n');
    const r = sh('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script]);
    t.notMatch(r.stdout, /NODE-STILL-RUNS/, 'node is hidden inside the namespace');
    t.equal(r.stdout.split('\n')[0], VERSION, 'imds-analyzer --version prints the package version');
    t.match(r.stdout, /CAPTURE-OK/, 'a one-shot capture runs on the packaged runtime and addons', {
      stderr: r.stderr,
    });
    t.equal(r.code, 0, 'no step failed', { stderr: r.stderr });
    t.end();
  });

  t.test('service user and directories', (t) => {
    const pw = sh('getent', ['passwd', PKG]).stdout.trim().split(':');
    t.equal(pw[0], PKG, 'user exists');
    const uid = Number(pw[2]);
    t.ok(uid > 0 && uid < 1000, `system uid (${uid})`);
    t.equal(pw[5], '/nonexistent', 'no home directory');
    t.equal(pw[6], '/usr/sbin/nologin', 'no login shell');
    t.equal(existsSync('/nonexistent'), false, 'no home directory was created');
    const gr = sh('getent', ['group', PKG]).stdout.trim().split(':');
    t.equal(gr[0], PKG, 'group exists');

    const log = statSync('/var/log/imds-analyzer');
    t.ok(log.isDirectory(), '/var/log/imds-analyzer is a directory');
    t.equal((log.mode & 0o7777).toString(8), '750', 'log directory is 0750 (not world-readable)');
    t.equal(log.uid, uid, 'log directory owned by the service user');
    t.equal(log.gid, Number(gr[2]), 'log directory group is the service group');

    const conf = '/etc/imds-analyzer/imds-analyzer.conf';
    t.equal((statSync(conf).mode & 0o777).toString(8), '644', 'conffile is 0644');
    t.match(sh('dpkg-query', ['-W', '-f=${Conffiles}', PKG]).stdout, conf, 'registered as a conffile');
    t.match(sh('dpkg-query', ['-W', '-f=${Conffiles}', PKG]).stdout, '/etc/logrotate.d/imds-analyzer');
    const active = readFileSync(conf, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    t.same(active, [], 'every setting in the shipped conffile is commented out (defaults)');
    for (const opt of ['interface', 'attribution', 'log-file', 'log-max-size', 'log-max-files',
      'rollup-interval', 'max-flows', 'idle-timeout']) {
      t.match(readFileSync(conf, 'utf8'), new RegExp(`^#${opt} = `, 'm'), `conffile documents ${opt}`);
    }
    t.end();
  });

  t.test('systemd unit: installed, enabled, valid, least privilege', (t) => {
    const unit = '/lib/systemd/system/imds-analyzer.service';
    const text = readFileSync(unit, 'utf8');
    const caps = 'CAP_NET_RAW CAP_SYS_PTRACE CAP_DAC_READ_SEARCH';
    t.match(text, new RegExp(`^AmbientCapabilities=${caps}$`, 'm'));
    t.match(text, new RegExp(`^CapabilityBoundingSet=${caps}$`, 'm'));
    t.match(text, /^User=imds-analyzer$/m);
    t.notMatch(text, /^(MemoryDenyWriteExecute|ProtectProc|ProcSubset|PrivateUsers)=/m,
      'no directive that breaks V8 or /proc attribution');
    const wants = '/etc/systemd/system/multi-user.target.wants/imds-analyzer.service';
    t.ok(lstatSync(wants, { throwIfNoEntry: false })?.isSymbolicLink(), 'enabled (wants symlink)');
    if (has('systemd-analyze')) {
      const v = sh('systemd-analyze', ['verify', unit]);
      t.equal(v.code, 0, 'systemd-analyze verify', { stderr: v.stderr });
      t.equal(v.stderr.trim(), '', 'systemd-analyze verify has no complaints');
    }
    t.end();
  });

  t.test('logrotate, man page, bash completion', (t) => {
    if (has('logrotate')) {
      const state = mkdtempSync(join(tmpdir(), 'imds-logrotate-'));
      const lr = sh('logrotate', ['-d', '-s', join(state, 'status'), '/etc/logrotate.d/imds-analyzer']);
      rmSync(state, { recursive: true, force: true });
      t.equal(lr.code, 0, 'logrotate accepts the policy', { stderr: lr.stderr });
      t.notMatch(lr.stderr, /error/i, 'logrotate reports no error');
    }
    const man = sh('man', ['--warnings', '-l', '/usr/share/man/man8/imds-analyzer.8.gz']);
    t.equal(man.code, 0, 'man page renders');
    t.equal(man.stderr.trim(), '', 'man page renders without warnings');
    t.match(man.stdout, `imds-analyzer ${VERSION}`, 'man page carries the version');

    const completion = readFileSync('/usr/share/bash-completion/completions/imds-analyzer', 'utf8');
    const help = sh('env', ['-i', `PATH=${SYSTEM_PATH}`, 'imds-analyzer', '--help']);
    t.equal(help.code, 0, 'imds-analyzer --help');
    const flags = new Set(help.stdout.match(/--[a-z][a-z-]+/g));
    t.ok(flags.size > 10, 'help lists the flags');
    for (const flag of flags) t.match(completion, flag, `completion offers ${flag}`);
    if (has('bash')) {
      const syntax = sh('bash', ['-n', '/usr/share/bash-completion/completions/imds-analyzer']);
      t.equal(syntax.code, 0, 'completion script parses');
    }
    t.end();
  });

  t.test('purge leaves nothing behind', (t) => {
    const purge = sh('apt-get', ['purge', '-y', '-o', 'DPkg::Lock::Timeout=300', PKG], 10 * 60 * 1000);
    t.equal(purge.code, 0, 'apt-get purge', { stderr: purge.stderr });
    t.equal(known(PKG), false, 'dpkg no longer knows the package');
    t.not(sh('getent', ['passwd', PKG]).code, 0, 'user removed');
    t.not(sh('getent', ['group', PKG]).code, 0, 'group removed');
    for (const dir of [...STATE_DIRS, '/usr/lib/imds-analyzer', '/usr/share/doc/imds-analyzer']) {
      t.equal(existsSync(dir), false, `${dir} removed`);
    }
    const left = files.filter((f) => lstatSync(f, { throwIfNoEntry: false }) !== undefined);
    t.same(left, [], 'no file of the package is left');
    for (const f of [
      '/etc/systemd/system/multi-user.target.wants/imds-analyzer.service',
      '/var/lib/systemd/deb-systemd-helper-enabled/imds-analyzer.service.dsh-also',
      '/var/lib/systemd/deb-systemd-helper-masked/imds-analyzer.service',
    ]) {
      t.equal(lstatSync(f, { throwIfNoEntry: false }), undefined, `${f} removed`);
    }
    t.end();
  });
  t.end();
});
