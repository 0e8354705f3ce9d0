/**
 * Command line and configuration file into one validated Options value.
 * Precedence: flag > configuration file > built-in default.
 */
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { readConfigFile } from './config-file.js';
import { CliError } from './usage-error.js';

export const DEFAULT_CONFIG_PATH = '/etc/imds-analyzer/imds-analyzer.conf';
export const DEFAULT_LOG_FILE = '/var/log/imds-analyzer/imds-calls.log';

export type AttributionMode = 'auto' | 'proc' | 'lsof' | 'none';
export type OutputFormat = 'json' | 'text';

interface Common {
  readonly interface: string | undefined;
  readonly attribution: AttributionMode;
  readonly format: OutputFormat;
  readonly logFile: string;
  readonly logMaxSize: number;
  readonly logMaxFiles: number;
  readonly rollupIntervalS: number;
  readonly maxFlows: number;
  readonly idleTimeoutS: number;
  /** Where the settings came from, for the start-up line. */
  readonly configPath: string | undefined;
}

export type Options =
  | (Common & { readonly mode: 'daemon' })
  | (Common & { readonly mode: 'oneshot'; readonly durationS: number })
  | (Common & { readonly mode: 'offline'; readonly readPath: string })
  | (Common & { readonly mode: 'check-config' });

/** Options the configuration file may set (the long flag names). */
const CONFIGURABLE = [
  'interface',
  'attribution',
  'format',
  'log-file',
  'log-max-size',
  'log-max-files',
  'rollup-interval',
  'max-flows',
  'idle-timeout',
] as const;
type Configurable = (typeof CONFIGURABLE)[number];

export function packageVersion(): string {
  const url = new URL('../../../package.json', import.meta.url);
  const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

function cli(argv: readonly string[]) {
  return yargs([...argv])
    .scriptName('imds-analyzer')
    .usage(
      '$0 [options]\n\nRecords every call to the EC2 Instance Metadata Service and names the process behind it.\n' +
        'Without --duration or --read it runs as a daemon (JSON log file + journald lines).',
    )
    .option('interface', {
      alias: 'i',
      type: 'string',
      describe: 'Interface to capture on, or "any" (default: the default-route interface)',
    })
    .option('read', {
      alias: 'r',
      type: 'string',
      describe: 'Analyse a pcap file instead of capturing',
      conflicts: ['duration', 'interface'],
    })
    .option('duration', {
      alias: 'd',
      type: 'number',
      describe: 'One-shot: capture for this many seconds, print events and a summary',
    })
    .option('format', {
      alias: 'f',
      choices: ['json', 'text'],
      describe: 'One-shot/offline output format (default text)',
    })
    .option('log-file', {
      type: 'string',
      describe: `Daemon JSON log (default ${DEFAULT_LOG_FILE})`,
    })
    .option('log-max-size', {
      type: 'string',
      describe: 'Rotate the log at this size: bytes or 10M, 512K, 1G (default 10M)',
    })
    .option('log-max-files', { type: 'number', describe: 'Rotated log files kept (default 5)' })
    .option('attribution', {
      choices: ['auto', 'proc', 'lsof', 'none'],
      describe: 'How to name processes (default auto)',
    })
    .option('rollup-interval', {
      type: 'number',
      describe: 'Daemon: seconds between roll-ups of repeated calls (default 60)',
    })
    .option('max-flows', {
      type: 'number',
      describe: 'Most TCP connections tracked at once (default 10000)',
    })
    .option('idle-timeout', {
      type: 'number',
      describe: 'Seconds before an idle connection is dropped (default 120)',
    })
    .option('config', {
      alias: 'c',
      type: 'string',
      describe: `Configuration file (default ${DEFAULT_CONFIG_PATH} if present)`,
    })
    .option('check-config', {
      type: 'boolean',
      describe: 'Validate the configuration and exit (0 valid, 2 invalid)',
    })
    .completion('completion', 'Print a bash completion script')
    .version(packageVersion())
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .strictOptions()
    .exitProcess(false)
    .fail((message, error) => {
      throw error instanceof CliError ? error : new CliError('ERR_USAGE', message || String(error));
    })
    .epilog(
      'Exit status: 0 no IMDSv1 call seen, 1 IMDSv1 calls seen, 2 error or bad usage.\nDocumentation: man imds-analyzer',
    );
}

/** Raw parsed flags: undefined where the user gave none. */
type Flags = Partial<Record<Configurable | 'read' | 'config', string>> & {
  readonly duration?: number;
  readonly 'check-config'?: boolean;
};

/**
 * Parses argv. Returns undefined when yargs already answered (--help, --version, completion):
 * the caller then exits 0.
 */
export async function parseOptions(argv: readonly string[]): Promise<Options | undefined> {
  // Assigned in yargs' callback, so an object: TypeScript cannot see the callback run.
  const answered = { output: '' };
  const parser = cli(argv);
  const parsed = (await parser.parseAsync(argv, {}, (err: Error | undefined, _argv, output) => {
    if (err === undefined) answered.output = output;
  })) as Record<string, unknown>;
  if (answered.output !== '') {
    process.stdout.write(answered.output.endsWith('\n') ? answered.output : `${answered.output}\n`);
    return undefined;
  }
  if (Array.isArray(parsed._) && parsed._.length > 0) {
    throw new CliError('ERR_USAGE', `unexpected argument "${String(parsed._[0])}"`);
  }
  return resolveOptions(parsed);
}

function resolveOptions(flags: Flags): Options {
  const configPath = flags.config ?? DEFAULT_CONFIG_PATH;
  const config = readConfigFile(configPath, flags.config !== undefined, new Set(CONFIGURABLE));
  const pick = (name: Configurable): string | undefined => {
    const flag = flags[name];
    return flag ?? config.get(name);
  };
  const common: Common = {
    interface: pick('interface'),
    attribution: oneOf(
      pick('attribution') ?? 'auto',
      ['auto', 'proc', 'lsof', 'none'],
      'attribution',
    ),
    format: oneOf(pick('format') ?? 'text', ['json', 'text'], 'format'),
    logFile: pick('log-file') ?? DEFAULT_LOG_FILE,
    logMaxSize: byteSize(pick('log-max-size') ?? '10M', 'log-max-size'),
    logMaxFiles: positiveInt(pick('log-max-files') ?? '5', 'log-max-files'),
    rollupIntervalS: positiveNumber(pick('rollup-interval') ?? '60', 'rollup-interval'),
    maxFlows: positiveInt(pick('max-flows') ?? '10000', 'max-flows'),
    idleTimeoutS: positiveNumber(pick('idle-timeout') ?? '120', 'idle-timeout'),
    configPath: config.size > 0 ? configPath : undefined,
  };
  if (flags['check-config'] === true) return { ...common, mode: 'check-config' };
  if (flags.read !== undefined) return { ...common, mode: 'offline', readPath: flags.read };
  if (flags.duration !== undefined) {
    return {
      ...common,
      mode: 'oneshot',
      durationS: positiveNumber(String(flags.duration), 'duration'),
    };
  }
  return { ...common, mode: 'daemon' };
}

function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) {
    throw new CliError(
      'ERR_USAGE',
      `--${name} must be one of ${allowed.join(', ')}, got "${value}"`,
    );
  }
  return found;
}

function positiveNumber(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new CliError('ERR_USAGE', `--${name} must be a positive number, got "${value}"`);
  }
  return n;
}

function positiveInt(value: string, name: string): number {
  const n = positiveNumber(value, name);
  if (!Number.isInteger(n))
    throw new CliError('ERR_USAGE', `--${name} must be a whole number, got "${value}"`);
  return n;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

function byteSize(value: string, name: string): number {
  const match = /^(\d+)\s*([KMG]?)i?B?$/i.exec(value.trim());
  const unit = SIZE_UNITS[(match?.[2] ?? '').toUpperCase()];
  if (match === null || unit === undefined || Number(match[1]) === 0) {
    throw new CliError(
      'ERR_USAGE',
      `--${name} must be a size such as 10485760 or 10M, got "${value}"`,
    );
  }
  return Number(match[1]) * unit;
}
