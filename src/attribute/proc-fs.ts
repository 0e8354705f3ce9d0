/**
 * The only door from attribution to /proc and /etc/passwd. Everything goes through this small
 * interface so unit tests feed fixture text and the hot scan loop never sees an exception:
 * every method returns `undefined` (or an errno code) instead of throwing.
 */
import fs from 'node:fs';
import { readFile } from 'node:fs/promises';

/** A directory listing, or the errno code (ENOENT, EACCES, ...) that prevented it. */
export type DirListing = readonly string[] | { readonly error: string };

export interface ProcFs {
  /** Whole file as text; undefined when it cannot be read (gone, permission, ...). */
  readText(path: string): string | undefined;
  /** readText on the libuv thread pool, so the main thread can scan meanwhile. */
  readTextAsync(path: string): Promise<string | undefined>;
  readDir(path: string): DirListing;
  /** Link target; undefined when it cannot be read. */
  readLink(path: string): string | undefined;
  /** Owner uid of a path (for /proc/<pid>: the process's effective uid); undefined when gone. */
  ownerUid(path: string): number | undefined;
}

function errnoCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

/** The real file system. Paths are absolute (/proc/..., /etc/passwd). */
export const realProcFs: ProcFs = {
  readText(path) {
    try {
      return fs.readFileSync(path, 'latin1');
    } catch {
      return undefined;
    }
  },
  readTextAsync(path) {
    return readFile(path, 'latin1').catch(() => undefined);
  },
  readDir(path) {
    try {
      return fs.readdirSync(path);
    } catch (err) {
      return { error: errnoCode(err) };
    }
  },
  readLink(path) {
    try {
      return fs.readlinkSync(path);
    } catch {
      return undefined;
    }
  },
  ownerUid(path) {
    // throwIfNoEntry:false keeps the common "process already gone" case exception-free.
    try {
      return fs.statSync(path, { throwIfNoEntry: false })?.uid;
    } catch {
      return undefined;
    }
  },
};

/** True when a listing succeeded. */
export function isListing(l: DirListing): l is readonly string[] {
  return Array.isArray(l);
}

/**
 * An in-memory /proc for tests: files, directories and links from plain objects. A missing
 * directory lists as ENOENT; `denied` paths list as EACCES.
 */
export class FakeProcFs implements ProcFs {
  constructor(
    readonly files: Map<string, string> = new Map(),
    readonly links: Map<string, string> = new Map(),
    readonly denied: Set<string> = new Set(),
    readonly owners: Map<string, number> = new Map(),
  ) {}

  readText(path: string): string | undefined {
    return this.files.get(path);
  }

  readTextAsync(path: string): Promise<string | undefined> {
    return Promise.resolve(this.files.get(path));
  }

  readDir(path: string): DirListing {
    if (this.denied.has(path)) return { error: 'EACCES' };
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const names = new Set<string>();
    for (const p of [...this.files.keys(), ...this.links.keys()]) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      const name = rest.split('/')[0];
      if (name !== undefined && name !== '') names.add(name);
    }
    if (names.size === 0) return { error: 'ENOENT' };
    return [...names];
  }

  readLink(path: string): string | undefined {
    return this.links.get(path);
  }

  ownerUid(path: string): number | undefined {
    return this.owners.get(path);
  }
}
