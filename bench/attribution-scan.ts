/**
 * Micro-benchmark of the hot loop of attribution: one full scan of /proc/<pid>/fd on this host,
 * done the ways one could write it. `node dist/bench/attribution-scan.js [rounds]`.
 * - sync: readdirSync/readlinkSync, try/catch per pid and per fd (what ProcAttributor does
 *   through realProcFs);
 * - async: fs.promises readdir/readlink, all pids in parallel on the libuv pool;
 * - throwing: the cost of the exceptions alone, stat of vanished pids with and without
 *   `throwIfNoEntry: false`.
 */
import fs from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';

const rounds = Number(process.argv[2] ?? '50');
const pids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));

function syncScan(): number {
  let links = 0;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        links += 1;
      } catch {
        // closed meanwhile
      }
    }
  }
  return links;
}

async function asyncScan(): Promise<number> {
  const counts = await Promise.all(
    pids.map(async (pid) => {
      const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      const links = await Promise.all(
        fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => undefined)),
      );
      return links.filter((l) => l !== undefined).length;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

function time(label: string, f: () => void): void {
  f();
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) f();
  console.log(`${label.padEnd(44)} ${((performance.now() - t0) / rounds).toFixed(3)} ms`);
}

console.log(`${pids.length} pids, ${syncScan()} fd links`);
time('sync scan (readdirSync + readlinkSync)', syncScan);
{
  await asyncScan();
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) await asyncScan();
  console.log(
    `${'async scan (fs.promises, all pids parallel)'.padEnd(44)} ${((performance.now() - t0) / rounds).toFixed(3)} ms`,
  );
}
const gone = Array.from({ length: 1000 }, (_, i) => `/proc/${4_000_000 + i}`);
time('1000 x statSync of a vanished pid (throws)', () => {
  for (const p of gone) {
    try {
      fs.statSync(p);
    } catch {
      // gone
    }
  }
});
time('1000 x statSync throwIfNoEntry:false', () => {
  for (const p of gone) fs.statSync(p, { throwIfNoEntry: false });
});
time('1000 x readdirSync of a vanished pid (throws)', () => {
  for (const p of gone) {
    try {
      fs.readdirSync(`${p}/fd`);
    } catch {
      // gone
    }
  }
});
