/**
 * Live capture on a real interface: a fake instance and a fake IMDS in network namespaces,
 * real curl requests, the probe (dist/test/helpers/capture-probe.js, built by `npm run build`)
 * capturing on the instance's eth0 with the kernel BPF filter.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { LiveCapture } from '../../src/capture/live.js';
import { CaptureError } from '../../src/capture/frame.js';
import { TCP_SYN } from '../../src/decode/segment.js';
import { createImdsLink, run, type ImdsLink, type Netns } from '../helpers/netns.js';

const probePath = fileURLToPath(
  new URL('../../dist/test/helpers/capture-probe.js', import.meta.url),
);
const FAKE_TOKEN = 'AQAEAFAKE-test-token-never-printed==';

interface ProbeLine {
  ready?: boolean;
  error?: string;
  message?: string;
  kind?: string;
  reason?: string;
  srcIp?: string;
  dstIp?: string;
  srcPort?: number;
  dstPort?: number;
  flags?: number;
  linkType?: number;
  payload?: string;
}

/** A probe running inside `ns`; lines() is everything it printed so far. */
class Probe {
  readonly #lines: ProbeLine[] = [];
  readonly #child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(ns: Netns, args: readonly string[], wrap: readonly string[] = []) {
    this.#child =
      wrap[0] === undefined
        ? ns.spawn(process.execPath, [probePath, ...args])
        : ns.spawn(wrap[0], [...wrap.slice(1), ...args]);
    let buffered = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts)
        if (line.trim() !== '') this.#lines.push(JSON.parse(line) as ProbeLine);
    });
    this.exited = new Promise((resolve) =>
      this.#child.on('exit', (code) => {
        resolve(code);
      }),
    );
  }

  lines(): readonly ProbeLine[] {
    return this.#lines;
  }

  async waitFor(pred: (lines: readonly ProbeLine[]) => boolean, ms = 10_000): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (pred(this.#lines)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return pred(this.#lines);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.pid !== undefined)
      process.kill(this.#child.pid, 'SIGTERM');
    await this.exited;
  }
}

const payloadText = (l: ProbeLine) => Buffer.from(l.payload ?? '', 'base64').toString('latin1');

const SERVER = `
const http = require('node:http');
let ready = 0;
for (const host of ['169.254.169.254', 'fd00:ec2::254', '192.0.2.1']) {
  http.createServer((req, res) => {
    req.resume();
    if (req.method === 'PUT') { res.end(${JSON.stringify(FAKE_TOKEN)}); return; }
    if (req.headers['x-aws-ec2-metadata-token'] === undefined && req.url.includes('v2only')) { res.statusCode = 401; res.end(); return; }
    res.end('ok');
  }).listen(80, host, () => { if (++ready === 3) console.log('listening'); });
}`;

t.test(
  'live capture in a fake instance',
  {
    skip: existsSync(probePath)
      ? false
      : 'run `npm run build` first (needs dist/test/helpers/capture-probe.js)',
  },
  async (t) => {
    const link: ImdsLink = await createImdsLink('lc');
    const server = link.imds.spawn(process.execPath, ['-e', SERVER]);
    t.teardown(async () => {
      if (server.pid !== undefined && server.exitCode === null) process.kill(server.pid, 'SIGTERM');
      await link.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) resolve();
      });
      server.on('exit', (code) => {
        reject(new Error(`server exited ${code}`));
      });
    });
    const curl = (...args: string[]) =>
      link.instance.run('curl', [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--max-time',
        '5',
        ...args,
      ]);

    t.test('BPF passes IMDS traffic over IPv4 and IPv6 and drops the rest', async (t) => {
      const probe = new Probe(link.instance, ['eth0']);
      t.ok(
        await probe.waitFor((l) => l.some((x) => x.ready === true || x.error !== undefined)),
        'probe started',
      );
      t.same(
        probe.lines().filter((l) => l.error),
        [],
        'no capture error',
      );

      t.equal((await link.instance.run('ping', ['-c', '2', '-i', '0.2', '192.0.2.1'])).code, 0);
      t.equal((await curl('http://192.0.2.1/unrelated')).stdout, '200');
      t.equal(
        (
          await curl(
            '-A',
            'aws-cli/1.16.0 Python/3.6',
            'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
          )
        ).stdout,
        '200',
      );
      t.equal(
        (
          await curl(
            '-X',
            'PUT',
            '-H',
            'X-aws-ec2-metadata-token-ttl-seconds: 21600',
            'http://169.254.169.254/latest/api/token',
          )
        ).stdout,
        '200',
      );
      t.equal(
        (
          await curl(
            '-H',
            `X-aws-ec2-metadata-token: ${FAKE_TOKEN}`,
            'http://169.254.169.254/latest/meta-data/instance-id',
          )
        ).stdout,
        '200',
      );
      t.equal(
        (
          await curl(
            '-g',
            '-H',
            `X-aws-ec2-metadata-token: ${FAKE_TOKEN}`,
            'http://[fd00:ec2::254]/latest/meta-data/v6-path',
          )
        ).stdout,
        '200',
      );
      t.equal((await curl('-g', 'http://[fd00:ec2::254]/latest/meta-data/v2only')).stdout, '401');
      t.equal((await link.instance.run('ping', ['-c', '1', 'fd00:ec2::254'])).code, 0);

      const want = [
        'GET /latest/meta-data/iam/security-credentials/',
        'PUT /latest/api/token',
        'GET /latest/meta-data/instance-id',
        'GET /latest/meta-data/v6-path',
        'GET /latest/meta-data/v2only',
      ];
      const seen = (l: readonly ProbeLine[]) =>
        want.every((w) => l.some((x) => payloadText(x).startsWith(w)));
      t.ok(await probe.waitFor(seen), 'every IMDS request reached user space');
      await probe.stop();
      const lines = probe.lines();
      const tcp = lines.filter((l) => l.kind === 'tcp');

      for (const w of want)
        t.ok(
          tcp.some((l) => payloadText(l).startsWith(w)),
          `saw ${w}`,
        );
      const v6 = tcp.find((l) => payloadText(l).startsWith('GET /latest/meta-data/v6-path'));
      t.match(v6, { srcIp: '2001:db8::2', dstIp: 'fd00:ec2::254', dstPort: 80 });
      t.ok(
        tcp.some((l) => payloadText(l).startsWith('HTTP/1.1 401')),
        'saw the 401 answer',
      );
      t.ok(
        tcp.filter((l) => ((l.flags ?? 0) & TCP_SYN) !== 0 && l.dstPort === 80).length >= 5,
        'saw every SYN',
      );
      t.ok(
        tcp.some((l) => payloadText(l).includes('User-Agent: aws-cli/1.16.0')),
        'user agent bytes intact',
      );

      const imds = new Set(['169.254.169.254', 'fd00:ec2::254']);
      t.same(
        tcp.filter((l) => !imds.has(l.srcIp ?? '') && !imds.has(l.dstIp ?? '')),
        [],
        'no unrelated TCP (192.0.2.1:80) passed the filter',
      );
      t.notOk(
        tcp.some((l) => payloadText(l).includes('/unrelated')),
        'the unrelated request was filtered',
      );
      // ICMP to 192.0.2.1 is dropped in the kernel; ICMPv6 to fd00:ec2::254 passes the address-only
      // IPv6 term and decode drops it: exactly the two ways the filter is meant to work.
      const ignored = lines.filter((l) => l.kind === 'ignored');
      t.ok(
        ignored.length >= 2 && ignored.every((l) => l.reason === 'decode.not_tcp'),
        'only ICMPv6 to fd00:ec2::254 was ignored',
      );
      t.equal(lines.filter((l) => l.kind === 'malformed').length, 0);
      const stats = lines.find((l) => 'stats' in l) as { stats?: { frames: number } } | undefined;
      t.equal(
        stats?.stats?.frames,
        tcp.length + ignored.length,
        'stats count every delivered frame',
      );
    });

    t.test('without the filter the same unrelated traffic is seen (control)', async (t) => {
      const probe = new Probe(link.instance, ['eth0', '']);
      t.ok(await probe.waitFor((l) => l.some((x) => x.ready === true)));
      t.equal((await curl('http://192.0.2.1/unrelated')).stdout, '200');
      t.ok(
        await probe.waitFor((l) => l.some((x) => payloadText(x).includes('/unrelated'))),
        'unfiltered capture sees it',
      );
      await probe.stop();
    });

    t.test('on `any` (Linux cooked capture) the filter and decode work too', async (t) => {
      const probe = new Probe(link.instance, ['any']);
      t.ok(await probe.waitFor((l) => l.some((x) => x.ready === true)));
      t.equal((await curl('http://169.254.169.254/latest/meta-data/on-any')).stdout, '200');
      t.equal((await curl('http://192.0.2.1/unrelated')).stdout, '200');
      t.ok(
        await probe.waitFor((l) =>
          l.some((x) => payloadText(x).startsWith('GET /latest/meta-data/on-any')),
        ),
      );
      await probe.stop();
      const tcp = probe.lines().filter((l) => l.kind === 'tcp');
      t.ok(
        tcp.every((l) => l.linkType === 113),
        'cooked capture',
      );
      t.notOk(tcp.some((l) => payloadText(l).includes('/unrelated')));
    });

    t.test('a missing interface and a bad filter give their codes', async (t) => {
      const missing = new Probe(link.instance, ['eth9']);
      t.equal(await missing.exited, 2);
      t.match(missing.lines()[0], {
        error: 'ERR_CAPTURE_NO_INTERFACE',
        message: 'no such interface eth9; list interfaces with `ip link`.',
      });
      const badFilter = new Probe(link.instance, ['eth0', 'tcp and (']);
      t.equal(await badFilter.exited, 2);
      t.match(badFilter.lines()[0], { error: 'ERR_CAPTURE_FILTER' });
    });

    t.test(
      'without CAP_NET_RAW: ERR_CAPTURE_PERMISSION',
      { skip: (await run('capsh', ['--print'])).code === 0 ? false : 'capsh not installed' },
      async (t) => {
        const probe = new Probe(
          link.instance,
          [],
          ['capsh', '--drop=cap_net_raw', '--', '-c', `exec ${process.execPath} ${probePath} eth0`],
        );
        t.equal(await probe.exited, 2);
        t.match(probe.lines()[0], { error: 'ERR_CAPTURE_PERMISSION', message: /CAP_NET_RAW/ });
      },
    );
  },
);

t.test('in-process: a missing interface rejects with ERR_CAPTURE_NO_INTERFACE', async (t) => {
  const capture = new LiveCapture({ interface: 'nosuchif9' });
  const err: unknown = await capture.run(() => undefined).catch((e: unknown) => e);
  t.ok(err instanceof CaptureError);
  t.match(err, {
    code: 'ERR_CAPTURE_NO_INTERFACE',
    message: 'no such interface nosuchif9; list interfaces with `ip link`.',
  });
  capture.stop();
  t.equal(capture.stats().frames, 0);
});
