/**
 * Attribution benchmark: how often is a short-lived `curl` named with the right pid, and how
 * fast? Builds the fake instance + IMDS namespaces, then for each mode runs
 * dist/bench/attribution-worker.js inside the instance namespace: N parallel curls plus one
 * long-lived keep-alive client, a SYN listener on the real capture path, truth from the pids
 * the worker spawned itself.
 *
 *   bench/run-attribution.sh [--n 100] [--repeat 3] [--modes tuned,naive] [--nice 0,-10]
 *
 * Modes: tuned (the default options, with sock_diag), tables (the same without sock_diag: our
 * namespace's table read on the read-ahead worker, as before session 2), naive (the brief's prototype: one pass per SYN, /proc
 * order, no skipping), old (before the lone-client work: pass on the next loop turn, no
 * pre-scan), noprescan, deferred (pass on the next loop turn), nobatch, oldest-first.
 *
 *   bench/run-attribution.sh --lone curl|urllib [--n 20] [--modes tuned,old] [--nice 0,-10]
 * runs n lone clients one after the other instead of a burst, and prints a timeline.
 */
import type { ChildProcess } from 'node:child_process';
import { createImdsLink, run } from '../test/helpers/netns.js';
import type { BurstResult, LoneResult } from './attribution-result.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const n = Number(arg('n', '100'));
const repeat = Number(arg('repeat', '3'));
const modes = arg('modes', 'tuned,naive').split(',');
const nices = arg('nice', '0').split(',').map(Number);
const worker = new URL('./attribution-worker.js', import.meta.url).pathname;
const lone = arg('lone', '');

const FAST_SERVER = `
import http.server
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'ok')
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    request_queue_size = 4096
    daemon_threads = True
s = S(('169.254.169.254', 80), H)
print('listening', flush=True)
s.serve_forever()
`;

const link = await createImdsLink('bn');
let server: ChildProcess | undefined;
// Interrupted: remove the namespaces (their processes die with the server kill below).
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    server?.kill();
    void link.destroy().then(() => process.exit(130));
  });
}
try {
  // A fast IMDS stand-in with a deep accept queue: the real service answers in well under a
  // millisecond, so curls exit at once (the hard case). Python's default backlog of 5 dropped
  // SYNs in a burst; each dropped SYN kept its curl alive a second longer and made the numbers
  // meaninglessly good. `--server mock` uses test/helpers/mock-imds.py instead.
  server =
    arg('server', 'fast') === 'mock'
      ? link.imds.spawn('/usr/bin/python3', ['-u', 'test/helpers/mock-imds.py'], {
          cwd: process.cwd(),
        })
      : link.imds.spawn('/usr/bin/python3', ['-u', '-c', FAST_SERVER]);
  await new Promise<void>((resolve, reject) => {
    server?.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) resolve();
    });
    server?.on('exit', () => {
      reject(new Error('mock IMDS exited'));
    });
  });
  console.log(
    `machine: ${(await run('uname', ['-srm'])).stdout.trim()}, ${(await run('nproc', [])).stdout.trim()} cpus, node ${process.version}`,
  );
  if (lone !== '') {
    console.log(`${n} lone ${lone} clients one after the other, ${repeat} runs per row`);
    for (const mode of modes) {
      for (const nice of nices) {
        const rows: LoneResult[] = [];
        for (let i = 0; i < repeat; i++) {
          const r = await link.instance.run(
            process.execPath,
            [worker, String(n), mode, String(nice), link.instanceInterface, lone],
            120_000,
          );
          const line = r.stdout.trim().split('\n').pop() ?? '';
          try {
            rows.push(JSON.parse(line) as LoneResult);
          } catch {
            console.error(`worker failed (${r.code}): ${r.stderr.slice(0, 2000)}`);
          }
          if (process.argv.includes('--verbose')) console.log(line);
        }
        const sum = (f: (w: LoneResult) => number): number => rows.reduce((s, w) => s + f(w), 0);
        console.log(
          `${mode.padEnd(10)} nice ${String(nice).padStart(3)}: right ${sum((w) => w.right)}/${sum((w) => w.clients)} (SYNs seen ${sum((w) => w.synsSeen)}), wrong ${sum((w) => w.wrong)}, exited ${sum((w) => w.exited)}, unknown ${sum((w) => w.unknown)}`,
        );
        for (const w of rows) {
          console.log(
            `  timeline (median ms after lookup()): ${JSON.stringify(w.timelineMedianMs)} done ${w.doneMs}`,
          );
          for (const [k, v] of Object.entries(w.reasons)) console.log(`  ${v} x ${k}`);
        }
      }
    }
    modes.length = 0;
  } else {
    console.log(`n=${n} curls in parallel + 1 keep-alive client, ${repeat} runs per row`);
    console.log(
      'mode          nice  right%  wrong  exited%  unknown%  keepalive  median_ms  p99_ms',
    );
  }
  for (const mode of modes) {
    for (const nice of nices) {
      const rows: BurstResult[] = [];
      for (let i = 0; i < repeat; i++) {
        const r = await link.instance.run(
          process.execPath,
          [worker, String(n), mode, String(nice), link.instanceInterface],
          120_000,
        );
        const line = r.stdout.trim().split('\n').pop() ?? '';
        try {
          rows.push(JSON.parse(line) as BurstResult);
        } catch {
          console.error(`worker failed (${r.code}): ${r.stderr.slice(0, 2000)}`);
        }
        if (process.argv.includes('--verbose')) console.log(line);
      }
      if (rows.length === 0) continue;
      const sum = (f: (w: BurstResult) => number): number => rows.reduce((s, w) => s + f(w), 0);
      const curls = sum((w) => w.curls);
      const pct = (x: number): string => ((100 * x) / curls).toFixed(1).padStart(6);
      const avg = (f: (w: BurstResult) => number): string =>
        (sum(f) / rows.length).toFixed(2).padStart(9);
      console.log(
        `${mode.padEnd(13)} ${String(nice).padStart(4)}  ${pct(sum((w) => w.right))}  ${String(sum((w) => w.wrong)).padStart(5)}  ${pct(sum((w) => w.exited))}   ${pct(sum((w) => w.unknown))}  ${`${rows.filter((w) => w.keepaliveRight).length}/${rows.length}`.padStart(9)}  ${avg((w) => w.medianMs)}  ${avg((w) => w.p99Ms)}`,
      );
      const missed = sum((w) => w.curls + 1 - w.synsSeen);
      const seen = sum((w) => w.synsSeen - 1);
      console.log(
        `  of the curl SYNs captured (${seen}): right ${((100 * sum((w) => w.right)) / seen).toFixed(1)}%` +
          (missed > 0 ? `; ${missed} SYNs not captured` : ''),
      );
      const reasons = new Map<string, number>();
      for (const w of rows)
        for (const [k, v] of Object.entries(w.reasons)) reasons.set(k, (reasons.get(k) ?? 0) + v);
      for (const [k, v] of reasons) console.log(`  ${v} x ${k}`);
    }
  }
} finally {
  server?.kill();
  await link.destroy();
}
