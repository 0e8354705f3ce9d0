/**
 * Offline throughput and memory: `imds-analyzer --read` on a generated capture, against what a
 * user would otherwise run on the same file (`tcpdump -r`, which only prints packets).
 *
 *   node dist/bench/pcap-throughput.js [connections=20000] [requestsPerConnection=4]
 *
 * Prints frames/s and requests/s for each, their ratio, and the analyzer's peak RSS
 * (GNU time's %M). Numbers go into the README's Benchmarks section.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { conversation } from '../test/helpers/packet-conversation.js';
import type { PacketRecord } from '../test/helpers/packets.js';
import { writePcapFile } from '../test/helpers/pcap-writer.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const connections = Number(process.argv[2] ?? 20_000);
const perConnection = Number(process.argv[3] ?? 4);

function request(path: string, token: boolean): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: 169.254.169.254\r\nUser-Agent: Boto3/1.34.0 Botocore/1.34.0\r\n` +
      (token
        ? 'X-aws-ec2-metadata-token: AQAEAbenchTokenbenchTokenbenchTokenbenchToken==\r\n'
        : '') +
      '\r\n',
  );
}
const response = Buffer.from(
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\ni-0123456789abcdef0',
);

function capture(): PacketRecord[] {
  const records: PacketRecord[] = [];
  for (let c = 0; c < connections; c++) {
    const exchanges = Array.from({ length: perConnection }, (_, i) => ({
      request: request(`/latest/meta-data/path-${i}`, c % 2 === 0),
      response,
    }));
    records.push(
      ...conversation({
        client: { ip: `192.0.2.${1 + (c % 250)}`, port: 10_000 + (c % 50_000) },
        server: { ip: '169.254.169.254', port: 80 },
        exchanges,
        clientIsn: (c * 7919) >>> 0,
        startMs: 1_700_000_000_000 + c * 2,
        stepMs: 0.1,
      }),
    );
  }
  return records;
}

/** Runs a command under GNU time; returns wall seconds and peak RSS in KiB. */
function timed(cmd: string, args: readonly string[]): { seconds: number; maxRssKiB: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const last = r.stderr.toString().trim().split('\n').pop() ?? '';
  const [seconds = NaN, rss = NaN] = last.split(' ').map(Number);
  return { seconds, maxRssKiB: rss };
}

const dir = mkdtempSync(join(tmpdir(), 'imds-bench-'));
try {
  const file = join(dir, 'bench.pcap');
  const records = capture();
  writePcapFile(file, records);
  const requests = connections * perConnection;
  const mb = statSync(file).size / 1e6;
  console.log(
    `capture: ${records.length} frames, ${requests} requests, ${connections} connections, ${mb.toFixed(1)} MB`,
  );
  const ours = timed(process.execPath, [CLI, '--read', file, '--format', 'json']);
  const tcpdump = timed('tcpdump', ['-n', '-r', file]);
  const row = (name: string, r: { seconds: number; maxRssKiB: number }): void => {
    console.log(
      `${name.padEnd(34)} ${r.seconds.toFixed(2).padStart(6)} s  ` +
        `${Math.round(records.length / r.seconds)
          .toLocaleString('en')
          .padStart(10)} frames/s  ` +
        `${Math.round(requests / r.seconds)
          .toLocaleString('en')
          .padStart(9)} requests/s  ` +
        `peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB`,
    );
  };
  row('imds-analyzer --read --format json', ours);
  row('tcpdump -n -r (prints packets only)', tcpdump);
  console.log(
    `ratio: imds-analyzer takes ${(ours.seconds / tcpdump.seconds).toFixed(2)}x tcpdump's time`,
  );
  console.log(
    `machine: ${execFileSync('nproc').toString().trim()} cores, node ${process.version}, load ${execFileSync('cat', ['/proc/loadavg']).toString().split(' ').slice(0, 3).join(' ')}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
