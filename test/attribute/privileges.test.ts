import t from 'tap';
import {
  missingCapabilities,
  parseCapEff,
  probeProcAccess,
  procHidepid,
} from '../../src/attribute/privileges.js';
import { FakeProcFs } from '../../src/attribute/proc-fs.js';
import { procLimitation } from '../../src/attribute/create-attributor.js';

// CAP_DAC_READ_SEARCH (2) | CAP_NET_RAW (13) | CAP_SYS_PTRACE (19) = 0x82004
const status = (capEff: string, uid = 65534): string =>
  `Name:\tnode\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nCapInh:\t0000000000000000\nCapEff:\t${capEff}\n`;

t.test('CapEff names exactly what is missing', (t) => {
  t.equal(parseCapEff(status('0000000000082004')), 0x82004n);
  t.same(missingCapabilities(undefined, status('0000000000082004')), []);
  t.same(missingCapabilities(undefined, status('000001ffffffffff', 0)), [], 'root');
  t.same(missingCapabilities(undefined, status('0000000000002000')), [
    'CAP_SYS_PTRACE',
    'CAP_DAC_READ_SEARCH',
  ]);
  t.same(missingCapabilities(['CAP_NET_RAW'], status('0000000000080004')), ['CAP_NET_RAW']);
  t.same(
    missingCapabilities(['CAP_NET_RAW'], 'Name:\tx\n'),
    ['CAP_NET_RAW'],
    'unreadable: assume missing',
  );
  t.end();
});

t.test('hidepid from mountinfo', (t) => {
  const line = (opts: string): string =>
    `22 1 0:5 / /sys rw - sysfs sysfs rw\n23 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc ${opts}\n`;
  t.equal(procHidepid(line('rw')), 'off');
  t.equal(procHidepid(line('rw,hidepid=invisible')), 'invisible');
  t.equal(procHidepid(line('rw,hidepid=2,gid=4')), '2');
  t.end();
});

t.test('the limitation sentence names the missing capability', (t) => {
  const fs = new FakeProcFs();
  fs.files.set('/proc/self/status', status('0000000000002000'));
  fs.files.set('/proc/self/net/tcp', 'sl\n');
  fs.denied.add('/proc/1/fd');
  const a = probeProcAccess(fs);
  t.equal(a.pid1Fd, false);
  t.equal(
    procLimitation(a),
    'permission denied reading /proc/1/fd: missing CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH',
  );
  fs.links.set('/proc/1/fd/0', '/dev/null');
  fs.denied.delete('/proc/1/fd');
  t.equal(procLimitation(probeProcAccess(fs)), undefined);
  t.end();
});
