/**
 * Attribution benchmark, the part that runs inside the fake instance namespace (compiled JS,
 * started by bench/attribution.ts through `ip netns exec`). It captures SYNs to IMDS with the
 * real LiveCapture + decodeFrame, calls attributor.lookup() at each SYN, spawns the clients
 * itself (so it knows the true pid behind every client port) and prints one JSON result line.
 *
 * argv: <n curls> <mode: see MODES> <nice (0 = unchanged)> <interface> [lone client]
 * With a 5th argument `curl` or `urllib`: n lone clients one after the other (300 ms apart, no
 * keep-alive client), paired with their SYNs in order, and a timeline of each lookup.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import type { Attribution } from '../src/attribute/attribution.js';
import { ProcAttributor, type ProcAttributorOptions } from '../src/attribute/proc-attributor.js';
import { openSocketLookup } from '../src/attribute/socket-lookup.js';
import { LiveCapture } from '../src/capture/live.js';
import { decodeFrame } from '../src/decode/link.js';
import { TCP_ACK, TCP_SYN } from '../src/decode/segment.js';
import type { FlowInfo } from '../src/flows/flow.js';
import type { BurstResult, LoneResult } from './attribution-result.js';

const n = Number(process.argv[2] ?? '100');
const mode = process.argv[3] ?? 'tuned';
const nice = Number(process.argv[4] ?? '0');
const iface = process.argv[5] ?? 'eth0';
const PYTHON = '/usr/bin/python3';
const lone =
  process.argv[6] === 'curl' || process.argv[6] === 'urllib' ? process.argv[6] : undefined;

const MODES: Record<string, ProcAttributorOptions> = {
  tuned: {},
  // The tuned attributor before sock_diag (2026-11-25, session 2): our own namespace's sockets
  // found by reading /proc/net/tcp on the read-ahead worker.
  tables: {},
  // What the brief's throw-away prototype did: one lookup per SYN, /proc order, no skipping.
  naive: {
    batch: false,
    newestFirst: false,
    skipByIndex: false,
    prescan: 'off',
    readAhead: false,
    retryDelaysMs: [2, 10, 40],
  },
  nobatch: { batch: false },
  'oldest-first': { newestFirst: false },
  // Before the lone-client work (2026-11-25): pass on the next loop turn, no pre-scan.
  old: { startSync: false, prescan: 'off', readAhead: false, retryDelaysMs: [2, 10, 40] },
  noprescan: { prescan: 'off', readAhead: false },
  // Pre-scan, then the table read on the main thread (no read-ahead worker).
  noahead: { readAhead: false },
  deferred: { startSync: false, readAhead: false },
  'ahead-deferred': { startSync: false },
  'ahead-noprescan': { prescan: 'off' },
};

if (nice !== 0) os.setPriority(0, nice);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Timeline (lone mode): performance.now() of each phase the attributor reports.
const timeline: { phase: string; t: number }[] = [];
const trace = (phase: string): void => {
  timeline.push({ phase, t: performance.now() });
};
// sock_diag for the tuned attributor and its variants; the older modes measured what came before.
const DIAG_MODES = new Set(['tuned', 'nobatch', 'oldest-first']);
const opened = DIAG_MODES.has(mode) ? await openSocketLookup() : undefined;
if (opened !== undefined && 'error' in opened) throw new Error(`sock_diag: ${opened.error}`);
const attributor = new ProcAttributor({
  ...(MODES[mode] ?? {}),
  ...(lone ? { trace } : {}),
  ...(opened && { socketLookup: opened }),
});
const lookups: { port: number; result: Promise<Attribution> }[] = [];
let seq = 0;
let frames = 0;
const synPorts = new Set<number>();
// Truth: local port -> pid of the process the bench spawned.
const truth = new Map<number, { pid: number; kind: 'curl' | 'keepalive' }>();
// Lone mode: the pids in launch order (the k-th SYN is the k-th client's).
const loneTruth: number[] = [];
const loneLookups: {
  port: number;
  frameT: number;
  lookupT: number;
  doneT: number;
  result: Attribution | undefined;
}[] = [];

// The clients are started by one launcher shell, forked BEFORE the capture opens and released
// through stdin: measured here, frames captured by `cap` are lost while the capturing Node
// process forks children (100 spawn() calls: 9 of 100 SYNs seen), and children forked after the
// open inherit the packet socket (libpcap does not set close-on-exec on it).
// The launcher prints the truth: `<kind> <pid> <local port>` per client (`$!` of a simple
// background command is the client itself).
const base = 20000 + Math.floor(Math.random() * 20000);
const URL = 'http://169.254.169.254/latest/meta-data/instance-id';
const URLLIB = `import os,urllib.request as u
print('urllib', os.getpid(), flush=True)
u.urlopen('${URL}', timeout=5).read()`;
const loneLauncher = `
read go
i=0
while [ $i -lt ${n} ]; do
  ${lone === 'curl' ? `sh -c 'echo "curl $$"; exec curl -s -o /dev/null ${URL}'` : `${PYTHON} -c "$URLLIB"`}
  sleep 0.3
  i=$((i + 1))
done
`;
const launcher =
  lone !== undefined
    ? loneLauncher
    : `
read go
${PYTHON} -c "$KA" &
sleep 0.3
i=0
while [ $i -lt ${n} ]; do
  p=$((${base} + i))
  curl -s -o /dev/null --max-time 5 --local-port $p http://169.254.169.254/latest/meta-data/ &
  echo "curl $! $p"
  i=$((i + 1))
done
wait
`;
const KA = `import os,socket,time
s=socket.create_connection(('169.254.169.254',80))
print('keepalive', os.getpid(), s.getsockname()[1], flush=True)
while True:
    s.sendall(b'GET /latest/meta-data/ HTTP/1.1\\r\\nHost: 169.254.169.254\\r\\n\\r\\n'); s.recv(65536); time.sleep(0.1)`;
const sh = spawn('sh', ['-c', launcher], {
  env: { ...process.env, KA, URLLIB },
  stdio: ['pipe', 'pipe', 'inherit'],
});
let out = '';
sh.stdout.on('data', (d: Buffer) => {
  out += d.toString();
  const lines = out.split('\n');
  out = lines.pop() ?? '';
  for (const line of lines) {
    const [kind, pid, port] = line.trim().split(' ');
    if (lone !== undefined && kind === lone && pid !== undefined) {
      loneTruth.push(Number(pid));
      continue;
    }
    if ((kind === 'curl' || kind === 'keepalive') && pid !== undefined && port !== undefined) {
      truth.set(Number(port), { pid: Number(pid), kind });
    }
  }
});
// 64 MiB: in immediate mode libpcap uses TPACKET_V2, one fixed ~64 KiB slot per frame at cap's
// 65535 snap length, so the default 4 MiB holds only ~60 frames and a burst of 100 curls
// (about 10 frames each) overflowed it whenever the lookups kept the loop busy (measured:
// 50-85% of SYNs lost with 4 MiB).
const capture = new LiveCapture({ interface: iface, bufferBytes: 64 * 1024 * 1024 });
const captureEnd = capture.run((frame) => {
  frames += 1;
  const d = decodeFrame(frame.linkType, frame.data);
  if (d.kind !== 'tcp') return;
  const s = d.segment;
  if ((s.flags & (TCP_SYN | TCP_ACK)) !== TCP_SYN || s.dstPort !== 80) return;
  // A retransmitted SYN (the server's backlog was full) is the same connection.
  if (synPorts.has(s.srcPort)) return;
  synPorts.add(s.srcPort);
  seq += 1;
  const flow: FlowInfo = {
    id: `C${seq}`,
    communityId: '',
    family: s.family,
    client: { ip: s.srcIp, port: s.srcPort },
    server: { ip: s.dstIp, port: s.dstPort },
    startMs: frame.timeMs,
    sawSyn: true,
    twinOf: undefined,
  };
  if (lone !== undefined) {
    const rec = {
      port: s.srcPort,
      frameT: frame.timeMs - performance.timeOrigin,
      lookupT: performance.now(),
      doneT: 0,
      result: undefined as Attribution | undefined,
    };
    loneLookups.push(rec);
    timeline.push({ phase: `lookup ${s.srcPort}`, t: rec.lookupT });
    void attributor.lookup(flow, frame.timeMs).then((r) => {
      rec.doneT = performance.now();
      rec.result = r;
    });
    return;
  }
  lookups.push({ port: s.srcPort, result: attributor.lookup(flow, frame.timeMs) });
});
await sleep(500);
sh.stdin.write('go\n');
if (lone !== undefined) {
  await new Promise((r) => sh.on('exit', r));
  await sleep(500);
  capture.stop();
  await captureEnd;
  attributor.close();
  reportLone();
  process.exit(0);
}
// The curls end by themselves; the keep-alive client runs until the launcher is killed.
await new Promise<void>((resolve) => {
  const check = setInterval(() => {
    let curls = 0;
    for (const t of truth.values()) if (t.kind === 'curl') curls += 1;
    if (curls >= n) {
      clearInterval(check);
      resolve();
    }
  }, 50);
});
await sleep(3000);
const kaPid = [...truth.values()].find((t) => t.kind === 'keepalive')?.pid;
if (kaPid !== undefined) process.kill(kaPid);
await new Promise((r) => sh.on('exit', r));

capture.stop();
await captureEnd;
const results = await Promise.all(lookups.map(async (l) => ({ port: l.port, r: await l.result })));
attributor.close();

const tally = { right: 0, wrong: 0, exited: 0, unknown: 0, keepaliveRight: false };
const reasons = new Map<string, number>();
const latencies: number[] = [];
let syns = 0;
for (const { port, r } of results) {
  const t = truth.get(port);
  if (t === undefined) continue;
  syns += 1;
  if (r.status === 'ok') {
    latencies.push(r.latencyMs);
    if (r.process.pid === t.pid) {
      if (t.kind === 'keepalive') tally.keepaliveRight = true;
      else tally.right += 1;
    } else tally.wrong += 1;
  } else {
    if (r.status === 'exited') {
      tally.exited += 1;
      latencies.push(r.latencyMs);
    } else tally.unknown += 1;
    const key = `${r.status}: ${r.reason.replace(/\d+/g, 'N')}`;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
}
latencies.sort((a, b) => a - b);
const pct = (p: number): number =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
const result: BurstResult & Record<string, unknown> = {
  mode,
  nice,
  curls: n,
  synsSeen: syns,
  ...tally,
  medianMs: Number(pct(50).toFixed(2)),
  p99Ms: Number(pct(99).toFixed(2)),
  reasons: Object.fromEntries(reasons),
  stats: attributor.stats,
  frames,
  synsCaptured: lookups.length,
  clientsLaunched: truth.size,
};
console.log(JSON.stringify(result));
process.exit(0);

/** Lone mode: one JSON line with the tally and the median timeline (ms after the lookup). */
function reportLone(): void {
  const tally = { right: 0, wrong: 0, exited: 0, unknown: 0 };
  const reasons = new Map<string, number>();
  const phases = new Map<string, number[]>();
  const perLookup: string[] = [];
  loneLookups.forEach((l, k) => {
    const r = l.result;
    if (r === undefined) return;
    if (r.status === 'ok') {
      if (r.process.pid === loneTruth[k]) tally.right += 1;
      else tally.wrong += 1;
    } else {
      tally[r.status] += 1;
      const key = `${r.status}: ${r.reason.replace(/\d+/g, 'N')}`;
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
    // Phases of this lookup's first pass: from its lookup() call to its answer.
    const steps = timeline.filter((e) => e.t >= l.lookupT && e.t <= l.doneT);
    const seen = new Set<string>();
    const line = [`frame->lookup ${(l.lookupT - l.frameT).toFixed(2)}`];
    for (const e of steps) {
      if (seen.has(e.phase)) continue;
      seen.add(e.phase);
      const list = phases.get(e.phase) ?? [];
      list.push(e.t - l.lookupT);
      phases.set(e.phase, list);
      line.push(`${e.phase} ${(e.t - l.lookupT).toFixed(2)}`);
    }
    line.push(`done ${(l.doneT - l.lookupT).toFixed(2)} ${r.status}`);
    perLookup.push(line.join(', '));
  });
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return Number((s[Math.floor(s.length / 2)] ?? NaN).toFixed(2));
  };
  const result: LoneResult & Record<string, unknown> = {
    mode,
    nice,
    lone,
    clients: loneTruth.length,
    synsSeen: loneLookups.length,
    ...tally,
    reasons: Object.fromEntries(reasons),
    timelineMedianMs: Object.fromEntries(
      [...phases].map(([k, v]) => [k.startsWith('lookup') ? 'lookup' : k, median(v)]),
    ),
    frameToLookupMs: median(loneLookups.map((l) => l.lookupT - l.frameT)),
    doneMs: median(loneLookups.map((l) => l.doneT - l.lookupT)),
    perLookup,
    stats: attributor.stats,
  };
  console.log(JSON.stringify(result));
}
