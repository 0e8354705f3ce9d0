/** Runs the built command (dist/) as users do: a child process, its output and exit status. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** JSON Lines output split into request events and the final summary event. */
export function parseJsonOutput(stdout: string): {
  events: Record<string, unknown>[];
  summary: Record<string, unknown> | undefined;
} {
  const all = stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const action = (e: Record<string, unknown>): unknown => (e.event as { action?: unknown }).action;
  return {
    events: all.filter((e) => action(e) === 'imds-request'),
    summary: all.find((e) => action(e) === 'imds-summary'),
  };
}
