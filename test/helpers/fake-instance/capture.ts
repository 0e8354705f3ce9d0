/**
 * An independent witness: tcpdump inside a namespace, to check which addresses a client really
 * contacted (for instance that `aws configure export-credentials` talks to IMDS only).
 * Only headers are read back (`-nn -q`); payloads are never printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type Netns } from '../netns.js';

export interface Witness {
  /**
   * Stops tcpdump and returns one header line per packet that did NOT go to or come from an
   * IMDS address (IPv6 link-local and multicast housekeeping left out): empty when the client
   * talked to IMDS only.
   */
  stop(): Promise<string[]>;
}

const NOT_IMDS =
  'not (host 169.254.169.254 or host fd00:ec2::254) and not (ip6 and (net fe80::/10 or ip6 multicast))';

export async function startWitness(ns: Netns, iface = 'any'): Promise<Witness> {
  const dir = mkdtempSync(join(tmpdir(), 'imds-witness-'));
  const file = join(dir, 'witness.pcap');
  const child = ns.spawn('tcpdump', ['-i', iface, '-n', '-U', '-s', '128', '-w', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('tcpdump did not start');
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => {
      reject(new Error(`tcpdump not ready: ${err}`));
    }, 5000);
    child.stderr?.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited (${code}): ${err}`));
    });
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 300));
      process.kill(pid, 'SIGINT');
      await exited;
      const r = await run('tcpdump', ['-nn', '-q', '-r', file, NOT_IMDS]);
      rmSync(dir, { recursive: true, force: true });
      if (r.code !== 0) throw new Error(`tcpdump -r failed: ${r.stderr}`);
      return r.stdout.split('\n').filter((l) => l.trim() !== '');
    },
  };
}
