import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { FileLogError, openFileLog } from '../../src/sinks/file-log.js';

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').slice(0, -1);
}

t.test('writes exactly one event object per line, 0640 in a 0750 directory', async (t) => {
  const previous = process.umask(0o077); // modes must not depend on the umask
  t.teardown(() => process.umask(previous));
  const file = path.join(t.testdir(), 'var', 'log', 'imds-analyzer', 'imds-calls.log');
  const log = await openFileLog({ path: file, maxSize: 1 << 20, maxFiles: 5 });
  t.ok(existsSync(file), 'created at start, before the first event');
  t.equal(mode(path.dirname(file)), 0o750);
  t.equal(mode(path.dirname(path.dirname(file))), 0o750, 'every created level');
  log.write({ '@timestamp': '2026-01-02T03:04:05.678Z', event: { action: 'imds-request' }, n: 1 });
  log.writeLine('{"n":2}');
  await log.close();
  t.same(lines(file), [
    '{"@timestamp":"2026-01-02T03:04:05.678Z","event":{"action":"imds-request"},"n":1}',
    '{"n":2}',
  ]);
  t.equal(mode(file), 0o640);
  log.write({ n: 3 });
  t.equal(lines(file).length, 2, 'writes after close are ignored');
});

t.test('close() resolves only when every line is on disk', async (t) => {
  const file = path.join(t.testdir(), 'a.log');
  const log = await openFileLog({ path: file, maxSize: 1 << 30, maxFiles: 2 });
  for (let n = 0; n < 20_000; n++) log.write({ n, pad: 'x'.repeat(50) });
  await log.close();
  const got = lines(file);
  t.equal(got.length, 20_000);
  t.equal(got[19_999], `{"n":19999,"pad":"${'x'.repeat(50)}"}`);
  await log.close(); // idempotent
});

t.test('close() in the middle of rotations still flushes the newest lines', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'b.log');
  const log = await openFileLog({ path: file, maxSize: 3000, maxFiles: 4 });
  for (let n = 0; n < 400; n++) {
    log.write({ n });
    if (n % 25 === 24) await new Promise((r) => setImmediate(r));
  }
  await log.close();
  const all = ['b3.log', 'b2.log', 'b1.log', 'b.log']
    .filter((f) => existsSync(path.join(dir, f)))
    .flatMap((f) => lines(path.join(dir, f)).map((l) => (JSON.parse(l) as { n: number }).n));
  t.equal(all.at(-1), 399);
  t.same(
    all,
    all.map((_, i) => 399 - (all.length - 1) + i),
    'gap-free',
  );
});

t.test('rotates at maxSize keeping maxFiles, newest in the live file', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'imds-calls.log');
  const log = await openFileLog({ path: file, maxSize: 2000, maxFiles: 3 });
  const line = (n: number): string => JSON.stringify({ n, pad: 'y'.repeat(80) });
  // One synchronous burst: rotation happens while events keep coming.
  for (let n = 0; n < 200; n++) log.writeLine(line(n));
  await log.close();
  t.same(readdirSync(dir).sort(), ['imds-calls.log', 'imds-calls1.log', 'imds-calls2.log']);
  const kept = ['imds-calls2.log', 'imds-calls1.log', 'imds-calls.log'].map((f) =>
    path.join(dir, f),
  );
  const all: number[] = [];
  for (const f of kept) {
    t.equal(mode(f), 0o640, `${path.basename(f)} is 0640`);
    t.equal(
      statSync(f).size,
      20 * 99,
      `${path.basename(f)}: as many whole lines as fit in 2000 bytes`,
    );
    for (const l of lines(f)) all.push((JSON.parse(l) as { n: number }).n);
  }
  t.equal(all.at(-1), 199, 'the newest line is in the live file');
  t.same(
    all,
    all.map((_, i) => 199 - (all.length - 1) + i),
    'the kept files hold a gap-free run of the newest lines',
  );
});

t.test('maxFiles 1 keeps only the live file', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'one.log');
  const log = await openFileLog({ path: file, maxSize: 100, maxFiles: 1 });
  for (let n = 0; n < 25; n++) log.writeLine(JSON.stringify({ n }));
  await log.close();
  t.same(readdirSync(dir), ['one.log']);
  t.same(lines(file).at(-1), '{"n":24}');
  t.ok(statSync(file).size <= 100);
});

t.test('an existing log is appended to and brought back to 0640', async (t) => {
  const file = path.join(t.testdir(), 'old.log');
  writeFileSync(file, '{"old":true}\n', { mode: 0o666 });
  const log = await openFileLog({ path: file, maxSize: 1 << 20, maxFiles: 2 });
  log.write({ new: true });
  await log.close();
  t.same(lines(file), ['{"old":true}', '{"new":true}']);
  t.equal(mode(file), 0o640);
});

t.test('a restart counts the bytes already in the live file', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'r.log');
  writeFileSync(file, `{"old":"${'o'.repeat(80)}"}\n`);
  const log = await openFileLog({ path: file, maxSize: 100, maxFiles: 2 });
  log.write({ new: 1 });
  await log.close();
  t.same(lines(path.join(dir, 'r1.log')).length, 1, 'the old content rotated away first');
  t.same(lines(file), ['{"new":1}']);
});

async function failure(t: Test, file: string): Promise<FileLogError> {
  const error = await openFileLog({ path: file, maxSize: 1000, maxFiles: 2 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, FileLogError);
  return error as FileLogError;
}

t.test('an unwritable path fails at start with a stable code, the path and the fix', async (t) => {
  const dir = t.testdir({ 'a-file': 'x' });
  const underFile = path.join(dir, 'a-file', 'imds.log');
  const e = await failure(t, underFile);
  t.equal(e.code, 'ERR_LOG_UNWRITABLE');
  t.equal(e.path, underFile);
  t.match(e.message, `cannot write the log file ${underFile} (ENOTDIR)`);
  t.match(e.message, /--log-file/);

  const isDir = path.join(dir, 'sub');
  mkdirSync(isDir);
  t.match((await failure(t, isDir)).message, '(EISDIR)');

  // sysfs refuses new files even to root.
  if (existsSync('/sys/kernel')) {
    t.equal((await failure(t, '/sys/imds-analyzer-test.log')).code, 'ERR_LOG_UNWRITABLE');
  }
  if (process.getuid?.() !== 0) {
    const locked = path.join(dir, 'locked');
    mkdirSync(locked, { mode: 0o500 });
    t.match((await failure(t, path.join(locked, 'x.log'))).message, '(EACCES)');
  }
});

t.test('bad sizes are refused', async (t) => {
  const file = path.join(t.testdir(), 'x.log');
  for (const [maxSize, maxFiles] of [
    [0, 2],
    [1.5, 2],
    [1000, 0],
  ] as const) {
    const e = await openFileLog({ path: file, maxSize, maxFiles }).catch((x: unknown) => x);
    t.equal((e as FileLogError).code, 'ERR_LOG_OPTIONS');
  }
});

t.test('reopen() after logrotate moved the file: no line lost, none duplicated', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'imds-calls.log');
  const moved = path.join(dir, 'imds-calls.log-20261125');
  const log = await openFileLog({ path: file, maxSize: 1 << 30, maxFiles: 5 });
  for (let n = 0; n < 5000; n++) log.write({ n });
  renameSync(file, moved); // what logrotate does, while the daemon still writes
  for (let n = 5000; n < 6000; n++) log.write({ n });
  log.reopen(); // SIGHUP from logrotate's postrotate
  for (let n = 6000; n < 8000; n++) log.write({ n });
  await log.close();
  const all = [...lines(moved), ...lines(file)].map((l) => (JSON.parse(l) as { n: number }).n);
  t.same(
    all,
    Array.from({ length: 8000 }, (_, n) => n),
    'every line once, in order',
  );
  t.ok(lines(file).length >= 2000, 'lines after reopen go to the new file');
  t.equal(mode(file), 0o640, 'the new file gets the log mode');
});
