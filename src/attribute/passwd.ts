/** uid to user name from /etc/passwd, read once per process lifetime and on cache misses. */
import type { ProcFs } from './proc-fs.js';

export function parsePasswd(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    const uid = Number.parseInt(f[2] ?? '', 10);
    const name = f[0];
    if (name !== undefined && name !== '' && !Number.isNaN(uid) && !names.has(uid)) {
      names.set(uid, name);
    }
  }
  return names;
}

/** Caches /etc/passwd; re-reads it at most once per `minRereadMs` when a uid is not found. */
export class UserNames {
  #names: Map<number, string> | undefined;
  #readAt = 0;

  constructor(
    private readonly fs: ProcFs,
    private readonly path = '/etc/passwd',
    private readonly minRereadMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  name(uid: number): string | undefined {
    const known = this.#names?.get(uid);
    if (known !== undefined) return known;
    if (this.#names === undefined || this.now() - this.#readAt >= this.minRereadMs) {
      this.#names = parsePasswd(this.fs.readText(this.path) ?? '');
      this.#readAt = this.now();
    }
    return this.#names.get(uid);
  }
}
