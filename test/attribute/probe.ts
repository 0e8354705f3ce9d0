/**
 * Run as compiled JS inside a namespace and/or as another user (Node cannot enter a netns or
 * drop privileges itself): `node dist/test/attribute/probe.js <mode> <client ip> <client port>
 * <server ip>`. Prints one JSON line: the method chosen, the missing capabilities and the
 * lookup result (pid, uid, user name, status, reason: no command lines, nothing secret).
 */
import { createAttributor, type AttributionMode } from '../../src/attribute/create-attributor.js';
import { missingCapabilities } from '../../src/attribute/privileges.js';

const [mode, clientIp, clientPort, serverIp] = process.argv.slice(2);
const logs: string[] = [];
const { attributor, method } = await createAttributor(
  (mode ?? 'auto') as AttributionMode,
  (level, message) => logs.push(`${level}: ${message}`),
);
const r = await attributor.lookup(
  {
    id: 'P1',
    communityId: '1:probe',
    family: (serverIp ?? '').includes(':') ? 'ipv6' : 'ipv4',
    client: { ip: clientIp ?? '', port: Number(clientPort) },
    server: { ip: serverIp ?? '', port: 80 },
    startMs: Date.now(),
    sawSyn: true,
    twinOf: undefined,
  },
  Date.now(),
);
attributor.close();
console.log(
  JSON.stringify({
    method,
    missing: missingCapabilities(),
    logs,
    status: r.status,
    pid: r.status === 'ok' ? r.process.pid : undefined,
    uid: r.status === 'ok' ? r.process.uid : r.status === 'exited' ? r.uid : undefined,
    userName: r.status === 'ok' ? r.process.userName : undefined,
    name: r.status === 'ok' ? r.process.name : undefined,
    reason: r.status === 'ok' ? undefined : r.reason,
  }),
);
