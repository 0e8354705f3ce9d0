/**
 * The built command on generated captures: what users get from `imds-analyzer --read`.
 * Every variant of the same conversation (split byte by byte, retransmitted, reordered, other
 * link types, mid-flow) must yield the same requests.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  sampleCaptureRecords,
  SAMPLE_ACCESS_KEY_ID,
  SAMPLE_TOKEN,
} from '../../scripts/make-sample-pcap.js';
import { conversation, type ConversationOptions } from '../helpers/packet-conversation.js';
import { pcapBytes, writePcapFile } from '../helpers/pcap-writer.js';
import { schemaErrors } from '../sinks/validate.js';
import { parseJsonOutput, runCli } from './run-cli.js';

const TOKEN = 'AQAEAOfflineTestToken-abcdefghijklmnopqrstuvwxyz0123456789==';
const client = { ip: '192.0.2.10', port: 40100 };
const server = { ip: '169.254.169.254', port: 80 };

function req(method: string, path: string, headers: Record<string, string> = {}): Buffer {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'Host: 169.254.169.254',
    'User-Agent: test-client/1.0',
  ];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

function res(status: number, body: string): Buffer {
  return Buffer.from(
    `HTTP/1.1 ${status} X\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: text/plain\r\n\r\n${body}`,
    'latin1',
  );
}

/** token PUT, two v2 GETs and one v1 GET on one keep-alive connection. */
const exchanges = [
  {
    request: req('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' }),
    response: res(200, TOKEN),
  },
  {
    request: req('GET', '/latest/meta-data/instance-id', { 'x-AWS-ec2-metadata-TOKEN': TOKEN }),
    response: res(200, 'i-0123456789abcdef0'),
  },
  {
    request: req('GET', '/latest/meta-data/iam/security-credentials/role', {
      'X-aws-ec2-metadata-token': TOKEN,
    }),
    response: res(200, `{"AccessKeyId":"${SAMPLE_ACCESS_KEY_ID}"}`),
  },
  { request: req('GET', '/latest/meta-data/ami-id'), response: res(200, 'ami-0abcdef') },
];

const expected = [
  'token PUT /latest/api/token 200',
  'v2 GET /latest/meta-data/instance-id 200',
  'v2 GET /latest/meta-data/iam/security-credentials/role 200',
  'v1 GET /latest/meta-data/ami-id 200',
];

interface EventView {
  imds: { kind: string; token?: { fingerprint?: string }; flow: { id: string } };
  http: { request: { method: string }; response?: { status_code: number } };
  url: { path: string };
  network: { type: string };
}

function summarize(events: Record<string, unknown>[]): string[] {
  return events.map((raw) => {
    const e = raw as unknown as EventView;
    return `${e.imds.kind} ${e.http.request.method} ${e.url.path} ${e.http.response?.status_code ?? '-'}`;
  });
}

async function analyse(
  t: { testdir(): string },
  records: Parameters<typeof pcapBytes>[0],
  opts: Parameters<typeof pcapBytes>[1] = {},
) {
  const path = join(t.testdir(), 'capture.pcap');
  writeFileSync(path, pcapBytes(records, opts));
  return runCli(['--read', path, '--format', 'json']);
}

const variants: Record<string, Partial<ConversationOptions>> = {
  'whole segments': {},
  'byte by byte': { segmentSize: 1 },
  'every segment retransmitted': { segmentSize: 7, retransmit: true },
  'adjacent segments swapped': { segmentSize: 5, reorder: true },
  'capture starts mid-connection': { handshake: false },
  'ends with RST': { close: 'rst' },
  'never closed (flushed at end of file)': { close: 'none' },
  '802.1Q + 802.1ad VLAN tags': { link: { type: 'ethernet', vlans: [{ id: 100 }, { id: 200 }] } },
  'Linux cooked v1 (any device)': { link: { type: 'sll' } },
  'Linux cooked v2': { link: { type: 'sll2' } },
  'raw IP': { link: { type: 'raw' } },
  'BSD loopback/null': { link: { type: 'null' } },
};

for (const [name, variant] of Object.entries(variants)) {
  t.test(`same requests whatever the capture: ${name}`, async (t) => {
    const out = await analyse(t, conversation({ client, server, exchanges, ...variant }));
    t.equal(out.code, 1, 'exit 1: an IMDSv1 call was seen');
    const { events, summary } = parseJsonOutput(out.stdout);
    t.same(summarize(events), expected);
    t.ok(summary, 'summary event last');
    for (const e of events) t.same(schemaErrors(e), [], 'event matches the shipped schema');
    const views = events as unknown as EventView[];
    const issued = views[0]?.imds.token?.fingerprint;
    t.match(issued, /^[0-9a-f]{16}$/, 'issued token fingerprinted');
    t.equal(views[1]?.imds.token?.fingerprint, issued, 'v2 use links to the issued token');
    t.equal(new Set(views.map((e) => e.imds.flow.id)).size, 1, 'one keep-alive connection');
    t.notOk(out.stdout.includes(TOKEN) || out.stderr.includes(TOKEN), 'token never printed');
    t.notOk(out.stdout.includes(SAMPLE_ACCESS_KEY_ID), 'response bodies never printed');
  });
}

t.test('IPv6 and both pcap byte orders with nanosecond timestamps', async (t) => {
  const v6 = conversation({
    client: { ip: '2001:db8::10', port: 40200 },
    server: { ip: 'fd00:ec2::254', port: 80 },
    exchanges,
  });
  for (const byteOrder of ['LE', 'BE'] as const) {
    const out = await analyse(t, v6, { byteOrder, precision: 'ns' });
    const { events } = parseJsonOutput(out.stdout);
    t.same(summarize(events), expected, byteOrder);
    t.ok(
      events.every((e) => (e as unknown as EventView).network.type === 'ipv6'),
      'network.type ipv6',
    );
  }
});

t.test('pipelined requests are matched to their responses in order', async (t) => {
  const first = exchanges[1];
  const last = exchanges[3];
  if (first === undefined || last === undefined) throw new Error('fixture');
  const pipelined = [
    {
      request: Buffer.concat([first.request, last.request]),
      response: Buffer.concat([first.response, res(404, 'nope')]),
    },
  ];
  const out = await analyse(t, conversation({ client, server, exchanges: pipelined }));
  t.same(summarize(parseJsonOutput(out.stdout).events), [
    'v2 GET /latest/meta-data/instance-id 200',
    'v1 GET /latest/meta-data/ami-id 404',
  ]);
});

t.test('only IMDSv2 traffic exits 0', async (t) => {
  const out = await analyse(t, conversation({ client, server, exchanges: exchanges.slice(0, 3) }));
  t.equal(out.code, 0);
});

t.test('garbage HTTP and oversized heads are counted, other requests still reported', async (t) => {
  const garbage = conversation({
    client: { ip: '192.0.2.11', port: 40300 },
    server,
    clientIsn: 1111,
    exchanges: [
      {
        request: Buffer.from('BREW /pot HTCPCP/1.0 \x00\x01\r\n\r\n', 'latin1'),
        response: Buffer.alloc(0),
      },
    ],
  });
  const huge = conversation({
    client: { ip: '192.0.2.12', port: 40301 },
    server,
    clientIsn: 2222,
    exchanges: [
      {
        request: req('GET', '/latest/meta-data/', { 'X-Padding': 'a'.repeat(40_000) }),
        response: Buffer.alloc(0),
      },
    ],
    startMs: 1_700_000_000_500,
  });
  const good = conversation({ client, server, exchanges, startMs: 1_700_000_001_000 });
  const out = await analyse(t, [...garbage, ...huge, ...good]);
  const { events, summary } = parseJsonOutput(out.stdout);
  t.same(summarize(events), expected);
  const text = JSON.stringify(summary);
  t.match(text, /"http\.parse_error":1/, 'garbage counted');
  t.match(text, /"http\.head_too_large":1/, 'oversized head counted');
});

t.test('the sample capture: text output, no secret printed', async (t) => {
  const path = join(t.testdir(), 'sample.pcap');
  writePcapFile(path, sampleCaptureRecords());
  const out = await runCli(['--read', path]);
  t.equal(out.code, 1);
  t.match(out.stdout, /v1 +GET \/latest\/meta-data\/iam\/security-credentials\/demo-role -> 200/);
  t.match(out.stdout, /upgrade aws-cli to >= 1\.16\.289/);
  t.match(out.stdout, /requests +8 \(v1 4, v2 3, token 1\)/);
  for (const secret of [SAMPLE_TOKEN, SAMPLE_ACCESS_KEY_ID]) {
    t.notOk(out.stdout.includes(secret) || out.stderr.includes(secret), 'secret absent');
  }
});

t.test('bad capture files: one error line with the fix, exit 2, no stack trace', async (t) => {
  const dir = t.testdir();
  const records = conversation({ client, server, exchanges });
  const whole = pcapBytes(records);
  const cases: [string, Buffer | undefined, RegExp][] = [
    ['missing.pcap', undefined, /ERR_CAPTURE_FILE_UNREADABLE/],
    ['random.bin', randomBytes(4096), /ERR_CAPTURE_FILE_FORMAT/],
    ['empty.pcap', Buffer.alloc(0), /ERR_CAPTURE_FILE_FORMAT|ERR_CAPTURE_TRUNCATED/],
    [
      'capture.pcapng',
      Buffer.from('0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000', 'hex'),
      /ERR_CAPTURE_PCAPNG.*editcap -F pcap/,
    ],
  ];
  for (const [name, bytes, pattern] of cases) {
    const path = join(dir, name);
    if (bytes !== undefined) writeFileSync(path, bytes);
    const out = await runCli(['--read', path]);
    t.equal(out.code, 2, name);
    t.match(out.stderr, pattern, name);
    t.equal(out.stderr.trim().split('\n').length, 1, `${name}: one line`);
    t.notMatch(out.stderr, /\n\s+at /, `${name}: no stack trace`);
  }

  // A truncated file: every complete frame is analysed and reported, then the error.
  const cut = join(dir, 'truncated.pcap');
  writeFileSync(cut, whole.subarray(0, whole.length - 20));
  const out = await runCli(['--read', cut, '--format', 'json']);
  t.equal(out.code, 2);
  t.match(out.stderr, /ERR_CAPTURE_TRUNCATED/);
  t.same(summarize(parseJsonOutput(out.stdout).events), expected, 'requests before the cut kept');
});

t.test(
  'events from a pcap file carry no host.hostname: the capture came from elsewhere',
  async (t) => {
    const out = await analyse(t, conversation({ client, server, exchanges }));
    const { events } = parseJsonOutput(out.stdout);
    t.equal(events.length, 4);
    t.ok(events.every((e) => !('host' in e)));
  },
);

t.test('v1 fallback: a token PUT left unanswered, then v1 from the same client', async (t) => {
  const agent = { 'User-Agent': 'aws-sdk-js/3.374.0' };
  const put = conversation({
    client,
    server,
    clientIsn: 5000,
    close: 'none', // the SDK keeps the connection open after its timeout
    exchanges: [
      {
        request: req('PUT', '/latest/api/token', {
          'X-aws-ec2-metadata-token-ttl-seconds': '21600',
          ...agent,
        }),
        response: Buffer.alloc(0),
      },
    ],
  });
  const v1 = conversation({
    client: { ip: client.ip, port: client.port + 1 },
    server,
    clientIsn: 9000,
    startMs: 1_700_000_001_000,
    exchanges: [
      {
        request: req('GET', '/latest/meta-data/iam/security-credentials/', agent),
        response: res(200, 'role'),
      },
    ],
  });
  const out = await analyse(t, [...put, ...v1]);
  const { events } = parseJsonOutput(out.stdout);
  const byKind = new Map(events.map((e) => [(e as unknown as EventView).imds.kind, e]));
  const fallback = (byKind.get('v1') as { imds: { fallback?: Record<string, string> } }).imds
    .fallback;
  t.equal(fallback?.token_outcome, 'no answer yet');
  t.equal(fallback?.after_flow_id, (byKind.get('token') as unknown as EventView).imds.flow.id);
  t.match(fallback?.explanation, /gave up waiting for the token/);
  t.match(out.stdout, /"outcome":"no_response"/, 'the PUT is reported, unanswered');
});
