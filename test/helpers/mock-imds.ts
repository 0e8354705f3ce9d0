/**
 * Starts and stops the fake IMDS (test/helpers/mock-imds.py) inside a namespace and keeps what
 * it saw. The mock's log (its stderr) is the ground truth of what a client really sent:
 * method, path, status, class (token | v2 | v1), peer and User-Agent; never a token.
 *
 * The secrets it serves (role credentials, token seed) are made here and handed over on its
 * stdin, so tests can hold them in memory and assert they appear in no output.
 */
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from './netns.js';

export const MOCK_IMDS_SCRIPT = fileURLToPath(new URL('./mock-imds.py', import.meta.url));

export type ImdsMode = 'optional' | 'required';

export interface MockImdsOptions {
  readonly mode?: ImdsMode;
  readonly hopLimit?: number;
  readonly latencyMs?: number;
  readonly role?: string;
  /** Set false to serve IPv4 only. */
  readonly ipv6?: boolean;
}

export interface MockSecrets {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** Hex; tokens are derived from it (see tokenAt). */
  readonly tokenSeed: string;
}

export interface MockRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly kind: 'token' | 'v2' | 'v1';
  readonly peerIp: string;
  readonly peerPort: number;
  readonly userAgent: string;
}

export interface MockImds {
  readonly pid: number;
  readonly role: string;
  readonly mode: ImdsMode;
  readonly secrets: MockSecrets;
  /** Every request the mock answered, in order. */
  readonly requests: MockRequest[];
  /** Strings that must never appear in any analyzer output: credentials and the token prefix. */
  secretStrings(): string[];
  /** Forgets the requests seen so far (between scenarios). */
  clear(): void;
  /** Resolves once `n` more requests than now have been logged (or after timeoutMs). */
  waitForRequests(count: number, timeoutMs?: number): Promise<MockRequest[]>;
  stop(): Promise<void>;
}

const ALNUM_UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function pick(alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet.charAt(randomInt(alphabet.length));
  return s;
}

/** Fake but realistic-looking values, new for every run so outputs can be searched for them. */
export function makeSecrets(): MockSecrets {
  return {
    accessKeyId: `ASIA${pick(ALNUM_UPPER, 16)}`,
    secretAccessKey: pick(B64, 40),
    sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(600).toString('base64')}`,
    tokenSeed: randomBytes(16).toString('hex'),
  };
}

/** The n-th token the mock issues (same function as make_token in mock-imds.py). */
export function tokenAt(seedHex: string, n: number): string {
  const seed = Buffer.from(seedHex, 'hex');
  const tail = createHmac('sha256', seed).update(String(n)).digest().subarray(0, 30);
  return `AQAEA${Buffer.concat([seed.subarray(0, 12), tail]).toString('base64')}`;
}

/** Every token of a run starts with these characters: one search finds any of them. */
export function tokenPrefix(seedHex: string): string {
  return tokenAt(seedHex, 0).slice(0, 21);
}

const LINE = /^(\S+) (\S+) (\d{3}) class=(token|v2|v1) peer=(.+):(\d+) ua="(.*)"$/;

export function parseMockLine(line: string): MockRequest | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, method, path, status, kind, peerIp, peerPort, ua] = m;
  if (!method || !path || !status || !peerIp || !peerPort || ua === undefined) return undefined;
  return {
    method,
    path,
    status: Number(status),
    kind: kind as MockRequest['kind'],
    peerIp,
    peerPort: Number(peerPort),
    userAgent: ua,
  };
}

function waitForLine(child: ChildProcess, needle: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    let errText = '';
    const timer = setTimeout(() => {
      done();
      reject(new Error(`mock IMDS not ready after ${timeoutMs} ms: ${errText.slice(0, 2000)}`));
    }, timeoutMs);
    const onOut = (b: Buffer): void => {
      seen += b.toString();
      if (seen.includes(needle)) {
        done();
        resolve();
      }
    };
    const onErr = (b: Buffer): void => {
      errText += b.toString();
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`mock IMDS exited (${code}) before listening: ${errText.slice(0, 2000)}`));
    };
    const done = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onOut);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}

/** Starts the mock inside `ns` (the imds namespace) and waits until it listens on port 80. */
export async function startMockImds(ns: Netns, options: MockImdsOptions = {}): Promise<MockImds> {
  const mode = options.mode ?? 'optional';
  const role = options.role ?? 'fake-instance-role';
  const secrets = makeSecrets();
  const args = [
    MOCK_IMDS_SCRIPT,
    '--mode',
    mode,
    '--hop-limit',
    String(options.hopLimit ?? 1),
    '--latency-ms',
    String(options.latencyMs ?? 0),
    '--role',
    role,
    '--secrets-stdin',
  ];
  if (options.ipv6 === false) args.push('--ipv6', '');
  // /usr/bin/python3: Debian's interpreter, not whatever a version manager put first in PATH.
  const child = ns.spawn('/usr/bin/python3', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin?.end(`${JSON.stringify(secrets)}\n`);
  const requests: MockRequest[] = [];
  const waiters: (() => void)[] = [];
  let partial = '';
  child.stderr?.on('data', (b: Buffer) => {
    partial += b.toString();
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      const r = parseMockLine(line);
      if (r) requests.push(r);
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stdout?.resume();
  try {
    await waitForLine(child, 'listening', 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('mock IMDS has no pid');
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  return {
    pid,
    role,
    mode,
    secrets,
    requests,
    secretStrings() {
      return [
        secrets.accessKeyId,
        secrets.secretAccessKey,
        secrets.sessionToken,
        secrets.sessionToken.slice(0, 40),
        tokenPrefix(secrets.tokenSeed),
      ];
    },
    clear() {
      requests.length = 0;
    },
    async waitForRequests(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 100);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return [...requests];
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      }, 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
