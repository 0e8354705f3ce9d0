/**
 * Turns any failure into the one line a user sees: `imds-analyzer: error <CODE>: <sentence>`.
 * Known errors carry a stable code; anything else is a bug, reported without a stack trace
 * unless IMDS_ANALYZER_DEBUG is set.
 */
export function errorLine(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
    if (error.code.startsWith('ERR_'))
      return `imds-analyzer: error ${error.code}: ${error.message}`;
  }
  const detail =
    process.env.IMDS_ANALYZER_DEBUG !== undefined && error instanceof Error
      ? (error.stack ?? error.message)
      : error instanceof Error
        ? error.message
        : String(error);
  return `imds-analyzer: error ERR_INTERNAL: ${detail} (please report this; set IMDS_ANALYZER_DEBUG=1 for details)`;
}
