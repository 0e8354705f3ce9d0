import type { ImdsRequestRecord } from '../pipeline/record.js';
import { processView, requestView, userOf } from './record-view.js';
import { bounded } from './sanitize.js';

/**
 * Who made a call, as one stable key (for grouping: summary, roll-up, fallback detection) and
 * one human label. A named process is its executable, command line and container or systemd
 * unit; pids are left out on purpose so the 100th run of the same cron job is the same client.
 * An unnamed one is its uid (when the socket table gave it) and source address, plus the
 * User-Agent. Labels are not escaped: text sinks escape them when they print.
 */
export interface ProcessIdentity {
  readonly key: string;
  readonly label: string;
}

const LABEL_COMMAND_LINE = 160;

export function processIdentity(record: ImdsRequestRecord): ProcessIdentity {
  const p = processView(record);
  if (p !== undefined) {
    const where =
      p.container !== undefined
        ? `container ${p.container.id.slice(0, 12)}`
        : p.systemdUnit !== undefined
          ? `unit ${p.systemdUnit}`
          : undefined;
    const program = p.executable ?? p.name;
    const command = p.commandLine === '' ? `[${p.name}]` : p.commandLine;
    return {
      key: JSON.stringify([
        'process',
        program,
        p.commandLine,
        p.container?.id ?? '',
        p.container === undefined ? (p.systemdUnit ?? '') : '',
      ]),
      label:
        `${program}: ${bounded(command, LABEL_COMMAND_LINE)}` +
        (where === undefined ? '' : ` (${where})`),
    };
  }

  const user = userOf(record);
  const sourceIp = record.flow.client.ip;
  const agent = requestView(record).userAgent ?? '';
  const who =
    user === undefined
      ? sourceIp
      : `uid ${user.uid}${user.name === undefined ? '' : ` (${user.name})`} via ${sourceIp}`;
  return {
    key: JSON.stringify(['unattributed', user?.uid ?? null, sourceIp, agent]),
    label: agent === '' ? who : `${who} [${agent}]`,
  };
}
