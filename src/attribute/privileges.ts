/**
 * What this process may see: effective capabilities (/proc/self/status CapEff) and the /proc
 * mount's hidepid option. Reading another user's /proc/<pid>/fd needs both CAP_SYS_PTRACE and
 * CAP_DAC_READ_SEARCH (measured on Linux 6.x); live capture needs CAP_NET_RAW.
 */
import { realProcFs, type ProcFs } from './proc-fs.js';

export const CAPABILITY_BITS = {
  CAP_DAC_READ_SEARCH: 2,
  CAP_NET_RAW: 13,
  CAP_SYS_PTRACE: 19,
} as const;

export type CapabilityName = keyof typeof CAPABILITY_BITS;

/** What each job needs. */
export const CAPTURE_CAPABILITIES: readonly CapabilityName[] = ['CAP_NET_RAW'];
export const ATTRIBUTION_CAPABILITIES: readonly CapabilityName[] = [
  'CAP_SYS_PTRACE',
  'CAP_DAC_READ_SEARCH',
];

/** The CapEff mask of a status file, or undefined when absent. */
export function parseCapEff(statusText: string): bigint | undefined {
  const m = /^CapEff:\s+([0-9a-fA-F]+)$/m.exec(statusText);
  return m?.[1] === undefined ? undefined : BigInt(`0x${m[1]}`);
}

/**
 * The capabilities of `needs` this process lacks, in the order given (empty: all present).
 * Default: everything the daemon needs (capture and attribution of other users' processes).
 */
export function missingCapabilities(
  needs: readonly CapabilityName[] = [...CAPTURE_CAPABILITIES, ...ATTRIBUTION_CAPABILITIES],
  statusText: string | undefined = realProcFs.readText('/proc/self/status'),
): CapabilityName[] {
  const eff = parseCapEff(statusText ?? '');
  if (eff === undefined) return [...needs];
  return needs.filter((c) => (eff & (1n << BigInt(CAPABILITY_BITS[c]))) === 0n);
}

/** hidepid of the /proc mount from /proc/self/mountinfo ("off" when not set). */
export function procHidepid(mountinfo: string): string {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(' ');
    if (fields[4] !== '/proc') continue;
    const [fstype, , superOptions] = line.slice(sep + 3).split(' ');
    if (fstype !== 'proc') continue;
    const opt = (superOptions ?? '').split(',').find((o) => o.startsWith('hidepid='));
    return opt === undefined ? 'off' : opt.slice('hidepid='.length);
  }
  return 'off';
}

export interface ProcAccess {
  /** /proc/self/net/tcp readable (a kernel with procfs TCP tables). */
  readonly netTcp: boolean;
  /** /proc/1/fd listable: another user's (root's) fd table, the real test of privilege. */
  readonly pid1Fd: boolean;
  readonly hidepid: string;
  readonly uid: number | undefined;
  readonly missing: CapabilityName[];
}

export function probeProcAccess(fs: ProcFs = realProcFs): ProcAccess {
  const status = fs.readText('/proc/self/status') ?? '';
  const uidMatch = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  const fd1 = fs.readDir('/proc/1/fd');
  return {
    netTcp: fs.readText('/proc/self/net/tcp') !== undefined,
    pid1Fd: Array.isArray(fd1),
    hidepid: procHidepid(fs.readText('/proc/self/mountinfo') ?? ''),
    uid: uidMatch?.[1] === undefined ? undefined : Number(uidMatch[1]),
    missing: missingCapabilities(ATTRIBUTION_CAPABILITIES, status),
  };
}
