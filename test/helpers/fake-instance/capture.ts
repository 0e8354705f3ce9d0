/**
 * An independent witness: tcpdump inside a namespace, to check which addresses a client really
 * contacted (for instance that `aws configure export-credentials` talks to IMDS only).
 * Only headers are read back (`-nn -q`); payloads are never printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type Netns } from '../netns.js';

export interface WitnessReport {
  /** Header lines of the packets matching the filter (default: everything NOT to/from IMDS). */
  readonly matching: string[];
  /** How many packets to or from an IMDS address were captured: proves the witness saw. */
  readonly imdsPackets: number;
}

export interface Witness {
  /**
   * Stops tcpdump and reads the capture back. Without `filter`, `matching` lists packets that
   * did not go to or come from an IMDS address (IPv6 link-local and multicast housekeeping
   * left out): empty when the client talked to IMDS only.
   */
  stop(filter?: string): Promise<WitnessReport>;
}

const IMDS_HOSTS = 'host 169.254.169.254 or host fd00:ec2::254';
const NOT_IMDS = `not (${IMDS_HOSTS}) and not (ip6 and (net fe80::/10 or ip6 multicast))`;

export async function startWitness(ns: Netns, iface = 'any'): Promise<Witness> {
  const dir = mkdtempSync(join(tmpdir(), 'imds-witness-'));
  const file = join(dir, 'witness.pcap');
  const child = ns.spawn(
    'tcpdump',
    ['-i', iface, '-n', '--immediate-mode', '-U', '-s', '128', '-w', file],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
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
    async stop(filter = NOT_IMDS) {
      // Immediate mode delivers each packet at once; the pause covers the last one in flight.
      await new Promise((r) => setTimeout(r, 500));
      process.kill(pid, 'SIGINT');
      await exited;
      const read = async (f: string): Promise<string[]> => {
        const r = await run('tcpdump', ['-nn', '-q', '-r', file, f]);
        if (r.code !== 0) throw new Error(`tcpdump -r failed: ${r.stderr}`);
        return r.stdout.split('\n').filter((l) => l.trim() !== '');
      };
      try {
        return { matching: await read(filter), imdsPackets: (await read(IMDS_HOSTS)).length };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
