import t from 'tap';
import { chooseCgroupPath, parseCgroup } from '../../src/attribute/cgroup.js';

const ID = '3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d';
const POD = '8d6f7a2e-1b3c-4d5e-9f0a-1b2c3d4e5f60';
const POD_ = POD.replace(/-/g, '_');

const cases: { name: string; text: string; unit?: string; runtime?: string; pod?: string }[] = [
  {
    name: 'systemd service (v2)',
    text: '0::/system.slice/amazon-ssm-agent.service\n',
    unit: 'amazon-ssm-agent.service',
  },
  {
    name: 'user service under user@.service',
    text: '0::/user.slice/user-1000.slice/user@1000.service/app.slice/sync.service\n',
    unit: 'sync.service',
  },
  {
    name: 'login session scope',
    text: '0::/user.slice/user-1000.slice/session-3.scope\n',
    unit: 'session-3.scope',
  },
  {
    name: 'docker, systemd driver (v2)',
    text: `0::/system.slice/docker-${ID}.scope\n`,
    runtime: 'docker',
  },
  {
    name: 'docker, cgroupfs driver (v1)',
    text: `12:pids:/docker/${ID}\n11:memory:/docker/${ID}\n1:name=systemd:/docker/${ID}\n`,
    runtime: 'docker',
  },
  {
    name: 'kubernetes + containerd (v2, systemd driver)',
    text: `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_}.slice/cri-containerd-${ID}.scope\n`,
    runtime: 'containerd',
    pod: POD,
  },
  {
    name: 'kubernetes + cri-o',
    text: `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice/crio-${ID}.scope\n`,
    runtime: 'cri-o',
    pod: POD,
  },
  {
    name: 'kubernetes, cgroupfs driver (v1)',
    text: `4:pids:/kubepods/besteffort/pod${POD}/${ID}\n`,
    runtime: 'cri',
    pod: POD,
  },
  {
    name: 'containerd without kubernetes (ctr)',
    text: `0::/default/${ID}\n`,
    runtime: 'containerd',
  },
  { name: 'nerdctl', text: `0::/system.slice/nerdctl-${ID}.scope\n`, runtime: 'containerd' },
  { name: 'podman (v2)', text: `0::/machine.slice/libpod-${ID}.scope\n`, runtime: 'podman' },
  {
    name: 'rootless podman under a user service',
    text: `0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope/container\n`,
    runtime: 'podman',
    unit: 'user@1000.service',
  },
];

for (const c of cases) {
  t.test(c.name, (t) => {
    const f = parseCgroup(c.text);
    t.equal(f.systemdUnit, c.unit, 'unit');
    t.equal(f.container?.runtime, c.runtime, 'runtime');
    t.equal(f.container?.id, c.runtime === undefined ? undefined : ID, 'container id');
    t.equal(f.podUid, c.pod, 'pod uid with dashes');
    t.end();
  });
}

t.test('the unified (v2) path wins, then name=systemd, then pids', (t) => {
  t.equal(chooseCgroupPath('5:cpu:/a\n1:name=systemd:/b\n0::/c\n'), '/c');
  t.equal(chooseCgroupPath('5:cpu,cpuacct:/a\n3:pids:/p\n1:name=systemd:/b\n'), '/b');
  t.equal(chooseCgroupPath('5:cpu,cpuacct:/a\n3:pids:/p\n'), '/p');
  t.equal(chooseCgroupPath(''), undefined);
  t.same(parseCgroup('0::/\n'), {
    path: '/',
    systemdUnit: undefined,
    container: undefined,
    podUid: undefined,
  });
  t.end();
});
