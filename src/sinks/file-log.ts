import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, open, stat } from 'node:fs/promises';
import path from 'node:path';
import winston from 'winston';

/**
 * The daemon's JSON log: one event per line through winston's File transport, rotated by
 * size (tailable: the live file keeps its name, older ones are name1.log, name2.log ...; at
 * most `maxFiles` files in all, and never fewer than 2: rotation needs one old file).
 *
 * - Exactly the event JSON per line: the format prints the pre-serialised line as is, no
 *   level or timestamp fields are added.
 * - Files are 0640 whatever the umask (winston opens them itself; we chmod on every open,
 *   which covers rotation), the directory is created 0750 when missing.
 * - Writability is checked by openFileLog() before the first event, so a bad path fails at
 *   start with ERR_LOG_UNWRITABLE instead of losing events later (winston only debug-logs
 *   write errors).
 * - close() resolves once every line is written and the live file is fsync'd (SIGTERM path).
 */

export interface FileLogOptions {
  readonly path: string;
  /** Rotate when the live file reaches this many bytes. */
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
  await ensureWritable(file, fileMode, options.dirMode ?? DEFAULT_DIR_MODE);

  const transport = new winston.transports.File({
    filename: file,
    maxsize: options.maxSize,
    // winston's tailable rotation does nothing with maxFiles 1; 2 is the least that rotates.
    maxFiles: Math.max(2, options.maxFiles),
    tailable: true,
    options: { flags: 'a', mode: fileMode },
  });
  const pendingChmods = new Set<Promise<void>>();
  transport.on('open', (opened: string) => {
    const p = chmod(opened, fileMode)
      .catch((error: unknown) => {
        options.onError?.(unwritable(opened, error));
      })
      .finally(() => pendingChmods.delete(p));
    pendingChmods.add(p);
  });
  transport.on('error', (error: unknown) => {
    options.onError?.(unwritable(file, error));
  });

  const logger = winston.createLogger({
    level: 'info',
    // The event is serialised by us; the line is written exactly as given.
    format: winston.format.printf((info) => String(info.message)),
    transports: [transport],
  });
  let closing: Promise<void> | undefined;

  const writeLine = (line: string): void => {
    if (closing !== undefined) return;
    logger.info(line);
  };
  return {
    writeLine,
    write(event: object): void {
      writeLine(JSON.stringify(event));
    },
    close(): Promise<void> {
      closing ??= (async () => {
        // The transport finishes only after its file stream has flushed (winston >= 3.13).
        await new Promise<void>((resolve) => {
          transport.once('finish', () => {
            resolve();
          });
          logger.end();
        });
        await Promise.all(pendingChmods);
        await fsyncFile(file);
      })();
      return closing;
    },
  };
}

/** Creates the directory (0750) if missing and proves the file can be opened for append. */
async function ensureWritable(file: string, fileMode: number, dirMode: number): Promise<void> {
  const dir = path.dirname(file);
  try {
    await mkdir(dir, { recursive: true, mode: dirMode });
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
  } catch (error) {
    throw unwritable(file, error);
  }
}

function unwritable(file: string, error: unknown): FileLogError {
  const e = error as NodeJS.ErrnoException;
  const why = e.code !== undefined ? `${e.code}` : e instanceof Error ? e.message : String(error);
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
