/**
 * The token policy across every sink: a token value sent in a v2 request (and echoed on the
 * client's command line), and a token issued in a response, appear in no output at all.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import t, { type Test } from 'tap';
import { toEcsEvent } from '../../src/sinks/ecs-event.js';
import { openFileLog } from '../../src/sinks/file-log.js';
import { journalLine } from '../../src/sinks/journal-line.js';
import { LineWriter } from '../../src/sinks/json-lines.js';
import { processIdentity } from '../../src/sinks/process-identity.js';
import { Rollup, type RollupEvent } from '../../src/sinks/rollup.js';
import { Summary } from '../../src/sinks/summary.js';
import { textLine } from '../../src/sinks/text-line.js';
import type { ImdsRequestRecord } from '../../src/pipeline/record.js';
import { curlProcess, HOST, OK, record, T0 } from './records.js';
import { schemaErrors } from './validate.js';

const SECRET = 'SECRET';
const DIGEST = createHash('sha256').update(SECRET).digest('hex');
const FINGERPRINT = DIGEST.slice(0, 16);
const URL = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/web';

const tokenRequest: ImdsRequestRecord = (() => {
  const r = record({
    kind: 'token',
    fingerprint: FINGERPRINT,
    headers: [
      { name: 'Host', value: '169.254.169.254' },
      { name: 'X-aws-ec2-metadata-token-ttl-seconds', value: '21600' },
    ],
  });
  // The pipeline hashed the response body (the token); the body itself was never kept.
  return { ...r, exchange: { ...r.exchange, responseBodySha256: DIGEST } };
})();

function v2(args: string[], extra: Parameters<typeof record>[0] = {}): ImdsRequestRecord {
  return record({
    kind: 'v2',
    fingerprint: FINGERPRINT,
    target: '/latest/meta-data/iam/security-credentials/web',
    headers: [
      { name: 'Host', value: '169.254.169.254' },
      { name: 'x-AWS-ec2-metadata-token', value: SECRET },
      { name: 'User-Agent', value: 'curl/7.88.1' },
    ],
    attribution: {
      ...OK,
      process: curlProcess({
        args,
        commandLine: args.join(' '),
        ancestors: [
          {
            pid: 900,
            name: 'sh',
            commandLine: `sh -c curl -H 'X-aws-ec2-metadata-token: ${SECRET}' ${URL}`,
          },
          { pid: 1, name: 'systemd', commandLine: '/sbin/init' },
        ],
      }),
    },
    ...extra,
  });
}

const records: ImdsRequestRecord[] = [
  tokenRequest,
  v2(['curl', '-H', `X-aws-ec2-metadata-token: ${SECRET}`, URL]),
  v2(['curl', '-H', 'X-aws-ec2-metadata-token:', SECRET, URL]),
  v2(['curl', `--header=X-aws-ec2-metadata-token=${SECRET}`, URL]),
  v2(['python3', '/opt/fetch.py', SECRET], { target: `/latest/meta-data/?t=${SECRET}` }),
];

function assertClean(t: Test, what: string, text: string): void {
  t.notOk(text.includes(SECRET), `${what}: no token value`);
  t.notOk(text.includes(DIGEST), `${what}: no full token digest`);
}

t.test('no sink output holds the token', async (t) => {
  for (const r of records) {
    const ev = toEcsEvent(r, HOST);
    t.same(schemaErrors(ev), []);
    assertClean(t, 'event JSON', JSON.stringify(ev));
    assertClean(t, 'text line', textLine(r));
    assertClean(t, 'journal line', journalLine(r));
    assertClean(t, 'identity', JSON.stringify(processIdentity(r)));
  }
  t.equal(toEcsEvent(tokenRequest, HOST).imds.token?.fingerprint, FINGERPRINT, 'fingerprint only');
  t.same(toEcsEvent(records[2] ?? tokenRequest, HOST).process?.args, [
    'curl',
    '-H',
    'X-aws-ec2-metadata-token:',
    '[REDACTED]',
    URL,
  ]);

  const summary = new Summary({ host: HOST });
  for (const r of records) summary.add(r);
  summary.setCapture({
    source: 'eth0',
    frames: 10,
    kernelDropped: 0,
    interfaceDropped: 0,
    anomalies: {},
    twinsSuppressed: 0,
  });
  assertClean(t, 'summary text', summary.renderText());
  assertClean(t, 'summary event', JSON.stringify(summary.toEvent()));

  const rolled: RollupEvent[] = [];
  const rollup = new Rollup(60_000, (e) => rolled.push(e), { host: HOST });
  for (let i = 0; i < 3; i++) for (const r of records) rollup.offer(r, T0 + i);
  rollup.flush(T0 + 60_000);
  t.ok(rolled.length > 0);
  assertClean(t, 'roll-up events', JSON.stringify(rolled));

  const out = new PassThrough();
  let stdout = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  const jsonl = new LineWriter(out);
  for (const r of records) jsonl.writeJson(toEcsEvent(r, HOST));
  await jsonl.flush();
  assertClean(t, 'stdout JSON lines', stdout);

  const dir = t.testdir();
  const log = await openFileLog({ path: path.join(dir, 'imds.log'), maxSize: 4096, maxFiles: 3 });
  for (const r of records) log.write(toEcsEvent(r, HOST));
  for (const e of rolled) log.write(e);
  log.write(summary.toEvent());
  await log.close();
  const files = readdirSync(dir);
  t.ok(files.length >= 1);
  for (const f of files) assertClean(t, `log file ${f}`, readFileSync(path.join(dir, f), 'utf8'));
});
