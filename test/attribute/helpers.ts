/** Shared pieces of the attribution integration tests: a fake IMDS server and test clients. */
import type { ChildProcess } from 'node:child_process';
import type { Test } from 'tap';
import type { FlowInfo } from '../../src/flows/flow.js';
import type { Netns } from '../helpers/netns.js';

/** System python: readable by every user (pyenv shims under /root are not). */
export const PYTHON = '/usr/bin/python3';

/**
 * A client that connects to `<addr>:80`, prints `connected <pid> <local port>` and then:
 * `hold` keeps the idle connection open, `keepalive` sends a GET every 100 ms on it, `exit`
 * sends one GET and exits at once without reading the answer.
 */
export const clientScript = `
import os, socket, sys, time
addr, mode = sys.argv[1], sys.argv[2]
family = socket.AF_INET6 if ':' in addr else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
s.connect((addr, 80))
print('connected', os.getpid(), s.getsockname()[1], flush=True)
req = b'GET /latest/meta-data/ HTTP/1.1\\r\\nHost: x\\r\\nUser-Agent: test-client\\r\\n\\r\\n'
if mode == 'exit':
    s.sendall(req)
    os._exit(0)
while True:
    if mode == 'keepalive':
        s.sendall(req)
        s.recv(65536)
    time.sleep(0.1)
`;

/**
 * The project's fake IMDS (test/helpers/mock-imds.py: HTTP/1.1 keep-alive, threaded) on
 * 169.254.169.254:80 and [fd00:ec2::254]:80 in the IMDS namespace.
 */
export async function startImds(ns: Netns): Promise<ChildProcess[]> {
  const server = ns.spawn(PYTHON, ['-u', 'test/helpers/mock-imds.py'], { cwd: process.cwd() });
  await waitForLine(server, /listening/);
  return [server];
}

/** Resolves with the first stdout line matching `re`; rejects when the process ends first. */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => {
      reject(new Error(`timed out waiting for ${String(re)}; stderr: ${err}`));
    }, timeoutMs);
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      // Complete lines only: a chunk may end in the middle of the line we wait for.
      for (const line of buf.split('\n').slice(0, -1)) {
        if (re.test(line)) {
          clearTimeout(timer);
          resolve(line.trim());
          return;
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${String(code)}) before ${String(re)}; stderr: ${err}`));
    });
  });
}

let flowCounter = 0;

/** A FlowInfo as the flow stage would build it at the client's SYN. */
export function flowOf(clientIp: string, clientPort: number, serverIp: string): FlowInfo {
  flowCounter += 1;
  return {
    id: `T${flowCounter}`,
    communityId: '1:test',
    family: serverIp.includes(':') ? 'ipv6' : 'ipv4',
    client: { ip: clientIp, port: clientPort },
    server: { ip: serverIp, port: 80 },
    startMs: Date.now(),
    sawSyn: true,
    twinOf: undefined,
  };
}

/** `x`, closed when test `t` ends. */
export function closedAtEnd<T extends { close(): void }>(t: Test, x: T): T {
  t.teardown(() => {
    x.close();
  });
  return x;
}
