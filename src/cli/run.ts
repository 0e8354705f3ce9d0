/**
 * Parses options and runs the chosen mode. Returns the exit status:
 * 0 no IMDSv1 call seen, 1 IMDSv1 calls seen, 2 error or bad usage.
 */
import { parseOptions } from './options.js';
import { errorLine } from './report-error.js';
import { runBatch } from './run-batch.js';
import { runDaemon } from './run-daemon.js';

export const EXIT_CLEAN = 0;
export const EXIT_V1_SEEN = 1;
export const EXIT_ERROR = 2;

export async function run(argv: readonly string[]): Promise<number> {
  try {
    const options = await parseOptions(argv);
    if (options === undefined) return EXIT_CLEAN; // --help, --version, completion
    switch (options.mode) {
      case 'check-config':
        process.stdout.write(
          `imds-analyzer: configuration OK (${options.configPath ?? 'built-in defaults'})\n`,
        );
        return EXIT_CLEAN;
      case 'daemon':
        return await runDaemon(options);
      case 'oneshot':
      case 'offline':
        return await runBatch(options);
    }
  } catch (error) {
    process.stderr.write(`${errorLine(error)}\n`);
    return EXIT_ERROR;
  }
}
