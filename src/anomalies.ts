/**
 * Named, counted anomalies (Zeek calls them "weirds"). Every stage reports malformed or
 * dropped input here instead of throwing, so one bad packet never hides the others and the
 * summary can say exactly what was skipped.
 *
 * Names are `<stage>.<what>` in snake_case, e.g. `decode.truncated_ipv4`, `http.head_too_large`.
 */
export class Anomalies {
  readonly #counts = new Map<string, number>();

  count(name: string, n = 1): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + n);
  }

  get(name: string): number {
    return this.#counts.get(name) ?? 0;
  }

  /** Counts sorted by name, for summaries and metrics. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  total(): number {
    let sum = 0;
    for (const n of this.#counts.values()) sum += n;
    return sum;
  }
}
