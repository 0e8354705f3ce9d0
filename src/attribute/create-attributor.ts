/**
 * Chooses how to attribute at start-up (`--attribution auto|proc|lsof|none`) from what this
 * host and this process can actually do, and says why once.
 */
import fs from 'node:fs';
import path from 'node:path';
import si from 'systeminformation';
import { NoAttributor, type Attributor } from './attribution.js';
import { LsofAttributor, realLsof } from './lsof.js';
import { UserNames } from './passwd.js';
import { probeProcAccess, type ProcAccess } from './privileges.js';
import { ProcAttributor } from './proc-attributor.js';
import { realProcFs, type ProcFs } from './proc-fs.js';
import { ProcessFactsReader } from './process-facts.js';
import { openSocketLookup, type SocketLookup } from './socket-lookup.js';

export type AttributionMode = 'auto' | 'proc' | 'lsof' | 'none';
export type LogFn = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface CreatedAttributor {
  readonly attributor: Attributor;
  /** 'proc', 'lsof' or 'none'. */
  readonly method: string;
  /** One line of host facts behind the choice (distro, kernel, privileges, tools). */
  readonly facts: string;
}

/** Seams for tests; the defaults are the real host. */
export interface HostProbe {
  readonly fs: ProcFs;
  findExecutable(name: string): string | undefined;
  osInfo(): Promise<{ distro: string; release: string; kernel: string }>;
  /** The kernel's sock_diag for exact socket lookups, or why it cannot be used. */
  socketLookup(): Promise<SocketLookup | { readonly error: string }>;
}

function findOnPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '')
    .split(':')
    .concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin']);
  for (const dir of dirs) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const realHostProbe: HostProbe = {
  fs: realProcFs,
  findExecutable: findOnPath,
  socketLookup: openSocketLookup,
  async osInfo() {
    try {
      const o = await si.osInfo();
      return { distro: o.distro, release: o.release, kernel: o.kernel };
    } catch {
      return { distro: 'unknown', release: '', kernel: 'unknown' };
    }
  },
};

/** Why /proc lookup cannot see every process, or undefined when it can. */
export function procLimitation(access: ProcAccess): string | undefined {
  if (!access.netTcp) return '/proc/net/tcp is not readable on this kernel';
  if (access.pid1Fd) return undefined;
  if (access.hidepid !== 'off' && access.hidepid !== '0') {
    return `/proc is mounted with hidepid=${access.hidepid} and /proc/1/fd is not readable`;
  }
  if (access.missing.length > 0) {
    return `permission denied reading /proc/1/fd: missing ${access.missing.join(' and ')}`;
  }
  return 'permission denied reading /proc/1/fd';
}

function describe(
  os: { distro: string; release: string; kernel: string },
  access: ProcAccess,
  lsof: string | undefined,
): string {
  return [
    `os ${os.distro} ${os.release}`.trim(),
    `kernel ${os.kernel}`,
    `uid ${access.uid ?? 'unknown'}`,
    `missing capabilities ${access.missing.length > 0 ? access.missing.join(',') : 'none'}`,
    `/proc hidepid=${access.hidepid}`,
    `/proc/net/tcp ${access.netTcp ? 'readable' : 'unreadable'}`,
    `/proc/1/fd ${access.pid1Fd ? 'readable' : 'unreadable'}`,
    `lsof ${lsof ?? 'not installed'}`,
  ].join(', ');
}

export async function createAttributor(
  mode: AttributionMode,
  log: LogFn,
  probe: HostProbe = realHostProbe,
): Promise<CreatedAttributor> {
  if (mode === 'none') {
    return {
      attributor: new NoAttributor('attribution disabled (--attribution none)'),
      method: 'none',
      facts: 'attribution disabled',
    };
  }
  const access = probeProcAccess(probe.fs);
  const lsofPath = probe.findExecutable('lsof');
  const facts = describe(await probe.osInfo(), access, lsofPath);
  const limitation = procLimitation(access);
  const procFacts = (): ProcessFactsReader | undefined =>
    access.netTcp
      ? new ProcessFactsReader({
          fs: probe.fs,
          users: new UserNames(probe.fs),
          bootTimeMs: ProcessFactsReader.bootTimeMs(probe.fs),
          clockTicks: 100,
        })
      : undefined;
  const useProc = async (why: string): Promise<CreatedAttributor> => {
    const diag = await probe.socketLookup();
    const socketLookup = 'query' in diag ? diag : undefined;
    const how =
      'query' in diag
        ? 'sock_diag for our namespace, /proc/<pid>/net/tcp* for the others'
        : `sock_diag unavailable (${diag.error}): every lookup reads /proc/net/tcp*`;
    log(
      limitation === undefined ? 'info' : 'warn',
      `attribution: /proc (${why}; ${how}); ${facts}`,
    );
    return {
      attributor: new ProcAttributor({ fs: probe.fs, ...(socketLookup && { socketLookup }) }),
      method: 'proc',
      facts,
    };
  };
  const useLsof = (why: string): CreatedAttributor => {
    log(limitation === undefined ? 'info' : 'warn', `attribution: lsof (${why}); ${facts}`);
    return {
      attributor: new LsofAttributor({ run: realLsof(lsofPath), facts: procFacts() }),
      method: 'lsof',
      facts,
    };
  };
  const useNone = (why: string): CreatedAttributor => {
    log('error', `attribution: none (${why}); ${facts}`);
    return { attributor: new NoAttributor(why), method: 'none', facts };
  };

  if (mode === 'lsof') {
    return lsofPath === undefined
      ? useNone('--attribution lsof but lsof is not installed')
      : useLsof('--attribution lsof');
  }
  if (mode === 'proc') {
    if (!access.netTcp) return useNone('/proc/net/tcp is not readable on this kernel');
    return useProc(
      limitation === undefined
        ? '--attribution proc'
        : `--attribution proc, limited: ${limitation}; only processes of uid ${access.uid ?? '?'} can be named`,
    );
  }
  // auto
  if (limitation === undefined) return useProc('auto: /proc/<pid>/fd of other users readable');
  if (lsofPath !== undefined) return useLsof(`auto: ${limitation}`);
  if (access.netTcp) {
    return useProc(
      `auto: ${limitation}, lsof not installed; only processes of uid ${access.uid ?? '?'} can be named`,
    );
  }
  return useNone(`${limitation}, and lsof is not installed`);
}
