import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  isEthernetInterface,
  resolveCaptureInterface,
} from '../../src/capture/default-interface.js';
import { captureOpenError, capLinkType } from '../../src/capture/live.js';
import { imdsBpfFilter } from '../../src/capture/bpf-filter.js';

t.test('interface choice: requested, else default route, else any', async (t) => {
  t.equal(await resolveCaptureInterface('ens5', () => Promise.resolve('eth0')), 'ens5');
  t.equal(await resolveCaptureInterface(undefined, () => Promise.resolve('ens5')), 'ens5');
  t.equal(await resolveCaptureInterface('', () => Promise.resolve('ens5')), 'ens5');
  t.equal(await resolveCaptureInterface(undefined, () => Promise.resolve('')), 'any');
  t.equal(
    await resolveCaptureInterface(undefined, () => Promise.reject(new Error('no ip'))),
    'any',
  );
  // The real lookup answers with some string on this host (no assumption about which).
  t.type(await resolveCaptureInterface(undefined), 'string');
});

t.test('VLAN filter terms only for Ethernet interfaces (sysfs type 1)', (t) => {
  const sysfs = t.testdir();
  for (const [name, type] of [
    ['eth0', '1'],
    ['wg0', '65534'],
    ['lo', '772'],
  ] as const) {
    mkdirSync(join(sysfs, name));
    writeFileSync(join(sysfs, name, 'type'), `${type}\n`);
  }
  t.ok(isEthernetInterface('eth0', sysfs));
  t.notOk(isEthernetInterface('wg0', sysfs));
  t.notOk(isEthernetInterface('lo', sysfs));
  t.notOk(isEthernetInterface('missing', sysfs));
  t.notOk(isEthernetInterface('any', sysfs));
  t.notOk(isEthernetInterface('../eth0', sysfs));
  t.notMatch(imdsBpfFilter({ vlan: false }), /vlan/);
  t.match(imdsBpfFilter({ vlan: true }), /vlan and .*vlan and/);
  t.end();
});

t.test("cap's link type names map to LINKTYPE numbers", (t) => {
  t.equal(capLinkType('ETHERNET'), 1);
  t.equal(capLinkType('LINKTYPE_LINUX_SLL'), 113);
  t.equal(capLinkType('RAW'), 101);
  t.equal(capLinkType('NULL'), 0);
  t.equal(capLinkType('Unknown linktype 276'), 276);
  t.equal(capLinkType('IEEE802_11_RADIO'), 127);
  t.equal(capLinkType('nonsense'), undefined);
  t.end();
});

t.test("libpcap's open errors map to codes with the fix", (t) => {
  t.match(captureOpenError('eth9', 'No such device exists'), {
    code: 'ERR_CAPTURE_NO_INTERFACE',
    message: 'no such interface eth9; list interfaces with `ip link`.',
  });
  t.match(captureOpenError('eth0', 'socket: Operation not permitted'), {
    code: 'ERR_CAPTURE_PERMISSION',
    message: /CAP_NET_RAW: run as root or grant the capability/,
  });
  t.match(captureOpenError('eth0', "eth0: You don't have permission to capture on that device"), {
    code: 'ERR_CAPTURE_PERMISSION',
  });
  t.match(captureOpenError('eth0', "can't parse filter expression: syntax error"), {
    code: 'ERR_CAPTURE_FILTER',
  });
  t.match(captureOpenError('any', 'no VLAN support for data link type 113'), {
    code: 'ERR_CAPTURE_FILTER',
  });
  t.match(captureOpenError('eth1', 'That device is not up'), {
    code: 'ERR_CAPTURE_OPEN',
    message: /ip link set eth1 up/,
  });
  t.match(captureOpenError('eth1', 'something new'), { code: 'ERR_CAPTURE_OPEN' });
  t.end();
});
