/**
 * Which namespace owns an address, from the files a Linux 6.x kernel printed for the fake
 * instance's namespace (fixtures/, captured with `cat /proc/net/fib_trie` and `if_inet6`), and
 * what the socket search reads because of it.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  NamespaceAddresses,
  parseFibTrieLocal,
  parseIfInet6,
} from '../../src/attribute/namespace-addresses.js';
import { FakeProcFs } from '../../src/attribute/proc-fs.js';
import { TableSnapshot } from '../../src/attribute/socket-locator.js';
import type { FlowInfo } from '../../src/flows/flow.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'latin1');

t.test('fib_trie: the /32 host LOCAL leaves, once each (Main and Local list them both)', (t) => {
  t.same(parseFibTrieLocal(fixture('fib_trie.txt')).sort(), [
    '127.0.0.1',
    '192.0.2.2',
    '198.51.100.1',
  ]);
  t.same(parseFibTrieLocal('garbage\n|-- 1.2.3.4\n'), [], 'a leaf without its LOCAL line');
  t.end();
});

t.test('if_inet6: every address, in canonical text', (t) => {
  t.same(parseIfInet6(fixture('if_inet6.txt')).sort(), [
    '2001:db8:1::1',
    '2001:db8::2',
    '::1',
    'fe80::24c4:68ff:fe0d:e601',
    'fe80::6020:d9ff:fe08:dc19',
  ]);
  t.same(parseIfInet6('not a line\n'), []);
  t.end();
});

const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const FIB = (ip: string): string =>
  `Local:\n  +-- 0.0.0.0/0 3 0 5\n     |-- ${ip}\n        /32 host LOCAL\n`;

/** Our namespace and three containers; the socket lives in the second container. */
function host(): { fs: FakeProcFs; reads: string[]; namespaces: Map<string, number[]> } {
  const reads: string[] = [];
  const fs = new (class extends FakeProcFs {
    override readText(path: string): string | undefined {
      if (/\/net\/tcp6?$/.test(path)) reads.push(path);
      return super.readText(path);
    }
  })();
  fs.files.set('/proc/self/net/fib_trie', FIB('192.0.2.2'));
  fs.files.set('/proc/self/net/tcp', HEADER);
  fs.files.set('/proc/self/net/tcp6', HEADER);
  const namespaces = new Map<string, number[]>([['net:[1]', [1]]]);
  [
    [100, '198.51.100.2'],
    [200, '198.51.100.3'],
    [300, '198.51.100.4'],
  ].forEach(([pid, ip]) => {
    fs.files.set(`/proc/${pid}/net/fib_trie`, FIB(String(ip)));
    fs.files.set(`/proc/${pid}/net/tcp`, HEADER);
    fs.files.set(`/proc/${pid}/net/tcp6`, HEADER);
    namespaces.set(`net:[${pid}]`, [Number(pid)]);
  });
  // 198.51.100.3:40000 -> 169.254.169.254:80, inode 7003.
  fs.files.set(
    '/proc/200/net/tcp',
    HEADER +
      '   0: 036433C6:9C40 FEA9FEA9:0050 01 00000000:00000000 00:00000000 00000000 0 0 7003 1\n',
  );
  return { fs, reads, namespaces };
}

function flow(ip: string): FlowInfo {
  return {
    id: 'C1',
    communityId: '',
    family: 'ipv4',
    client: { ip, port: 40000 },
    server: { ip: '169.254.169.254', port: 80 },
    startMs: 0,
    sawSyn: true,
    twinOf: undefined,
  };
}

t.test('a container flow reads only the table of the namespace owning its address', (t) => {
  const { fs, reads, namespaces } = host();
  const addresses = new NamespaceAddresses(fs, 'net:[1]');
  const snap = new TableSnapshot(fs, 'net:[1]', namespaces, addresses);
  const found = snap.locate(flow('198.51.100.3'));
  t.equal(found?.entry.inode, 7003);
  t.equal(found?.ns, 'net:[200]');
  t.same(reads, ['/proc/200/net/tcp'], 'one table read, not four');
  t.end();
});

t.test('a vanished socket costs its owner table only', (t) => {
  const { fs, reads, namespaces } = host();
  const snap = new TableSnapshot(fs, 'net:[1]', namespaces, new NamespaceAddresses(fs, 'net:[1]'));
  t.equal(snap.locate(flow('198.51.100.4')), undefined);
  t.same(reads, ['/proc/300/net/tcp', '/proc/300/net/tcp6']);
  t.end();
});

t.test('an address nobody owns (files unreadable, NAT) searches every namespace', (t) => {
  const { fs, reads, namespaces } = host();
  const snap = new TableSnapshot(fs, 'net:[1]', namespaces, new NamespaceAddresses(fs, 'net:[1]'));
  t.equal(snap.locate(flow('203.0.113.9'))?.entry.inode, undefined);
  t.equal(reads.length, 8, 'tcp and tcp6 of all four namespaces');
  t.end();
});

t.test('addresses are read once per namespace, again after the time to live', (t) => {
  const { fs, namespaces } = host();
  let now = 0;
  const addresses = new NamespaceAddresses(fs, 'net:[1]', 10_000, () => now);
  t.same(addresses.owners('198.51.100.2', namespaces), ['net:[100]']);
  fs.files.set('/proc/100/net/fib_trie', FIB('198.51.100.9'));
  now = 5_000;
  t.same(addresses.owners('198.51.100.2', namespaces), ['net:[100]'], 'cached');
  now = 10_001;
  t.same(addresses.owners('198.51.100.2', namespaces), [], 'read again');
  t.same(addresses.owners('198.51.100.9', namespaces), ['net:[100]']);
  t.end();
});

t.test('the background refresh renews expired addresses, so a lookup reads none', (t) => {
  const { fs, namespaces } = host();
  const reads: string[] = [];
  const readText = fs.readText.bind(fs);
  fs.readText = (path: string): string | undefined => {
    if (path.endsWith('/net/fib_trie')) reads.push(path);
    return readText(path);
  };
  let now = 0;
  const addresses = new NamespaceAddresses(fs, 'net:[1]', 10_000, () => now);
  addresses.refresh(namespaces);
  t.equal(reads.length, 4, 'every namespace read once');
  now = 10_001;
  addresses.refresh(namespaces);
  t.equal(reads.length, 8, 'expired: read again by the refresh');
  now = 10_002;
  t.same(addresses.owners('198.51.100.3', namespaces), ['net:[200]']);
  t.equal(reads.length, 8, 'the lookup read nothing');
  t.end();
});
