import t from 'tap';
import { FakeProcFs } from '../../src/attribute/proc-fs.js';
import { parsePasswd, UserNames } from '../../src/attribute/passwd.js';
import {
  commandLineOf,
  parseBootTime,
  parseCmdline,
  parseStat,
  parseStatusUid,
  ProcessFactsReader,
} from '../../src/attribute/process-facts.js';

const stat = (pid: number, comm: string, ppid: number, start: number): string =>
  `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ${start} 1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;

const status = (uid: number): string =>
  `Name:\tx\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t1\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nGid:\t0\t0\t0\t0\n`;

t.test('stat: comm may hold spaces and parentheses', (t) => {
  t.same(parseStat(stat(4242, 'we ird) (name', 17, 123456)), {
    pid: 4242,
    comm: 'we ird) (name',
    ppid: 17,
    startTicks: 123456,
  });
  t.equal(parseStat('garbage'), undefined);
  t.equal(parseStat('12 (x) S'), undefined, 'truncated');
  t.end();
});

t.test('status, cmdline, btime, passwd', (t) => {
  t.equal(parseStatusUid('Uid:\t1000\t33\t33\t33\n'), 33, 'effective uid');
  t.equal(parseStatusUid('Name:\tx\n'), undefined);
  t.same(parseCmdline('curl\0-s\0http://169.254.169.254/\0'), [
    'curl',
    '-s',
    'http://169.254.169.254/',
  ]);
  t.same(parseCmdline('a\0\0b\0'), ['a', '', 'b'], 'empty argument kept');
  t.same(parseCmdline(''), []);
  t.equal(commandLineOf(['sh', '-c', "echo 'hi' there", '']), `sh -c 'echo '\\''hi'\\'' there' ''`);
  t.equal(parseBootTime('cpu 1 2 3\nbtime 1764000000\nprocesses 5\n'), 1764000000);
  const users = parsePasswd(
    'root:x:0:0:root:/root:/bin/bash\n#c:x:9:9\nnobody:x:65534:65534::/:/usr/sbin/nologin\nbad\n',
  );
  t.same(
    [...users],
    [
      [0, 'root'],
      [65534, 'nobody'],
    ],
  );
  t.end();
});

function fakeHost(): FakeProcFs {
  const fs = new FakeProcFs();
  fs.files.set('/etc/passwd', 'root:x:0:0::/root:/bin/sh\nsvc:x:998:998::/:/bin/false\n');
  fs.files.set('/proc/stat', 'cpu 0\nbtime 1764000000\n');
  fs.files.set('/proc/1/stat', stat(1, 'systemd', 0, 1));
  fs.files.set('/proc/1/cmdline', '/sbin/init\0');
  fs.files.set('/proc/700/stat', stat(700, 'containerd-shim', 1, 500));
  fs.files.set('/proc/700/cmdline', '/usr/bin/containerd-shim-runc-v2\0-id\0abc\0');
  fs.files.set('/proc/900/stat', stat(900, 'curl', 700, 12345));
  fs.files.set('/proc/900/cmdline', 'curl\0-s\0http://169.254.169.254/latest/meta-data/\0');
  fs.files.set('/proc/900/status', status(998));
  fs.links.set('/proc/900/exe', '/usr/bin/curl (deleted)');
  fs.files.set('/proc/900/cgroup', `0::/system.slice/docker-${'ab'.repeat(32)}.scope\n`);
  return fs;
}

t.test('facts of a containerised curl, with its parent chain to pid 1', (t) => {
  const fs = fakeHost();
  const reader = new ProcessFactsReader({
    fs,
    users: new UserNames(fs),
    bootTimeMs: ProcessFactsReader.bootTimeMs(fs),
    clockTicks: 100,
  });
  const f = reader.read(900);
  t.ok(f);
  if (f === undefined) return;
  t.equal(f.name, 'curl');
  t.equal(f.executable, '/usr/bin/curl', 'deleted marker dropped');
  t.same(f.args, ['curl', '-s', 'http://169.254.169.254/latest/meta-data/']);
  t.equal(f.commandLine, 'curl -s http://169.254.169.254/latest/meta-data/');
  t.equal(f.start, new Date(1764000000_000 + 123450).toISOString(), 'btime + starttime / CLK_TCK');
  t.same(f.parent, { pid: 700, name: 'containerd-shim' });
  t.same(
    f.ancestors.map((a) => [a.pid, a.name, a.commandLine]),
    [
      [700, 'containerd-shim', '/usr/bin/containerd-shim-runc-v2 -id abc'],
      [1, 'systemd', '/sbin/init'],
    ],
  );
  t.equal(f.uid, 998);
  t.equal(f.userName, 'svc');
  t.same(f.container, { id: 'ab'.repeat(32), runtime: 'docker' });
  t.equal(f.systemdUnit, undefined, 'a container scope is not a unit');
  t.end();
});

t.test('a process that vanished midway still yields what was read', (t) => {
  const fs = fakeHost();
  fs.files.delete('/proc/900/status');
  fs.files.delete('/proc/900/cgroup');
  fs.links.delete('/proc/900/exe');
  const reader = new ProcessFactsReader({
    fs,
    users: new UserNames(fs),
    bootTimeMs: 0,
    clockTicks: 100,
  });
  const f = reader.read(900, 998);
  t.equal(f?.name, 'curl');
  t.equal(f?.uid, 998, 'uid from the socket table');
  t.equal(f?.executable, undefined);
  t.equal(reader.read(901), undefined, 'nothing readable: undefined');
  t.end();
});
