/** Command line, configuration file and their precedence, through the built command. */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './run-cli.js';

t.test('--help, --version and completion answer and exit 0', async (t) => {
  const help = await runCli(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--duration/);
  t.match(help.stdout, /Exit status: 0 no IMDSv1 call seen, 1 IMDSv1 calls seen, 2 error/);
  const version = await runCli(['--version']);
  t.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
  const completion = await runCli(['completion']);
  t.equal(completion.code, 0);
  t.match(
    completion.stdout,
    /complete -o bashdefault -o default -F _imds-analyzer_yargs_completions imds-analyzer/,
  );
});

t.test('bad usage: one error line and exit 2', async (t) => {
  for (const args of [
    ['--bogus'],
    ['--duration', '-5'],
    ['--format', 'xml', '--read', 'x.pcap'],
    ['--read', 'x.pcap', '--duration', '5'],
    ['stray-argument'],
  ]) {
    const out = await runCli(args);
    t.equal(out.code, 2, args.join(' '));
    t.match(out.stderr, /^imds-analyzer: error ERR_USAGE: /, args.join(' '));
  }
});

t.test('configuration file: validated, flags override it', async (t) => {
  const dir = t.testdir();
  const good = join(dir, 'good.conf');
  writeFileSync(
    good,
    '# comment\nattribution = lsof   # trailing comment\nlog-max-size = 5M\nformat = json\n',
  );
  const ok = await runCli(['--config', good, '--check-config']);
  t.equal(ok.code, 0);
  t.match(ok.stdout, new RegExp(`configuration OK \\(${good}\\)`));

  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, 'interface = eth0\nbogus-option = 1\n');
  const badOut = await runCli(['--config', bad, '--check-config']);
  t.equal(badOut.code, 2);
  t.match(badOut.stderr, /ERR_CONFIG: .*bad\.conf line 2: unknown option "bogus-option"/);

  const badValue = join(dir, 'value.conf');
  writeFileSync(badValue, 'log-max-size = lots\n');
  t.match(
    (await runCli(['--config', badValue, '--check-config'])).stderr,
    /log-max-size must be a size/,
  );

  const missing = await runCli(['--config', join(dir, 'nope.conf'), '--check-config']);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /ERR_CONFIG: cannot read configuration file/);

  // format = json from the file, overridden by the flag.
  const empty = join(dir, 'empty.pcap');
  writeFileSync(empty, Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex'));
  const fromFile = await runCli(['--config', good, '--read', empty]);
  t.match(fromFile.stdout, /"action":"imds-summary"/, 'json from the file');
  const fromFlag = await runCli(['--config', good, '--read', empty, '--format', 'text']);
  t.match(fromFlag.stdout, /^IMDS calls by process/m, 'text from the flag');
});
