/**
 * Network namespaces for tests: real kernels, real sockets, nothing leaves the machine.
 * Only the IMDS addresses and documentation ranges are used (192.0.2.0/24, 198.51.100.0/24,
 * 2001:db8::/32, 169.254.169.254, fd00:ec2::254).
 *
 * Node cannot enter a namespace itself, so everything that must run inside one is spawned
 * through `ip netns exec`.
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Runs a command to completion; never throws for a non-zero exit (the code is returned). */
export async function run(
  cmd: string,
  args: readonly string[],
  timeoutMs = 30_000,
): Promise<ExecResult> {
  try {
    const { stdout, stderr } = await execFileP(cmd, [...args], {
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number | string };
    return {
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? String(err),
      code: typeof e.code === 'number' ? e.code : 1,
    };
  }
}

/** Runs a command that must succeed (set-up steps); throws with its stderr otherwise. */
export async function mustRun(cmd: string, args: readonly string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

let counter = 0;

export class Netns {
  private constructor(readonly name: string) {}

  /** Creates a namespace named `<prefix><pid>-<n>` (unique across parallel test files) with lo up. */
  static async create(prefix: string): Promise<Netns> {
    counter += 1;
    const name = `${prefix}${process.pid}-${counter}`;
    await mustRun('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    await ns.mustRun('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  run(cmd: string, args: readonly string[], timeoutMs?: number): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], timeoutMs);
  }

  mustRun(cmd: string, args: readonly string[]): Promise<string> {
    return mustRun('ip', ['netns', 'exec', this.name, cmd, ...args]);
  }

  /** Starts a long-running process inside the namespace. The caller ends it (by its pid). */
  spawn(cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...options,
    });
  }

  /** Deletes the namespace; processes still inside keep it alive until they exit. */
  async delete(): Promise<void> {
    await run('ip', ['netns', 'del', this.name]);
  }
}

/** Interface names are at most 15 characters: keep prefixes short. */
export async function vethPair(a: Netns, aName: string, b: Netns, bName: string): Promise<void> {
  const tmpA = `va${process.pid % 100000}${counter}`;
  const tmpB = `vb${process.pid % 100000}${counter}`;
  await mustRun('ip', ['link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB]);
  await mustRun('ip', ['link', 'set', tmpA, 'netns', a.name]);
  await mustRun('ip', ['link', 'set', tmpB, 'netns', b.name]);
  await a.mustRun('ip', ['link', 'set', tmpA, 'name', aName]);
  await b.mustRun('ip', ['link', 'set', tmpB, 'name', bName]);
  await a.mustRun('ip', ['link', 'set', aName, 'up']);
  await b.mustRun('ip', ['link', 'set', bName, 'up']);
}

/**
 * The smallest fake EC2 link: an "instance" namespace whose interface `eth0` reaches an "imds"
 * namespace that owns 169.254.169.254 and fd00:ec2::254.
 *
 *   instance eth0 192.0.2.2/24, 2001:db8::2/64  <->  imds eth0 192.0.2.1/24, 2001:db8::1/64
 *   routes: 169.254.169.254 via 192.0.2.1, fd00:ec2::254 via 2001:db8::1
 */
export interface ImdsLink {
  readonly instance: Netns;
  readonly imds: Netns;
  /** Capture interface inside the instance namespace. */
  readonly instanceInterface: string;
  destroy(): Promise<void>;
}

export async function createImdsLink(prefix = 'ia'): Promise<ImdsLink> {
  const instance = await Netns.create(`${prefix}i`);
  const imds = await Netns.create(`${prefix}m`);
  try {
    await vethPair(instance, 'eth0', imds, 'eth0');
    await instance.mustRun('ip', ['addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
    await instance.mustRun('ip', ['-6', 'addr', 'add', '2001:db8::2/64', 'dev', 'eth0', 'nodad']);
    await imds.mustRun('ip', ['addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
    await imds.mustRun('ip', ['addr', 'add', '169.254.169.254/32', 'dev', 'eth0']);
    await imds.mustRun('ip', ['-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'eth0', 'nodad']);
    await imds.mustRun('ip', ['-6', 'addr', 'add', 'fd00:ec2::254/128', 'dev', 'eth0', 'nodad']);
    await instance.mustRun('ip', ['route', 'add', '169.254.169.254/32', 'via', '192.0.2.1']);
    await instance.mustRun('ip', ['-6', 'route', 'add', 'fd00:ec2::254/128', 'via', '2001:db8::1']);
  } catch (err) {
    await instance.delete();
    await imds.delete();
    throw err;
  }
  return {
    instance,
    imds,
    instanceInterface: 'eth0',
    async destroy() {
      await instance.delete();
      await imds.delete();
    },
  };
}
