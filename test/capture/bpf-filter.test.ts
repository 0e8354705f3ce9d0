/**
 * The IMDS BPF filter on real bytes: libpcap's own filter engine (`tcpdump -r ... -w ... FILTER`)
 * on a file of tagged and untagged, wanted and unwanted frames; and in the kernel on a VLAN
 * interface, where the kernel strips the tag (VLAN offload) and libpcap must use the auxiliary
 * tag data instead of the bytes.
 */
import t from 'tap';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { imdsBpfFilter } from '../../src/capture/bpf-filter.js';
import { OfflineCapture } from '../../src/capture/offline.js';
import { decodeFrame } from '../../src/decode/link.js';
import { run, createImdsLink } from '../helpers/netns.js';
import { frame, ipTcp, type LinkSpec, type PacketRecord } from '../helpers/packets.js';
import { writePcapFile } from '../helpers/pcap-writer.js';

const hasTcpdump = (await run('tcpdump', ['--version'])).code === 0;

function tagged(tags: number): LinkSpec {
  if (tags === 0) return { type: 'ethernet' };
  if (tags === 1) return { type: 'ethernet', vlans: [{ id: 10 }] };
  return { type: 'ethernet', vlans: [{ id: 20, tpid: 0x88a8 }, { id: 10 }] };
}

function packet(
  tags: number,
  src: string,
  dst: string,
  dport: number,
  marker: string,
  extras = {},
): PacketRecord {
  return frame(
    tagged(tags),
    ipTcp({
      src: { ip: src, port: 40000 },
      dst: { ip: dst, port: dport },
      payload: Buffer.from(marker),
      ...extras,
    }),
  );
}

t.test(
  'libpcap filter engine keeps IMDS frames at 0, 1 and 2 VLAN tags, drops the rest',
  { skip: hasTcpdump ? false : 'tcpdump not installed' },
  async (t) => {
    const wanted: PacketRecord[] = [];
    const unwanted: PacketRecord[] = [];
    for (const tags of [0, 1, 2]) {
      wanted.push(packet(tags, '192.0.2.2', '169.254.169.254', 80, `want-v4-${tags}`));
      wanted.push(packet(tags, '2001:db8::2', 'fd00:ec2::254', 80, `want-v6-${tags}`));
      wanted.push(
        packet(tags, '2001:db8::2', 'fd00:ec2::254', 80, `want-v6ext-${tags}`, {
          extensionHeaders: [{ type: 'hop-by-hop' }, { type: 'destination' }],
        }),
      );
      unwanted.push(packet(tags, '192.0.2.2', '192.0.2.1', 80, `skip-other-host-${tags}`));
      unwanted.push(packet(tags, '192.0.2.2', '169.254.169.254', 8080, `skip-other-port-${tags}`));
      unwanted.push(
        packet(tags, '192.0.2.2', '169.254.169.254', 80, `skip-udp-${tags}`, { protocol: 17 }),
      );
      unwanted.push(packet(tags, '2001:db8::2', '2001:db8::1', 80, `skip-v6-other-${tags}`));
    }
    const dir = t.testdir();
    const input = join(dir, 'in.pcap');
    const output = join(dir, 'out.pcap');
    writePcapFile(
      input,
      [...wanted, ...unwanted].map((r, i) => ({ ...r, timeMs: 1_700_000_000_000 + i })),
    );
    const r = await run('tcpdump', ['-r', input, '-w', output, imdsBpfFilter({ vlan: true })]);
    t.equal(r.code, 0, r.stderr);

    const markers: string[] = [];
    await new OfflineCapture(output).run((f) => {
      const d = decodeFrame(f.linkType, f.data);
      markers.push(d.kind === 'tcp' ? d.segment.payload.toString() : d.reason);
    });
    t.same(
      markers.sort(),
      wanted
        .map((w) =>
          (
            decodeFrame(w.linkType, w.data) as { segment: { payload: Buffer } }
          ).segment.payload.toString(),
        )
        .sort(),
    );
  },
);

t.test(
  'the filter without VLAN terms compiles for Linux cooked capture',
  { skip: hasTcpdump ? false : 'tcpdump not installed' },
  async (t) => {
    const sll = await run('tcpdump', ['-d', '-y', 'LINUX_SLL', imdsBpfFilter({ vlan: false })]);
    t.equal(sll.code, 0, sll.stderr);
    const bad = await run('tcpdump', ['-d', '-y', 'LINUX_SLL', imdsBpfFilter({ vlan: true })]);
    t.not(
      bad.code,
      0,
      'libpcap refuses vlan on cooked capture, which is why the terms are optional',
    );
  },
);

const probePath = fileURLToPath(
  new URL('../../dist/test/helpers/capture-probe.js', import.meta.url),
);

t.test(
  'in the kernel: IMDS over a VLAN sub-interface is captured on the parent',
  { skip: existsSync(probePath) ? false : 'run `npm run build` first' },
  async (t) => {
    const link = await createImdsLink('vf');
    t.teardown(() => link.destroy());
    const addVlan = ['link', 'add', 'link', 'eth0', 'name', 'eth0.10', 'type', 'vlan', 'id', '10'];
    const vlanSupport = await link.instance.run('ip', addVlan);
    if (vlanSupport.code !== 0) {
      t.plan(0, `this kernel cannot create VLAN interfaces (${vlanSupport.stderr.trim()})`);
      return;
    }
    await link.imds.mustRun('ip', addVlan);
    for (const [ns, addr] of [
      [link.instance, '198.51.100.2/24'],
      [link.imds, '198.51.100.1/24'],
    ] as const) {
      await ns.mustRun('ip', ['addr', 'add', addr, 'dev', 'eth0.10']);
      await ns.mustRun('ip', ['link', 'set', 'eth0.10', 'up']);
    }
    await link.instance.mustRun('ip', [
      'route',
      'replace',
      '169.254.169.254/32',
      'via',
      '198.51.100.1',
    ]);
    const server = link.imds.spawn(process.execPath, [
      '-e',
      "require('node:http').createServer((q,s)=>{q.resume();s.end('ok')}).listen(80,'169.254.169.254',()=>console.log('up'))",
    ]);
    t.teardown(() => {
      if (server.pid !== undefined && server.exitCode === null) process.kill(server.pid, 'SIGTERM');
    });
    await new Promise<void>((resolve) =>
      server.stdout?.on('data', () => {
        resolve();
      }),
    );

    const probe = link.instance.spawn(process.execPath, [probePath, 'eth0']);
    let out = '';
    probe.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    while (!out.includes('"ready"') && probe.exitCode === null)
      await new Promise((r) => setTimeout(r, 50));
    const curl = await link.instance.run('curl', [
      '-s',
      '--max-time',
      '5',
      'http://169.254.169.254/latest/meta-data/vlan-path',
    ]);
    t.equal(curl.stdout, 'ok');
    await link.instance.run('ping', ['-c', '1', '198.51.100.1']);
    const until = Date.now() + 5000;
    while (
      !out.includes(
        Buffer.from('GET /latest/meta-data/vlan-path').toString('base64').slice(0, 20),
      ) &&
      Date.now() < until
    )
      await new Promise((r) => setTimeout(r, 50));
    if (probe.pid !== undefined) process.kill(probe.pid, 'SIGTERM');
    await new Promise((r) => probe.on('exit', r));
    const lines = out
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { kind?: string; payload?: string; dstIp?: string; srcIp?: string },
      );
    const tcp = lines.filter((l) => l.kind === 'tcp');
    t.ok(
      tcp.some((l) =>
        Buffer.from(l.payload ?? '', 'base64')
          .toString()
          .startsWith('GET /latest/meta-data/vlan-path'),
      ),
      'tagged request captured and decoded',
    );
    t.ok(
      tcp.every((l) => l.dstIp === '169.254.169.254' || l.srcIp === '169.254.169.254'),
      'only IMDS frames',
    );
    t.equal(
      lines.filter((l) => l.kind === 'ignored' || l.kind === 'malformed').length,
      0,
      'tagged ping was filtered in the kernel',
    );
  },
);
