import type { ClientVerdict, ImdsKind } from '../classify/classification.js';
import type { ImdsRequestRecord } from '../pipeline/record.js';
import type { EcsUser, HostFacts } from './ecs-event.js';
import { ecsUser, isoTime } from './ecs-event.js';
import { processIdentity } from './process-identity.js';
import { requestView, userOf } from './record-view.js';
import { bounded, safeText } from './sanitize.js';

/**
 * The end-of-run report of one-shot and offline modes: one entry per process identity, most
 * IMDSv1 calls first, then totals with what the capture skipped (drops, parse errors,
 * evictions). Bounded: past `maxIdentities` further clients are folded into one
 * "(other clients)" entry, so counts stay exact while memory does not grow.
 */

/** What the pipeline knows about the capture itself, passed in at the end. */
export interface CaptureFacts {
  /** "eth0", "any" or the pcap file name. */
  readonly source: string;
  readonly frames: number;
  /** Undefined when the source cannot tell (CaptureStats). */
  readonly kernelDropped: number | undefined;
  readonly interfaceDropped: number;
  /** Anomalies.snapshot(): `http.*` names count as parse errors, `flows.*evict*` as evictions. */
  readonly anomalies: Readonly<Record<string, number>>;
  /** Requests not reported again because their flow was a NAT twin of another. */
  readonly twinsSuppressed: number;
  readonly startMs?: number;
  readonly endMs?: number;
}

export interface SummaryOptions {
  readonly maxIdentities?: number;
  /** Distinct paths kept per identity (the count stays exact up to `maxPathsCounted`). */
  readonly maxPathsListed?: number;
  readonly host?: HostFacts;
}

type Counts = Record<ImdsKind, number>;
type AttributionCounts = Record<'ok' | 'exited' | 'unknown', number>;

interface Entry {
  readonly label: string;
  readonly overflow: boolean;
  readonly counts: Counts;
  readonly paths: Set<string>;
  pathsCapped: boolean;
  firstMs: number;
  lastMs: number;
  readonly statuses: Map<string, number>;
  readonly attribution: AttributionCounts;
  client: ClientVerdict | undefined;
  fallbacks: number;
  readonly pids: Set<number>;
  user: { uid: number; name: string | undefined } | undefined;
}

export interface SummaryClient {
  readonly identity: string;
  readonly overflow?: true;
  readonly requests: { total: number } & Counts;
  readonly paths: { count: number; list: string[]; capped?: true };
  readonly first_seen: string;
  readonly last_seen: string;
  readonly statuses: Record<string, number>;
  readonly attribution: AttributionCounts;
  readonly client?: {
    name: string;
    version?: string;
    supports_imdsv2?: boolean;
    hint: string;
  };
  readonly fallbacks: number;
  readonly pids: number[];
  readonly user?: EcsUser;
}

export interface SummaryEvent {
  readonly '@timestamp': string;
  readonly event: {
    readonly kind: 'metric';
    readonly category: readonly ['network'];
    readonly action: 'imds-summary';
    readonly start?: string;
    readonly end?: string;
  };
  readonly host?: { readonly hostname: string };
  readonly imds: {
    readonly summary: {
      readonly requests: { total: number } & Counts;
      readonly attribution: AttributionCounts;
      readonly fallbacks: number;
      readonly identities: number;
      readonly identities_overflow: number;
      readonly capture?: {
        source: string;
        frames: number;
        kernel_dropped?: number;
        interface_dropped: number;
        twins_suppressed: number;
        parse_errors: number;
        flow_evictions: number;
        anomalies: Record<string, number>;
      };
      readonly clients: SummaryClient[];
    };
  };
}

export const DEFAULT_MAX_IDENTITIES = 1000;
const MAX_PATHS_COUNTED = 1000;
const MAX_PIDS = 16;
const TEXT_PATHS = 5;
const OVERFLOW_KEYS_TRACKED = 10_000;

export class Summary {
  readonly #entries = new Map<string, Entry>();
  readonly #maxIdentities: number;
  readonly #maxPathsListed: number;
  readonly #host: HostFacts | undefined;
  readonly #overflowKeys = new Set<string>();
  #overflowKeyCount = 0;
  #overflowEntry: Entry | undefined;
  #capture: CaptureFacts | undefined;

  constructor(options: SummaryOptions = {}) {
    this.#maxIdentities = Math.max(1, options.maxIdentities ?? DEFAULT_MAX_IDENTITIES);
    this.#maxPathsListed = Math.max(1, options.maxPathsListed ?? 20);
    this.#host = options.host;
  }

  add(record: ImdsRequestRecord): void {
    const identity = processIdentity(record);
    let entry = this.#entries.get(identity.key);
    if (entry === undefined) {
      if (this.#entries.size < this.#maxIdentities) {
        entry = newEntry(identity.label, record, false);
        this.#entries.set(identity.key, entry);
      } else {
        this.#noteOverflow(identity.key);
        this.#overflowEntry ??= newEntry('(other clients)', record, true);
        entry = this.#overflowEntry;
      }
    }
    addTo(entry, record);
  }

  /** Capture facts known only at the end (frames, drops, anomalies, twins). */
  setCapture(facts: CaptureFacts): void {
    this.#capture = facts;
  }

  /** True when any IMDSv1 call was seen (exit status 1). */
  get v1Seen(): boolean {
    return this.#all().some((e) => e.counts.v1 > 0);
  }

  toEvent(nowMs: number = Date.now()): SummaryEvent {
    const entries = this.#sorted();
    const totals = { total: 0, v1: 0, v2: 0, token: 0 };
    const attribution = { ok: 0, exited: 0, unknown: 0 };
    let fallbacks = 0;
    for (const e of entries) {
      for (const k of ['v1', 'v2', 'token'] as const) totals[k] += e.counts[k];
      for (const k of ['ok', 'exited', 'unknown'] as const) attribution[k] += e.attribution[k];
      fallbacks += e.fallbacks;
    }
    totals.total = totals.v1 + totals.v2 + totals.token;
    const cap = this.#capture;
    return {
      '@timestamp': isoTime(cap?.endMs ?? nowMs),
      event: {
        kind: 'metric',
        category: ['network'],
        action: 'imds-summary',
        ...(cap?.startMs !== undefined && { start: isoTime(cap.startMs) }),
        ...(cap?.endMs !== undefined && { end: isoTime(cap.endMs) }),
      },
      ...(this.#host !== undefined && { host: { hostname: this.#host.hostname } }),
      imds: {
        summary: {
          requests: totals,
          attribution,
          fallbacks,
          identities: this.#entries.size + this.#overflowKeyCount,
          identities_overflow: this.#overflowKeyCount,
          ...(cap !== undefined && {
            capture: {
              source: cap.source,
              frames: cap.frames,
              ...(cap.kernelDropped !== undefined && { kernel_dropped: cap.kernelDropped }),
              interface_dropped: cap.interfaceDropped,
              twins_suppressed: cap.twinsSuppressed,
              parse_errors: parseErrors(cap.anomalies),
              flow_evictions: flowEvictions(cap.anomalies),
              anomalies: Object.fromEntries(
                Object.entries(cap.anomalies).sort(([a], [b]) => a.localeCompare(b)),
              ),
            },
          }),
          clients: entries.map((e) => this.#clientOf(e)),
        },
      },
    };
  }

  /** A readable report: one block per client (most v1 first), then totals. */
  renderText(): string {
    const ev = this.toEvent();
    const s = ev.imds.summary;
    const lines: string[] = [];
    lines.push(`IMDS calls by process (${s.identities} clients, most IMDSv1 calls first)`);
    if (s.clients.length === 0) lines.push('  (no IMDS request seen)');
    else lines.push(`  ${'v1'.padStart(6)} ${'v2'.padStart(6)} ${'token'.padStart(6)}  client`);
    for (const c of s.clients) {
      const pad = ' '.repeat(2 + 6 * 3 + 2 + 2);
      lines.push(
        `  ${num(c.requests.v1)} ${num(c.requests.v2)} ${num(c.requests.token)}  ${safeText(c.identity, 400)}`,
      );
      const statuses = Object.entries(c.statuses)
        .map(([k, n]) => `${k}:${n}`)
        .join(' ');
      const attribution = Object.entries(c.attribution)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      lines.push(
        `${pad}first ${clock(c.first_seen)}  last ${clock(c.last_seen)}  status ${statuses}  attribution ${attribution}`,
      );
      const shown = c.paths.list.slice(0, TEXT_PATHS).map((p) => safeText(p, 200));
      const more = c.paths.count - shown.length;
      lines.push(
        `${pad}paths (${c.paths.count}${c.paths.capped ? '+' : ''}): ${shown.join(', ')}${more > 0 ? `, +${more} more` : ''}`,
      );
      if (c.client !== undefined) {
        const name = `${c.client.name}${c.client.version === undefined ? '' : ` ${c.client.version}`}`;
        // The hint tells how to get off IMDSv1: a client that made no v1 call needs none.
        const advice = c.requests.v1 > 0 ? c.client.hint : 'uses IMDSv2 only';
        lines.push(`${pad}client ${safeText(name, 100)}: ${safeText(advice, 300)}`);
      }
      if (c.fallbacks > 0) {
        lines.push(`${pad}v1 fallback after a failed token request: ${c.fallbacks}`);
      }
    }
    lines.push('');
    lines.push('Totals');
    lines.push(
      `  requests          ${s.requests.total} (v1 ${s.requests.v1}, v2 ${s.requests.v2}, token ${s.requests.token})`,
    );
    lines.push(
      `  clients           ${s.identities}${s.identities_overflow > 0 ? ` (${s.identities_overflow} folded into "(other clients)")` : ''}`,
    );
    lines.push(
      `  attribution       ok ${s.attribution.ok}, exited ${s.attribution.exited}, unknown ${s.attribution.unknown}`,
    );
    lines.push(`  v1 fallbacks      ${s.fallbacks}`);
    if (s.capture !== undefined) {
      const c = s.capture;
      lines.push(
        `  capture           ${safeText(c.source, 200)}: ${c.frames} frames, kernel drops ${c.kernel_dropped ?? 'unknown'}, interface drops ${c.interface_dropped}`,
      );
      lines.push(`  parse errors      ${c.parse_errors}`);
      lines.push(`  flow evictions    ${c.flow_evictions}`);
      lines.push(
        `  NAT twins         ${c.twins_suppressed} (requests seen before and after NAT, reported once)`,
      );
      const anomalies = Object.entries(c.anomalies);
      lines.push(
        `  anomalies         ${anomalies.length === 0 ? 'none' : anomalies.map(([k, n]) => `${safeText(k, 100)} ${n}`).join(', ')}`,
      );
    }
    return lines.join('\n') + '\n';
  }

  #noteOverflow(key: string): void {
    if (this.#overflowKeys.has(key)) return;
    this.#overflowKeyCount++;
    // Past this many the count of folded identities is a lower bound; calls stay exact.
    if (this.#overflowKeys.size < OVERFLOW_KEYS_TRACKED) this.#overflowKeys.add(key);
  }

  #all(): Entry[] {
    const all = [...this.#entries.values()];
    if (this.#overflowEntry !== undefined) all.push(this.#overflowEntry);
    return all;
  }

  #sorted(): Entry[] {
    return this.#all().sort(
      (a, b) =>
        Number(a.overflow) - Number(b.overflow) ||
        b.counts.v1 - a.counts.v1 ||
        total(b) - total(a) ||
        (a.label < b.label ? -1 : a.label > b.label ? 1 : 0),
    );
  }

  #clientOf(e: Entry): SummaryClient {
    const list = [...e.paths].slice(0, this.#maxPathsListed);
    return {
      identity: e.label,
      ...(e.overflow && { overflow: true as const }),
      requests: { total: total(e), ...e.counts },
      paths: { count: e.paths.size, list, ...(e.pathsCapped && { capped: true as const }) },
      first_seen: isoTime(e.firstMs),
      last_seen: isoTime(e.lastMs),
      statuses: Object.fromEntries([...e.statuses].sort(([a], [b]) => a.localeCompare(b))),
      attribution: { ...e.attribution },
      ...(e.client !== undefined && {
        client: {
          name: e.client.name,
          ...(e.client.version !== undefined && { version: bounded(e.client.version, 64) }),
          ...(e.client.supportsImdsV2 !== undefined && {
            supports_imdsv2: e.client.supportsImdsV2,
          }),
          hint: e.client.hint,
        },
      }),
      fallbacks: e.fallbacks,
      pids: [...e.pids],
      ...(e.user !== undefined && { user: ecsUser(e.user) }),
    };
  }
}

function newEntry(label: string, record: ImdsRequestRecord, overflow: boolean): Entry {
  const t = record.exchange.request.timeMs;
  return {
    label,
    overflow,
    counts: { v1: 0, v2: 0, token: 0 },
    paths: new Set(),
    pathsCapped: false,
    firstMs: t,
    lastMs: t,
    statuses: new Map(),
    attribution: { ok: 0, exited: 0, unknown: 0 },
    client: undefined,
    fallbacks: 0,
    pids: new Set(),
    user: undefined,
  };
}

function addTo(e: Entry, record: ImdsRequestRecord): void {
  const t = record.exchange.request.timeMs;
  e.counts[record.classification.kind]++;
  const path = requestView(record).path;
  if (!e.paths.has(path)) {
    if (e.paths.size < MAX_PATHS_COUNTED) e.paths.add(path);
    else e.pathsCapped = true;
  }
  e.firstMs = Math.min(e.firstMs, t);
  e.lastMs = Math.max(e.lastMs, t);
  const status = record.exchange.response?.status ?? record.classification.status;
  const key = status === undefined ? 'none' : String(status);
  e.statuses.set(key, (e.statuses.get(key) ?? 0) + 1);
  e.attribution[record.attribution.status]++;
  // A named client beats "unknown": one request without a User-Agent must not hide the verdict.
  if (e.client === undefined || record.client.name !== 'unknown' || e.client.name === 'unknown') {
    e.client = record.client;
  }
  if (record.fallback !== undefined) e.fallbacks++;
  if (record.attribution.status === 'ok' && e.pids.size < MAX_PIDS) {
    e.pids.add(record.attribution.process.pid);
  }
  const user = userOf(record);
  if (user !== undefined) e.user = user;
}

function total(e: Entry): number {
  return e.counts.v1 + e.counts.v2 + e.counts.token;
}

function num(n: number): string {
  return String(n).padStart(6);
}

/** HH:MM:SS.mmm (UTC) of an ISO timestamp. */
function clock(iso: string): string {
  return iso.slice(11, 23);
}

export function parseErrors(anomalies: Readonly<Record<string, number>>): number {
  return sumWhere(anomalies, (name) => name.startsWith('http.'));
}

export function flowEvictions(anomalies: Readonly<Record<string, number>>): number {
  return sumWhere(anomalies, (name) => name.startsWith('flows.') && name.includes('evict'));
}

function sumWhere(
  anomalies: Readonly<Record<string, number>>,
  match: (name: string) => boolean,
): number {
  let sum = 0;
  for (const [name, n] of Object.entries(anomalies)) if (match(name)) sum += n;
  return sum;
}
