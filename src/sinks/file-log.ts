import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { MESSAGE } from 'triple-beam';
import winston from 'winston';

/**
 * The daemon's JSON log: one event per line through a winston File transport, rotated by size
 * the way logrotate's numbered scheme and winston's `tailable` do it: the live file keeps its
 * name, older ones are name1.log (newest) ... name<maxFiles-1>.log; `maxFiles` files in all.
 *
 * - Rotation is ours, not winston's: winston's own size rotation loses or stalls lines when
 *   events arrive while it rotates (its `_rotate` flag can stay set for good; ending a Logger
 *   mid-rotation writes after end). We feed the transport one line at a time, and before a
 *   line that would take the live file past `maxSize` we end the transport (flushed), shift
 *   the files and open a new one. So no file passes `maxSize` (unless one line is larger).
 * - Exactly the event JSON per line: the line is handed to the transport as its MESSAGE, no
 *   level or timestamp fields are added.
 * - Files are 0640 whatever the umask (winston opens them itself; we chmod on each open), the
 *   directory is created 0750 when missing.
 * - Writability is checked by openFileLog() before the first event, so a bad path fails at
 *   start with ERR_LOG_UNWRITABLE instead of losing events later (winston only debug-logs
 *   write errors).
 * - close() resolves once every line is written and the live file is fsync'd (SIGTERM path).
 */

export interface FileLogOptions {
  readonly path: string;
  /** Rotate before a line would take the live file past this many bytes. */
  readonly maxSize: number;
  /** Files kept, the live one included. */
  readonly maxFiles: number;
  readonly fileMode?: number;
  readonly dirMode?: number;
  /** Runtime failures after start (rare: the disk went away); the caller prints a `<3>` line. */
  readonly onError?: (error: FileLogError) => void;
}

export type FileLogErrorCode = 'ERR_LOG_UNWRITABLE' | 'ERR_LOG_OPTIONS';

/** A log-file failure with a stable code and one sentence naming the path and the fix. */
export class FileLogError extends Error {
  override readonly name = 'FileLogError';
  constructor(
    readonly code: FileLogErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export const DEFAULT_FILE_MODE = 0o640;
export const DEFAULT_DIR_MODE = 0o750;

export interface FileLog {
  /** Appends one event as one JSON line. */
  write(event: object): void;
  /** Appends one already serialised JSON line (no newline). */
  writeLine(line: string): void;
  /** Resolves when everything written is on disk; later writes are ignored. */
  close(): Promise<void>;
  /**
   * After logrotate moved the file away (SIGHUP): lines queued so far go to the moved file,
   * later ones to a new file at the path. Nothing is lost, unlike copytruncate.
   */
  reopen(): void;
  /** Lines dropped because the disk did not keep up (bounded queue); 0 in normal operation. */
  readonly droppedLines: number;
}

export async function openFileLog(options: FileLogOptions): Promise<FileLog> {
  const file = path.resolve(options.path);
  if (!Number.isInteger(options.maxSize) || options.maxSize < 1) {
    throw new FileLogError(
      'ERR_LOG_OPTIONS',
      file,
      'the log max size must be a positive number of bytes (--log-max-size)',
    );
  }
  if (!Number.isInteger(options.maxFiles) || options.maxFiles < 1) {
    throw new FileLogError(
      'ERR_LOG_OPTIONS',
      file,
      'the number of log files kept must be at least 1 (--log-max-files)',
    );
  }
  const fileMode = options.fileMode ?? DEFAULT_FILE_MODE;
  const size = await ensureWritable(file, fileMode, options.dirMode ?? DEFAULT_DIR_MODE);
  return new RotatingFileLog(file, options, fileMode, size);
}

/**
 * Bytes held while the disk is slower than the events or a file is being rotated; past it
 * lines are dropped and counted (`droppedLines`) rather than growing memory without bound.
 */
const MAX_QUEUED_BYTES = 32 * 1024 * 1024;

type FileTransport = InstanceType<typeof winston.transports.File>;

/** One winston File transport for one file, fed one line at a time so we know when it is idle. */
interface Current {
  readonly transport: FileTransport;
  readonly log: (info: object, callback: () => void) => void;
  accepted: number;
  logged: number;
}

class RotatingFileLog implements FileLog {
  readonly #file: string;
  readonly #options: FileLogOptions;
  readonly #fileMode: number;
  readonly #queue: string[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  #size: number;
  #current: Current;
  #busy = false;
  #rotating = false;
  #reopenWanted = false;
  #closing: Promise<void> | undefined;
  #dropped = 0;
  readonly #pendingChmods = new Set<Promise<void>>();
  #progress: (() => void) | undefined;

  constructor(file: string, options: FileLogOptions, fileMode: number, size: number) {
    this.#file = file;
    this.#options = options;
    this.#fileMode = fileMode;
    this.#size = size;
    this.#current = this.#openTransport();
  }

  /** Lines dropped because the queue was full (disk too slow for the events). */
  get droppedLines(): number {
    return this.#dropped;
  }

  write(event: object): void {
    this.writeLine(JSON.stringify(event));
  }

  writeLine(line: string): void {
    if (this.#closing !== undefined) return;
    if (this.#queuedBytes + line.length > MAX_QUEUED_BYTES) {
      this.#dropped++;
      return;
    }
    this.#queue.push(line);
    this.#queuedBytes += line.length;
    this.#pump();
  }

  close(): Promise<void> {
    this.#closing ??= this.#finish();
    return this.#closing;
  }

  reopen(): void {
    if (this.#closing !== undefined) return;
    this.#reopenWanted = true;
    this.#pump();
  }

  #openTransport(): Current {
    const transport = new winston.transports.File({
      filename: this.#file,
      options: { flags: 'a', mode: this.#fileMode },
    });
    const log = transport.log?.bind(transport);
    if (log === undefined) throw new Error('winston File transport without log()');
    const current: Current = { transport, log, accepted: 0, logged: 0 };
    transport.on('open', (opened: string) => {
      const p = chmod(opened, this.#fileMode)
        .catch((error: unknown) => {
          this.#options.onError?.(unwritable(opened, error));
        })
        .finally(() => this.#pendingChmods.delete(p));
      this.#pendingChmods.add(p);
      this.#wake();
    });
    transport.on('logged', () => {
      current.logged++;
      this.#wake();
    });
    transport.on('error', (error: unknown) => {
      this.#options.onError?.(unwritable(this.#file, error));
    });
    return current;
  }

  #pump(): void {
    if (this.#reopenWanted && !this.#busy && !this.#rotating) {
      this.#reopenWanted = false;
      this.#switchFile(() => this.#reopenFile());
      return;
    }
    while (!this.#busy && !this.#rotating && this.#queueHead < this.#queue.length) {
      const line = this.#queue[this.#queueHead] ?? '';
      const bytes = Buffer.byteLength(line) + 1;
      if (this.#size > 0 && this.#size + bytes > this.#options.maxSize) {
        this.#switchFile(() => this.#rotate());
        return;
      }
      this.#queueHead++;
      this.#queuedBytes -= line.length;
      this.#size += bytes;
      this.#busy = true;
      let sync = true;
      const current = this.#current;
      // MESSAGE is what the File transport writes: the line exactly, no level or timestamp.
      current.log({ level: 'info', message: line, [MESSAGE]: line }, () => {
        current.accepted++;
        this.#busy = false;
        this.#wake();
        if (!sync) this.#pump();
      });
      sync = false;
    }
    if (this.#queueHead >= this.#queue.length) {
      this.#queue.length = 0;
      this.#queueHead = 0;
    }
  }

  /** Holds writes while `change` swaps the live file, then resumes. */
  #switchFile(change: () => Promise<void>): void {
    this.#rotating = true;
    void change().finally(() => {
      this.#rotating = false;
      this.#wake();
      this.#pump();
    });
  }

  /** Ends the live file (flushed), shifts name.log -> name1.log ..., opens a new live file. */
  async #rotate(): Promise<void> {
    await this.#endCurrent();
    try {
      await shiftFiles(this.#file, this.#options.maxFiles);
    } catch (error) {
      // Keep logging into the live file: losing rotation beats losing events.
      this.#options.onError?.(unwritable(this.#file, error));
    }
    await this.#openLive();
  }

  /** Ends the (moved) live file, flushed, and opens whatever is at the path now. */
  async #reopenFile(): Promise<void> {
    await this.#endCurrent();
    await this.#openLive();
  }

  async #openLive(): Promise<void> {
    this.#size = await stat(this.#file).then(
      (s) => s.size,
      () => 0,
    );
    this.#current = this.#openTransport();
  }

  /** Waits until the live transport has taken every line, then ends it and its file stream. */
  async #endCurrent(): Promise<void> {
    const current = this.#current;
    await this.#until(() => !this.#busy && current.logged >= current.accepted);
    // The transport finishes only after its file stream has flushed (winston >= 3.13).
    await new Promise<void>((resolve) => {
      current.transport.once('finish', resolve);
      current.transport.end();
    });
  }

  async #finish(): Promise<void> {
    await this.#until(
      () => !this.#rotating && !this.#busy && this.#queueHead >= this.#queue.length,
    );
    await this.#endCurrent();
    await Promise.all(this.#pendingChmods);
    await fsyncFile(this.#file);
  }

  /** Resolves once `done()` holds; re-checked on every transport event (and every 50 ms). */
  async #until(done: () => boolean): Promise<void> {
    while (!done()) {
      await new Promise<void>((resolve) => {
        this.#progress = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  #wake(): void {
    const p = this.#progress;
    this.#progress = undefined;
    p?.();
  }
}

/** name.log -> name1.log -> ... -> name<maxFiles-1>.log (the oldest is overwritten). */
async function shiftFiles(file: string, maxFiles: number): Promise<void> {
  if (maxFiles <= 1) {
    await unlink(file);
    return;
  }
  const ext = path.extname(file);
  const base = file.slice(0, file.length - ext.length);
  const numbered = (i: number): string => `${base}${i}${ext}`;
  for (let i = maxFiles - 1; i >= 2; i--) {
    await rename(numbered(i - 1), numbered(i)).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    });
  }
  await rename(file, numbered(1));
}

/**
 * Creates the directory (0750) if missing, proves the file can be opened for append and the
 * directory written (rotation renames); returns the live file's current size.
 */
async function ensureWritable(file: string, fileMode: number, dirMode: number): Promise<number> {
  const dir = path.dirname(file);
  try {
    await makeDirs(dir, dirMode);
    const info = await stat(file).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    });
    if (info?.isDirectory() === true) {
      throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    }
    const handle = await open(file, 'a', fileMode);
    await handle.close();
    if (info === undefined) await chmod(file, fileMode);
    // Rotation renames files, which needs write access to the directory too.
    await access(dir, fsConstants.W_OK | fsConstants.X_OK);
    return info?.size ?? 0;
  } catch (error) {
    throw unwritable(file, error);
  }
}

/**
 * mkdir -p with `mode` on each created directory. Not fs.mkdir({recursive}): on Node 20 it
 * spins forever on paths under /proc/sys (mkdir there fails ENOENT with the parent present).
 */
async function makeDirs(dir: string, mode: number): Promise<void> {
  const missing: string[] = [];
  let current = dir;
  for (;;) {
    try {
      const info = await stat(current);
      if (!info.isDirectory()) {
        throw Object.assign(new Error(`${current} is not a directory`), { code: 'ENOTDIR' });
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.push(current);
      const parent = path.dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d, { mode });
      await chmod(d, mode); // whatever the umask
    } catch (error) {
      // Another process may have created it meanwhile.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

function unwritable(file: string, error: unknown): FileLogError {
  const e = error as NodeJS.ErrnoException;
  const why = e.code ?? (e instanceof Error ? e.message : String(error));
  return new FileLogError(
    'ERR_LOG_UNWRITABLE',
    file,
    `cannot write the log file ${file} (${why}): make ${path.dirname(file)} writable by the service user or choose another path with --log-file`,
  );
}

async function fsyncFile(file: string): Promise<void> {
  try {
    const handle = await open(file, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Nothing written yet or the file was rotated away at the very end: nothing to sync.
  }
}
