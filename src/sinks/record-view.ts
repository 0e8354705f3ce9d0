import type { ProcessFacts } from '../attribute/attribution.js';
import { headerValue } from '../http/exchange.js';
import type { ImdsRequestRecord } from '../pipeline/record.js';
import { bounded, LIMITS, REDACTED, redactSecrets } from './sanitize.js';

/** An argument that is only the token header's name, its value being the next argument. */
const TOKEN_HEADER_NAME_ARG = /^x-aws-ec2-metadata-token\s*[:=]?\s*$/i;

/**
 * The process facts every sink shows, bounded and with token values redacted: a client that
 * passes its token on the command line (`curl -H "X-aws-ec2-metadata-token: ..."`) must not
 * leak it through process.args or an ancestor's command line.
 */
export type ProcessView = Omit<ProcessFacts, 'cgroup'>;

/** Request facts every sink shows: bounded, token values redacted, control characters kept. */
export interface RequestView {
  readonly method: string;
  /** Path without query or fragment. */
  readonly path: string;
  readonly query: string | undefined;
  /** undefined when absent or empty. */
  readonly userAgent: string | undefined;
}

export function requestView(record: ImdsRequestRecord): RequestView {
  const request = record.exchange.request;
  const secrets = recordSecrets(record);
  const clean = (s: string, max: number): string => bounded(redactSecrets(s, secrets), max);
  const { path, query } = splitTarget(request.target);
  const agent = headerValue(request.headers, 'user-agent');
  return {
    method: clean(request.method, LIMITS.method),
    path: clean(path, LIMITS.path),
    query: query === undefined ? undefined : clean(query, LIMITS.query),
    userAgent: agent === undefined || agent === '' ? undefined : clean(agent, LIMITS.userAgent),
  };
}

/** Splits a request target into path and query; absolute-form targets keep only their path. */
export function splitTarget(target: string): { path: string; query: string | undefined } {
  let t = target;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(t);
  if (scheme !== null) {
    t = t.slice(scheme[0].length);
    if (!t.startsWith('/')) t = `/${t}`;
  }
  const hash = t.indexOf('#');
  if (hash >= 0) t = t.slice(0, hash);
  const q = t.indexOf('?');
  if (q < 0) return { path: t, query: undefined };
  return { path: t.slice(0, q), query: t.slice(q + 1) };
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
  // `curl -H X-aws-ec2-metadata-token: <token>` splits header name and value over two args.
  for (let i = 1; i < args.length; i++) {
    if (TOKEN_HEADER_NAME_ARG.test(args[i - 1] ?? '')) args[i] = REDACTED;
  }
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
