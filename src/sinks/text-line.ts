import type { ImdsRequestRecord } from '../pipeline/record.js';
import { processView, requestView, userOf } from './record-view.js';
import { LIMITS, safeText } from './sanitize.js';

/**
 * One short human line per request, for one-shot/offline `--format text` and (with a priority
 * prefix, see journal-line.ts) for journald:
 *
 *   12:00:00.123 v1    GET /latest/meta-data/iam/security-credentials/web -> 200  pid 1234 curl (root) [curl/7.88.1]  192.0.2.2:40000
 *
 * Time is UTC (like @timestamp). The fixed-width head (time, kind) keeps columns aligned; the
 * status is `---` when no response was seen and `???` when it could not be parsed. Every string
 * that came from the wire or /proc is bounded and has its control characters escaped, so a
 * crafted User-Agent cannot forge a second log line or a terminal escape sequence.
 */

const TEXT_PATH = 200;
const TEXT_AGENT = 100;
const TEXT_COMMAND = 40;

export function textLine(record: ImdsRequestRecord): string {
  const { exchange, classification: c, flow } = record;
  const request = exchange.request;
  const time = new Date(Math.floor(request.timeMs)).toISOString().slice(11, 23);
  const status =
    exchange.response?.status ??
    c.status ??
    (exchange.outcome === 'response_unparsable' ? '???' : '---');
  const { method, path, userAgent: agent } = requestView(record);
  const head = `${time} ${c.kind.padEnd(5)} ${safeText(method, LIMITS.method)} ${safeText(path, TEXT_PATH)} -> ${status}`;
  const tail: string[] = [];
  if (agent !== undefined) tail.push(`[${safeText(agent, TEXT_AGENT)}]`);
  if (c.kind === 'token' && c.tokenTtlInvalid) tail.push('ttl-invalid');
  if (c.forwardedFor) tail.push('x-forwarded-for');
  if (record.fallback !== undefined) {
    tail.push(`v1-fallback(after ${safeText(record.fallback.afterTokenFlowId, 32)})`);
  }
  const sender = tail.length > 0 ? `${who(record)} ${tail.join(' ')}` : who(record);
  const client = flow.family === 'ipv6' ? `[${flow.client.ip}]` : flow.client.ip;
  return `${head}  ${sender}  ${client}:${flow.client.port}`;
}

function who(record: ImdsRequestRecord): string {
  const p = processView(record);
  const user = userOf(record);
  const userText =
    user === undefined ? '' : ` (${safeText(user.name ?? `uid ${user.uid}`, LIMITS.name)})`;
  if (p !== undefined) {
    const where =
      p.container !== undefined
        ? ` container ${safeText(p.container.id.slice(0, 12), 12)}`
        : p.systemdUnit !== undefined
          ? ` unit ${safeText(p.systemdUnit, 100)}`
          : '';
    const args = p.args.slice(1).join(' ');
    const command = args === '' ? '' : ` "${safeText(args, TEXT_COMMAND)}"`;
    return `pid ${p.pid} ${safeText(p.name, LIMITS.name)}${userText}${where}${command}`;
  }
  if (record.attribution.status === 'exited') return `exited${userText}`;
  return 'unknown process';
}
