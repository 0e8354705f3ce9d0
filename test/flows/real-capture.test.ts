/**
 * Real kernel TCP: curl in a fake instance namespace uploads a body to a server on the IMDS
 * addresses and downloads one back; tcpdump captures the instance's eth0. The captured
 * segments (real ISNs, real segmentation, offloaded super-segments) go through the decoder
 * into the flow table, whose reassembled streams must hold exactly the bytes sent, also when
 * the captured segments are reordered and duplicated locally.
 */
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Anomalies } from '../../src/anomalies.js';
import { OfflineCapture } from '../../src/capture/offline.js';
import { decodeFrame } from '../../src/decode/link.js';
import { TCP_FIN, type TcpSegment } from '../../src/decode/segment.js';
import { FlowTable } from '../../src/flows/flow-table.js';
import { createImdsLink, type ImdsLink, type Netns } from '../helpers/netns.js';
import { IMDS_V4, IMDS_V6, Recorder, TEST_CONFIG } from './segments.js';

const REQUEST_BODY_BYTES = 200_000;
const RESPONSE_BODY_BYTES = 300_000;

function pattern(n: number, mul: number, add: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * mul + add) & 0xff;
  return b;
}
const requestBody = pattern(REQUEST_BODY_BYTES, 31, 7);
const responseBody = pattern(RESPONSE_BODY_BYTES, 13, 5);

// Answers any request with RESPONSE_BODY_BYTES of the response pattern, on both IMDS addresses.
const SERVER = `
const http = require('node:http');
const body = Buffer.alloc(${RESPONSE_BODY_BYTES});
for (let i = 0; i < body.length; i++) body[i] = (i * 13 + 5) & 0xff;
const srv = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'Content-Length': body.length }); res.end(body); });
});
srv.listen(80, '::', () => console.log('ready'));
`;

function waitForOutput(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  text: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      reject(new Error(`no "${text}" within 10 s: ${seen}`));
    }, 10_000);
    child[stream]?.on('data', (b: Buffer) => {
      seen += b.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before "${text}": ${seen}`));
    });
  });
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, signal);
  await exited;
}

/** Runs one upload/download through curl while tcpdump records it; returns the decoded segments. */
async function captureExchange(link: ImdsLink, dir: string, url: string): Promise<TcpSegment[]> {
  const pcap = join(dir, `${Date.now()}.pcap`);
  const bodyFile = join(dir, 'body.bin');
  writeFileSync(bodyFile, requestBody);
  const ns: Netns = link.instance;
  // Immediate mode: otherwise packets still in the kernel ring when tcpdump stops are lost.
  const tcpdump = ns.spawn('tcpdump', [
    '--immediate-mode',
    '-i',
    link.instanceInterface,
    '-n',
    '-U',
    '-s',
    '0',
    '-w',
    pcap,
    'tcp port 80',
  ]);
  await waitForOutput(tcpdump, 'stderr', 'listening on');
  const curl = await ns.run('curl', [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-H',
    'Expect:',
    '-X',
    'PUT',
    '--data-binary',
    `@${bodyFile}`,
    url,
  ]);
  await new Promise((r) => setTimeout(r, 500));
  await stop(tcpdump, 'SIGINT');
  if (curl.stdout !== '200') throw new Error(`curl: ${curl.stdout} ${curl.stderr}`);
  const segments: TcpSegment[] = [];
  await new OfflineCapture(pcap).run((frame) => {
    const d = decodeFrame(frame.linkType, frame.data);
    if (d.kind === 'tcp') segments.push({ ...d.segment, payload: Buffer.from(d.segment.payload) });
  });
  return segments;
}

function reassemble(segments: readonly TcpSegment[]) {
  const rec = new Recorder();
  const anomalies = new Anomalies();
  const table = new FlowTable({ ...TEST_CONFIG, maxBufferedBytes: 4 << 20 }, rec, anomalies);
  segments.forEach((s, i) => {
    table.process(s, 1000 + i);
  });
  return { rec, anomalies, table };
}

t.test('real curl traffic captured by tcpdump reassembles exactly', async (t) => {
  const link = await createImdsLink('fl');
  const dir = mkdtempSync(join(tmpdir(), 'imds-flows-'));
  const server = link.imds.spawn(process.execPath, ['-e', SERVER]);
  t.teardown(async () => {
    await stop(server, 'SIGTERM');
    await link.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  await waitForOutput(server, 'stdout', 'ready');

  for (const [family, url, serverIp, clientIp] of [
    ['ipv4', `http://${IMDS_V4}/latest/upload`, IMDS_V4, '192.0.2.2'],
    ['ipv6', `http://[${IMDS_V6}]/latest/upload`, IMDS_V6, '2001:db8::2'],
  ] as const) {
    const segments = await captureExchange(link, dir, url);
    t.ok(segments.length > 6, `${family}: ${segments.length} segments captured`);

    const { rec, table } = reassemble(segments);
    const [flow, ...others] = rec.flows();
    t.equal(others.length, 0, `${family}: one connection`);
    t.match(flow, {
      id: 'C1',
      family,
      sawSyn: true,
      client: { ip: clientIp },
      server: { ip: serverIp, port: 80 },
    });
    const request = rec.bytes('C1', 'request');
    const response = rec.bytes('C1', 'response');
    t.match(request.subarray(0, 40).toString('latin1'), /^PUT \/latest\/upload HTTP\/1\.1\r\n/);
    t.ok(
      request.subarray(request.length - REQUEST_BODY_BYTES).equals(requestBody),
      `${family}: request body intact`,
    );
    t.match(response.subarray(0, 20).toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
    t.ok(
      response.subarray(response.length - RESPONSE_BODY_BYTES).equals(responseBody),
      `${family}: response body intact`,
    );
    t.same(rec.ends(), [{ flowId: 'C1', reason: 'fin' }]);
    t.notOk(
      rec.trace().some((e) => e.startsWith('gap')),
      `${family}: no gap`,
    );
    t.equal(table.size, 0);

    // The same real segments, reordered locally (each moved up to 8 places) and duplicated:
    // the streams must not change. The close (from the first FIN on) stays in place: its ACKs
    // would rightly declare a still-missing byte lost.
    const firstFin = segments.findIndex((s) => (s.flags & TCP_FIN) !== 0);
    const head = segments.slice(0, 3);
    const middle = segments.slice(3, firstFin);
    const tail = segments.slice(firstFin);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 8 }), {
          minLength: middle.length,
          maxLength: middle.length,
        }),
        fc.array(fc.nat({ max: Math.max(0, middle.length - 1) }), { maxLength: 20 }),
        (jitter, dups) => {
          const moved = middle
            .map((s, i) => ({ s, key: i + (jitter[i] ?? 0) }))
            .concat(
              dups.flatMap((d) =>
                middle[d] === undefined ? [] : [{ s: middle[d], key: d + 3.5 }],
              ),
            )
            .sort((a, b) => a.key - b.key)
            .map((x) => x.s);
          const again = reassemble([...head, ...moved, ...tail]);
          return (
            again.rec.bytes('C1', 'request').equals(request) &&
            again.rec.bytes('C1', 'response').equals(response) &&
            again.rec.ends().length === 1 &&
            again.rec.ends()[0]?.reason === 'fin'
          );
        },
      ),
      { numRuns: 25 },
    );
  }
});
