import type { ImdsRequestRecord } from '../pipeline/record.js';
import { escapeControl } from './sanitize.js';
import type { RollupEvent } from './rollup.js';
import { textLine } from './text-line.js';

/**
 * Lines for systemd's stdout-to-journal stream: a `<N>` syslog priority prefix per line sets
 * the journal priority, so `journalctl -u imds-analyzer -p warning` lists the IMDSv1 calls.
 * Each helper returns exactly one line (no newline inside, none at the end).
 */

export const PRIORITY = { error: 3, warning: 4, info: 6 } as const;

/** `<4>` for v1 calls (the finding), `<6>` for v2 and token requests. */
export function journalLine(record: ImdsRequestRecord): string {
  const priority = record.classification.kind === 'v1' ? PRIORITY.warning : PRIORITY.info;
  return `<${priority}>${textLine(record)}`;
}

/** `<3>` line for an error; newlines and control characters in the message are escaped. */
export function journalError(message: string): string {
  return `<${PRIORITY.error}>${escapeControl(message)}`;
}

/** `<6>` line for start-up facts, readiness ("capturing on eth0") and the like. */
export function journalInfo(message: string): string {
  return `<${PRIORITY.info}>${escapeControl(message)}`;
}

/** Roll-up of repeated calls: repeats of v1 calls stay at warning priority. */
export function journalRollupLine(event: RollupEvent): string {
  const priority = event.imds.kind === 'v1' ? PRIORITY.warning : PRIORITY.info;
  const r = event.imds.rollup;
  const path = event.url?.path ?? '(several paths)';
  return `<${priority}>${escapeControl(
    `${event.imds.kind} ${path} repeated ${r.count} times in ${r.interval_s} s by ${event.imds.identity}`,
  )}`;
}
