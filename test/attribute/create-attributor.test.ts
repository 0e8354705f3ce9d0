/** The start-up choice: what each host situation leads to, and what is logged once. */
import t from 'tap';
import { createAttributor, type HostProbe } from '../../src/attribute/create-attributor.js';
import { FakeProcFs } from '../../src/attribute/proc-fs.js';
import { openSocketLookup } from '../../src/attribute/socket-lookup.js';

function probe(opts: {
  capEff: string;
  pid1Fd: boolean;
  hidepid?: string;
  lsof: boolean;
  netTcp?: boolean;
  /** The real kernel's sock_diag (true), or one that fails to open. */
  diag?: boolean;
}): HostProbe {
  const fs = new FakeProcFs();
  fs.files.set('/proc/self/status', `Uid:\t998\t998\t998\t998\nCapEff:\t${opts.capEff}\n`);
  if (opts.netTcp !== false) fs.files.set('/proc/self/net/tcp', 'sl\n');
  fs.files.set(
    '/proc/self/mountinfo',
    `23 1 0:21 / /proc rw,relatime - proc proc rw${opts.hidepid === undefined ? '' : `,hidepid=${opts.hidepid}`}\n`,
  );
  if (opts.pid1Fd) fs.links.set('/proc/1/fd/0', '/dev/null');
  else fs.denied.add('/proc/1/fd');
  fs.links.set('/proc/self/ns/net', 'net:[1]');
  return {
    fs,
    findExecutable: (name) => (opts.lsof && name === 'lsof' ? '/usr/bin/lsof' : undefined),
    osInfo: () => Promise.resolve({ distro: 'Ubuntu', release: '18.04', kernel: '4.15.0' }),
    socketLookup: () =>
      opts.diag === true
        ? openSocketLookup()
        : Promise.resolve({ error: 'socket: Address family not supported by protocol' }),
  };
}

async function choose(mode: 'auto' | 'proc' | 'lsof' | 'none', p: HostProbe) {
  const logs: string[] = [];
  const r = await createAttributor(mode, (level, message) => logs.push(`${level} ${message}`), p);
  r.attributor.close();
  return { method: r.method, facts: r.facts, logs };
}

t.test('auto with the capabilities: /proc, logged once at info with the host facts', async (t) => {
  const r = await choose('auto', probe({ capEff: '0000000000082004', pid1Fd: true, lsof: true }));
  t.equal(r.method, 'proc');
  t.equal(r.logs.length, 1);
  t.match(
    r.logs[0],
    /^info attribution: \/proc .*os Ubuntu 18\.04, kernel 4\.15\.0, uid 998, missing capabilities none/,
  );
});

t.test(
  'the exact socket lookup: used when the kernel answers, the fallback said when not',
  async (t) => {
    const caps = { capEff: '0000000000082004', pid1Fd: true, lsof: true };
    const yes = await choose('auto', probe({ ...caps, diag: true }));
    t.match(
      yes.logs[0],
      /\(auto: [^;]*; sock_diag for our namespace, \/proc\/<pid>\/net\/tcp\* for the others\)/,
    );
    const no = await choose('proc', probe({ ...caps, diag: false }));
    t.equal(no.method, 'proc');
    t.match(
      no.logs[0],
      /sock_diag unavailable \(socket: Address family not supported by protocol\): every lookup reads \/proc\/net\/tcp\*/,
    );
  },
);

t.test('auto without them: lsof, warning naming the missing capabilities', async (t) => {
  const r = await choose('auto', probe({ capEff: '0000000000002000', pid1Fd: false, lsof: true }));
  t.equal(r.method, 'lsof');
  t.match(
    r.logs[0],
    /^warn attribution: lsof \(auto: permission denied reading \/proc\/1\/fd: missing CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH\)/,
  );
});

t.test('auto under hidepid without lsof: /proc limited to our own uid, said so', async (t) => {
  const r = await choose(
    'auto',
    probe({ capEff: '0', pid1Fd: false, hidepid: 'invisible', lsof: false }),
  );
  t.equal(r.method, 'proc');
  t.match(r.logs[0], /hidepid=invisible .*only processes of uid 998 can be named/);
});

t.test('no /proc/net/tcp and no lsof: none, logged as an error', async (t) => {
  const r = await choose('auto', probe({ capEff: '0', pid1Fd: false, lsof: false, netTcp: false }));
  t.equal(r.method, 'none');
  t.match(
    r.logs[0],
    /^error attribution: none \(\/proc\/net\/tcp is not readable on this kernel, and lsof is not installed\)/,
  );
});

t.test('explicit modes', async (t) => {
  const full = probe({ capEff: '0000000000082004', pid1Fd: true, lsof: false });
  t.equal((await choose('proc', full)).method, 'proc');
  t.equal((await choose('lsof', full)).method, 'none', 'lsof asked for but not installed');
  t.match((await choose('lsof', full)).logs[0], /lsof is not installed/);
  t.equal((await choose('none', full)).method, 'none');
  t.same((await choose('none', full)).logs, [], 'none is not a problem worth a log line');
});
