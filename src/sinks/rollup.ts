import type { ImdsKind } from '../classify/classification.js';
import type { ImdsRequestRecord } from '../pipeline/record.js';
import type { EcsUser, HostFacts } from './ecs-event.js';
import { ecsUser, isoTime } from './ecs-event.js';
import { processIdentity } from './process-identity.js';
import { processView, requestView, userOf } from './record-view.js';

/**
 * Daemon-mode flood control. The first sighting of each (process identity, kind, path) is
 * logged in full by the caller at once; later calls with the same key are only counted and
 * reported as one `imds-rollup` event per key at the end of each interval. Counts are exact:
 * every offered record is either a 'first' (one full event) or counted in exactly one roll-up.
 *
 * Timer-free: the caller passes the clock to offer() and calls flush() at interval ends
 * (see RollupScheduler), so tests drive it with numbers.
 *
 * Memory is bounded twice: the set of keys already seen is an LRU of `maxKeys` (a key pushed
 * out is simply logged in full again when it comes back), and the per-interval counters hold
 * at most `maxKeys` keys; repeats of further keys go into one overflow aggregate per kind.
 */

export interface RollupEvent {
  readonly '@timestamp': string;
  readonly event: {
    readonly kind: 'metric';
    readonly category: readonly ['network'];
    readonly action: 'imds-rollup';
  };
  readonly imds: {
    readonly kind: ImdsKind;
    /** Process identity label; "(other keys)" for the overflow aggregate. */
    readonly identity: string;
    readonly rollup: {
      readonly count: number;
      readonly first_seen: string;
      readonly last_seen: string;
      readonly interval_s: number;
      /** Response statuses of the counted calls ("none" when no response was seen). */
      readonly statuses: Readonly<Record<string, number>>;
      /** Present on the overflow aggregate: how many distinct keys it folds together. */
      readonly overflow_keys?: number;
    };
    readonly attribution?: { readonly status: 'ok' | 'exited' | 'unknown' };
  };
  readonly url?: { readonly path: string };
  readonly host?: { readonly hostname: string };
  readonly source?: { readonly ip: string };
  readonly process?: {
    readonly pid: number;
    readonly name: string;
    readonly executable?: string;
    readonly command_line: string;
  };
  readonly user?: EcsUser;
  readonly container?: { readonly id: string; readonly runtime: string };
}

export interface RollupOptions {
  /** Most keys remembered and most keys counted per interval (default 10 000). */
  readonly maxKeys?: number;
  /** Added as host.hostname to every roll-up event. */
  readonly host?: HostFacts;
}

interface Bucket {
  count: number;
  firstMs: number;
  lastMs: number;
  statuses: Map<string, number>;
  last: ImdsRequestRecord;
  label: string;
  kind: ImdsKind;
  path: string;
}

interface OverflowBucket {
  count: number;
  firstMs: number;
  lastMs: number;
  statuses: Map<string, number>;
  keys: Set<string> | number;
}

export const DEFAULT_ROLLUP_MAX_KEYS = 10_000;
/** Distinct keys tracked by an overflow aggregate before it only counts them approximately. */
const OVERFLOW_DISTINCT_CAP = 10_000;

export class Rollup {
  readonly #intervalMs: number;
  readonly #emit: (event: RollupEvent) => void;
  readonly #maxKeys: number;
  readonly #host: HostFacts | undefined;
  /** Keys already logged in full, least recently used first. */
  readonly #seen = new Map<string, true>();
  readonly #buckets = new Map<string, Bucket>();
  readonly #overflow = new Map<ImdsKind, OverflowBucket>();
  #seenEvicted = 0;

  constructor(intervalMs: number, emit: (event: RollupEvent) => void, options: RollupOptions = {}) {
    if (!(intervalMs > 0)) throw new RangeError('roll-up interval must be positive');
    this.#intervalMs = intervalMs;
    this.#emit = emit;
    this.#maxKeys = Math.max(1, options.maxKeys ?? DEFAULT_ROLLUP_MAX_KEYS);
    this.#host = options.host;
  }

  /** 'first': log this record in full now. 'repeat': it is counted for the next flush. */
  offer(record: ImdsRequestRecord, now: number): 'first' | 'repeat' {
    const identity = processIdentity(record);
    const kind = record.classification.kind;
    const path = requestView(record).path;
    const key = JSON.stringify([identity.key, kind, path]);

    if (!this.#seen.has(key)) {
      this.#seen.set(key, true);
      if (this.#seen.size > this.#maxKeys) {
        const oldest = this.#seen.keys().next().value;
        if (oldest !== undefined) this.#seen.delete(oldest);
        this.#seenEvicted++;
      }
      return 'first';
    }
    // Refresh its LRU position.
    this.#seen.delete(key);
    this.#seen.set(key, true);

    const status = statusKey(record);
    const bucket = this.#buckets.get(key);
    if (bucket !== undefined) {
      bucket.count++;
      bucket.lastMs = now;
      bucket.last = record;
      bump(bucket.statuses, status);
      return 'repeat';
    }
    if (this.#buckets.size < this.#maxKeys) {
      this.#buckets.set(key, {
        count: 1,
        firstMs: now,
        lastMs: now,
        statuses: new Map([[status, 1]]),
        last: record,
        label: identity.label,
        kind,
        path,
      });
      return 'repeat';
    }
    this.#countOverflow(kind, key, status, now);
    return 'repeat';
  }

  /** Emits one event per key counted since the last flush (and the overflow), then resets. */
  flush(now: number): void {
    const timestamp = isoTime(now);
    const intervalS = this.#intervalMs / 1000;
    for (const b of this.#buckets.values()) {
      this.#emit(this.#bucketEvent(b, timestamp, intervalS));
    }
    this.#buckets.clear();
    for (const [kind, o] of this.#overflow) {
      this.#emit({
        '@timestamp': timestamp,
        event: { kind: 'metric', category: ['network'], action: 'imds-rollup' },
        imds: {
          kind,
          identity: '(other keys)',
          rollup: {
            count: o.count,
            first_seen: isoTime(o.firstMs),
            last_seen: isoTime(o.lastMs),
            interval_s: intervalS,
            statuses: Object.fromEntries(o.statuses),
            overflow_keys: typeof o.keys === 'number' ? o.keys : o.keys.size,
          },
        },
        ...(this.#host !== undefined && { host: { hostname: this.#host.hostname } }),
      });
    }
    this.#overflow.clear();
  }

  /** Keys pending for the next flush (for metrics and tests). */
  get pendingKeys(): number {
    return this.#buckets.size + this.#overflow.size;
  }

  /** Keys pushed out of the seen-set (each is logged in full again if it comes back). */
  get seenEvicted(): number {
    return this.#seenEvicted;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  #countOverflow(kind: ImdsKind, key: string, status: string, now: number): void {
    let o = this.#overflow.get(kind);
    if (o === undefined) {
      o = { count: 0, firstMs: now, lastMs: now, statuses: new Map(), keys: new Set() };
      this.#overflow.set(kind, o);
    }
    o.count++;
    o.lastMs = now;
    bump(o.statuses, status);
    if (typeof o.keys !== 'number') {
      o.keys.add(key);
      // Past the cap the distinct count becomes a lower bound; the call counts stay exact.
      if (o.keys.size >= OVERFLOW_DISTINCT_CAP) o.keys = o.keys.size;
    }
  }

  #bucketEvent(b: Bucket, timestamp: string, intervalS: number): RollupEvent {
    const proc = processView(b.last);
    const user = userOf(b.last);
    return {
      '@timestamp': timestamp,
      event: { kind: 'metric', category: ['network'], action: 'imds-rollup' },
      imds: {
        kind: b.kind,
        identity: b.label,
        rollup: {
          count: b.count,
          first_seen: isoTime(b.firstMs),
          last_seen: isoTime(b.lastMs),
          interval_s: intervalS,
          statuses: Object.fromEntries(b.statuses),
        },
        attribution: { status: b.last.attribution.status },
      },
      url: { path: b.path },
      ...(this.#host !== undefined && { host: { hostname: this.#host.hostname } }),
      source: { ip: b.last.flow.client.ip },
      ...(proc !== undefined && {
        process: {
          pid: proc.pid,
          name: proc.name,
          ...(proc.executable !== undefined && { executable: proc.executable }),
          command_line: proc.commandLine,
        },
      }),
      ...(user !== undefined && { user: ecsUser(user) }),
      ...(proc?.container !== undefined && {
        container: { id: proc.container.id, runtime: proc.container.runtime },
      }),
    };
  }
}

function statusKey(record: ImdsRequestRecord): string {
  const status = record.exchange.response?.status ?? record.classification.status;
  return status === undefined ? 'none' : String(status);
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/**
 * Calls rollup.flush() every interval with the wall clock. Kept apart from Rollup so the core
 * stays timer-free; unref'd so it never keeps the process alive on its own.
 */
export class RollupScheduler {
  readonly #timer: NodeJS.Timeout;
  constructor(
    private readonly rollup: Rollup,
    private readonly clock: () => number = Date.now,
  ) {
    this.#timer = setInterval(() => {
      this.rollup.flush(this.clock());
    }, rollup.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and flushes what is pending (SIGTERM path). */
  stop(): void {
    clearInterval(this.#timer);
    this.rollup.flush(this.clock());
  }
}
