/**
 * Daemon-mode life cycle of the built command on the loopback interface (nothing is sent):
 * readiness line, SIGHUP reopens the log after logrotate moved it, SIGTERM exits 0, and an
 * unwritable log directory fails at start with one clear line.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, runCli } from './run-cli.js';

t.test('SIGHUP reopens the moved log file, SIGTERM stops with exit 0', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'imds-calls.log');
  const daemon = spawn(
    process.execPath,
    [CLI, '--interface', 'lo', '--attribution', 'none', '--log-file', file],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  daemon.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => daemon.on('exit', resolve));
  t.teardown(() => {
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
  });
  for (let i = 0; i < 200 && !stdout.includes('capturing on lo'); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  t.match(stdout, /^<6>capturing on lo, attribution none, nice -?\d+, logging to /m);
  t.ok(existsSync(file), 'log file created at start');

  renameSync(file, `${file}-20261125`);
  daemon.kill('SIGHUP');
  for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(existsSync(file), 'a new file at the path after SIGHUP');
  t.equal(daemon.exitCode, null, 'SIGHUP does not stop the daemon');

  daemon.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM: exit 0');
  t.match(stdout, /^<6>stopped: \d+ frames, 0 requests/m);
});

t.test('an unwritable log directory fails at start with ERR_LOG_UNWRITABLE', async (t) => {
  const out = await runCli(['--interface', 'lo', '--log-file', '/proc/imds-analyzer/x.log']);
  t.equal(out.code, 2);
  t.match(out.stderr, /^imds-analyzer: error ERR_LOG_UNWRITABLE: .*\/proc\/imds-analyzer/);
  t.equal(out.stderr.trim().split('\n').length, 1);
});

t.test('a missing interface fails at once with the fix, before attribution starts', async (t) => {
  const out = await runCli(['--duration', '1', '--interface', 'eth9']);
  t.equal(out.code, 2);
  t.equal(
    out.stderr,
    'imds-analyzer: error ERR_CAPTURE_NO_INTERFACE: no such interface eth9; list interfaces with `ip link`.\n',
  );
});

t.test('SIGINT ends a one-shot capture early, with its summary and exit status', async (t) => {
  const child = spawn(
    process.execPath,
    [CLI, '--interface', 'lo', '--duration', '120', '--attribution', 'none'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<string>((resolve) =>
    child.on('exit', (code, signal) => {
      resolve(signal ?? String(code));
    }),
  );
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  for (let i = 0; i < 200 && !stderr.includes('capturing on lo'); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  t.match(stderr, /capturing on lo for 120 s/);
  child.kill('SIGINT');
  t.equal(await exited, '0', 'no v1 call seen: exit 0', { stderr });
  t.match(stdout, /^IMDS calls by process \(0 clients/m, 'the summary is printed');
  t.match(stdout, /capture +lo: \d+ frames/);
});
