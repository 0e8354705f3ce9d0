import { escapeControl } from '../sinks/sanitize.js';
import { PRIORITY } from '../sinks/journal-line.js';
import type { RollupEvent } from '../sinks/rollup.js';

/** Journal line for a roll-up: repeats of v1 calls stay at warning priority. */
export function rollupLine(event: RollupEvent): string {
  const priority = event.imds.kind === 'v1' ? PRIORITY.warning : PRIORITY.info;
  const r = event.imds.rollup;
  const path = event.url?.path ?? '(several paths)';
  return `<${priority}>${escapeControl(
    `${event.imds.kind} ${path} repeated ${r.count} times in ${r.interval_s} s by ${event.imds.identity}`,
  )}`;
}
