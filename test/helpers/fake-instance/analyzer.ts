/**
 * Runs the BUILT imds-analyzer (`node dist/src/cli/main.js`) as a separate process inside the
 * instance namespace, as an operator would: daemon mode (log file, SIGTERM) and one-shot mode
 * (--duration, stdout, exit status).
 */
import { mkdir, readdir, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { run, type Netns } from '../netns.js';
import { REPO_ROOT } from './clients.js';

export const ANALYZER_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/** A parsed JSON line of the analyzer's output; fields are read with `field()`. */
export type AnalyzerEvent = Record<string, unknown>;

/** A dotted ECS path ("http.request.method") read from a nested event. */
export function field(e: AnalyzerEvent, path: string): unknown {
  let cur: unknown = e;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestMtime(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, (await stat(p)).mtimeMs);
  }
  return newest;
}

/**
 * Builds the command (tsc) when dist is missing or older than src, once across parallel test
 * files (a mkdir lock). A clean checkout therefore runs green through `npm test` alone. Type
 * errors elsewhere do not stop tsc from emitting; a missing main.js fails the test.
 */
export async function ensureBuilt(): Promise<void> {
  const lock = join(REPO_ROOT, '.e2e-build.lock');
  const deadline = Date.now() + 240_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      // A lock older than any build is left by a killed run: take it over.
      const age = await stat(lock).then(
        (st) => Date.now() - st.mtimeMs,
        () => 0,
      );
      if (age > 300_000) await rmdir(lock).catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`build lock ${lock} held too long: remove it`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    const built = await stat(ANALYZER_MAIN).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if (built === 0 || (await newestMtime(join(REPO_ROOT, 'src'))) > built) {
      const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      await run(process.execPath, [tsc, '-p', join(REPO_ROOT, 'tsconfig.json')], 240_000);
    }
    await stat(ANALYZER_MAIN).catch(() => {
      throw new Error(`${ANALYZER_MAIN} missing after tsc: the CLI does not build`);
    });
  } finally {
    await rmdir(lock);
  }
}

interface Output {
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcess): Output {
  const out: Output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (b: Buffer) => (out.stdout += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out.stderr += b.toString()));
  return out;
}

function waitFor(
  child: ChildProcess,
  out: Output,
  stream: 'stdout' | 'stderr',
  needle: RegExp,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (needle.test(out[stream])) {
        finish();
        resolve();
      }
    };
    const onExit = (code: number | null): void => {
      finish();
      reject(new Error(`analyzer exited (${code}) before ${needle}: ${out.stderr.slice(-2000)}`));
    };
    const timer = setTimeout(() => {
      finish();
      reject(
        new Error(
          `analyzer not ready (${needle}) after ${timeoutMs} ms: ${out.stderr.slice(-2000)}`,
        ),
      );
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      child[stream]?.off('data', check);
      child.off('exit', onExit);
    };
    child[stream]?.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else
      child.once('exit', (code) => {
        resolve(code);
      });
  });
}

export function parseJsonLines(text: string): AnalyzerEvent[] {
  const events: AnalyzerEvent[] = [];
  for (const line of text.split('\n')) {
    const s = line.trim();
    if (!s.startsWith('{')) continue;
    try {
      events.push(JSON.parse(s) as AnalyzerEvent);
    } catch {
      // not a JSON line (a human line that starts with a brace): ignored on purpose
    }
  }
  return events;
}

export interface AnalyzerResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Daemon {
  readonly pid: number;
  /** SIGTERM, wait for exit; the log file is read by the caller. */
  stop(): Promise<AnalyzerResult>;
  /** Kills it if still running (teardown path). */
  kill(): void;
}

/** Starts the built command inside `ns`, collecting its output; `kill` ends it by pid. */
function spawnAnalyzer(ns: Netns, args: readonly string[]) {
  const child = ns.spawn(process.execPath, [ANALYZER_MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: REPO_ROOT,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('analyzer did not start');
  const out = collect(child);
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
  };
  return { child, pid, out, kill };
}

/** Starts daemon mode (no --duration/--read) and waits for `capturing on <iface>` on stdout. */
export async function startDaemon(ns: Netns, args: readonly string[]): Promise<Daemon> {
  const { child, pid, out, kill } = spawnAnalyzer(ns, args);
  try {
    await waitFor(child, out, 'stdout', /capturing on \S+/, 20_000);
  } catch (err) {
    kill();
    throw err;
  }
  return {
    pid,
    kill,
    async stop() {
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(kill, 15_000);
      const code = await exitOf(child);
      clearTimeout(timer);
      return { code, ...out };
    },
  };
}

/**
 * One-shot mode: starts `--duration`, waits for `capturing on` on stderr, runs `during`, then
 * waits for the command to end by itself.
 */
export async function runOneShot<T>(
  ns: Netns,
  args: readonly string[],
  during: () => Promise<T>,
): Promise<AnalyzerResult & { during: T; pid: number }> {
  const { child, pid, out, kill } = spawnAnalyzer(ns, args);
  try {
    await waitFor(child, out, 'stderr', /capturing on \S+/, 20_000);
    const result = await during();
    const timer = setTimeout(kill, 60_000);
    const code = await exitOf(child);
    clearTimeout(timer);
    return { code, ...out, during: result, pid };
  } catch (err) {
    kill();
    throw err;
  }
}
