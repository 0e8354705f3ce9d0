import type { AncestorFacts, ProcessFacts } from '../attribute/attribution.js';
import { headerValue } from '../http/exchange.js';
import type { ImdsRequestRecord } from '../pipeline/record.js';
import { bounded, LIMITS, redactSecrets } from './sanitize.js';

/**
 * The process facts every sink shows, bounded and with token values redacted: a client that
 * passes its token on the command line (`curl -H "X-aws-ec2-metadata-token: ..."`) must not
 * leak it through process.args or an ancestor's command line.
 */
export interface ProcessView {
  readonly pid: number;
  readonly name: string;
  readonly executable: string | undefined;
  readonly args: readonly string[];
  readonly commandLine: string;
  readonly start: string;
  readonly parent: { readonly pid: number; readonly name: string } | undefined;
  readonly ancestors: readonly AncestorFacts[];
  readonly uid: number;
  readonly userName: string | undefined;
  readonly systemdUnit: string | undefined;
  readonly container: { readonly id: string; readonly runtime: string } | undefined;
  readonly podUid: string | undefined;
}

/** Token values this record knows of (the one a v2 request sent), for exact-match redaction. */
export function recordSecrets(record: ImdsRequestRecord): string[] {
  const sent = headerValue(record.exchange.request.headers, 'x-aws-ec2-metadata-token');
  return sent === undefined || sent === '' ? [] : [sent];
}

/** Bounded, redacted process facts; undefined unless attribution named the process. */
export function processView(record: ImdsRequestRecord): ProcessView | undefined {
  const attribution = record.attribution;
  if (attribution.status !== 'ok') return undefined;
  return viewOf(attribution.process, recordSecrets(record));
}

function viewOf(p: ProcessFacts, secrets: readonly string[]): ProcessView {
  const clean = (s: string, max: number): string => bounded(redactSecrets(s, secrets), max);
  const args = p.args.slice(0, LIMITS.args).map((a) => clean(a, LIMITS.arg));
  return {
    pid: p.pid,
    name: clean(p.name, LIMITS.name),
    executable: p.executable === undefined ? undefined : clean(p.executable, LIMITS.name * 4),
    args,
    commandLine: clean(p.commandLine, LIMITS.commandLine),
    start: p.start,
    parent: p.parent && { pid: p.parent.pid, name: clean(p.parent.name, LIMITS.name) },
    ancestors: p.ancestors.slice(0, LIMITS.ancestors).map((a) => ({
      pid: a.pid,
      name: clean(a.name, LIMITS.name),
      commandLine: clean(a.commandLine, LIMITS.commandLine),
    })),
    uid: p.uid,
    userName: p.userName,
    systemdUnit: p.systemdUnit,
    container: p.container,
    podUid: p.podUid,
  };
}

/** uid and user name whether the process was named (ok) or only its socket was (exited). */
export function userOf(
  record: ImdsRequestRecord,
): { readonly uid: number; readonly name: string | undefined } | undefined {
  const a = record.attribution;
  if (a.status === 'ok') return { uid: a.process.uid, name: a.process.userName };
  if (a.status === 'exited' && a.uid !== undefined) return { uid: a.uid, name: a.userName };
  return undefined;
}
