/** Stable codes for errors the command reports to the user (one line, exit status 2). */
export type CliErrorCode = 'ERR_USAGE' | 'ERR_CONFIG' | 'ERR_PRIVILEGE';

/** A mistake in the command line or the configuration file: one sentence, exit status 2. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: CliErrorCode,
    message: string,
  ) {
    super(message);
  }
}
