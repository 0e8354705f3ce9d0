/**
 * The JSON line bench/attribution-worker.ts prints at the end of a run: read by the benchmark
 * (bench/attribution.ts) and by the attribution tests that drive the same worker.
 */

/** Counts shared by both modes: lookups answered with the right pid, a wrong one, or none. */
interface Tally {
  readonly mode: string;
  readonly nice: number;
  readonly synsSeen: number;
  readonly right: number;
  readonly wrong: number;
  readonly exited: number;
  readonly unknown: number;
  /** `<status>: <reason with digits as N>` -> count, for lookups that named no pid. */
  readonly reasons: Record<string, number>;
}

/** A burst of parallel curls plus one keep-alive client. */
export interface BurstResult extends Tally {
  readonly curls: number;
  readonly keepaliveRight: boolean;
  readonly medianMs: number;
  readonly p99Ms: number;
}

/** Lone clients one after the other, with the median timeline of a lookup. */
export interface LoneResult extends Tally {
  readonly lone: 'curl' | 'urllib' | undefined;
  readonly clients: number;
  /** Phase -> median ms after lookup(). */
  readonly timelineMedianMs: Record<string, number>;
  readonly frameToLookupMs: number;
  readonly doneMs: number;
}
