/** Compiles the project to dist/ once when a compiled script a test needs is missing or stale. */
import { readdirSync, statSync } from 'node:fs';
import { run } from '../helpers/netns.js';

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** `dist` paths of `sources` (e.g. 'test/attribute/probe.ts'), compiling when needed. */
export async function ensureBuilt(sources: readonly string[]): Promise<string[]> {
  const out = sources.map((s) => `dist/${s.replace(/\.ts$/, '.js')}`);
  // Stale when any output is older than its source or than any attribution source.
  const attribute = readdirSync('src/attribute').map((f) => `src/attribute/${f}`);
  const newestSource = Math.max(...[...sources, ...attribute].map(mtime));
  const stale = out.some((o) => mtime(o) < newestSource);
  // tsc emits even while other files have type errors; type checking is `npm run typecheck`.
  if (stale) await run('node_modules/.bin/tsc', ['-p', 'tsconfig.json'], 180_000);
  for (const o of out) if (mtime(o) === 0) throw new Error(`${o} was not built`);
  return out;
}
