/**
 * Writes a small, realistic IMDS capture for demos, docs and end-to-end tests:
 *
 *   node dist/scripts/make-sample-pcap.js [out.pcap]      (default /tmp/imds-sample.pcap)
 *
 * Connections, in time order (client 192.0.2.10 / 2001:db8::10, Ethernet, classic pcap):
 *   1. IMDSv1 aws-cli/1.16.0: GET security-credentials/ then .../demo-role (keep-alive)
 *   2. IMDSv1 Boto3/1.9.0: GET instance-id
 *   3. IMDSv2 aws-sdk-go/1.44.0: PUT /latest/api/token (ttl 21600) -> 200 with the token,
 *      then two GETs carrying it on the same keep-alive connection (IMDS answers with TTL 1)
 *   4. IMDSv2 over IPv6 curl/7.88.1: GET placement/availability-zone with the token
 *   5. curl/7.88.1 without a token: GET ami-id -> 401 Unauthorized
 * Credentials and token are obviously fake (AKIAEXAMPLE...).
 */
import { pathToFileURL } from 'node:url';
import { conversation, type Exchange } from '../test/helpers/packet-conversation.js';
import type { PacketRecord } from '../test/helpers/packets.js';
import { writePcapFile } from '../test/helpers/pcap-writer.js';

export const SAMPLE_TOKEN = 'AQAEAEXAMPLE-FAKE-TOKEN-0123456789abcdefghijklmnopqrstuvwxyzEXAMPLE==';
export const SAMPLE_ACCESS_KEY_ID = 'AKIAEXAMPLEEXAMPLE00';

const UA = {
  awsCli: 'aws-cli/1.16.0 Python/3.6.9 Linux/5.4.0-1045-aws botocore/1.12.0',
  boto3: 'Boto3/1.9.0 Python/3.6.9 Linux/5.4.0-1045-aws Botocore/1.12.0',
  go: 'aws-sdk-go/1.44.0 (go1.19.3; linux; amd64)',
  curl: 'curl/7.88.1',
};

const DATE = 'Mon, 25 Nov 2024 12:00:00 GMT';
const credentials = JSON.stringify(
  {
    Code: 'Success',
    LastUpdated: '2024-11-25T11:58:00Z',
    Type: 'AWS-HMAC',
    AccessKeyId: SAMPLE_ACCESS_KEY_ID,
    SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    Token: 'IQoJb3JpZ2luX2VjEXAMPLE-FAKE-SESSION-TOKEN',
    Expiration: '2024-11-25T18:00:00Z',
  },
  null,
  2,
);

function request(
  method: string,
  path: string,
  host: string,
  userAgent: string,
  extra: Record<string, string> = {},
): Buffer {
  const headers = { Host: host, 'User-Agent': userAgent, Accept: '*/*', ...extra };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  return Buffer.from(`${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
}

function response(status: string, body: string, extra: Record<string, string> = {}): Buffer {
  const headers = {
    'Content-Type': 'text/plain',
    'Accept-Ranges': 'none',
    'Content-Length': String(Buffer.byteLength(body)),
    Date: DATE,
    Server: 'EC2ws',
    ...extra,
  };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  return Buffer.from(`HTTP/1.1 ${status}\r\n${lines.join('\r\n')}\r\n\r\n${body}`);
}

const V4 = '169.254.169.254';
const V6 = 'fd00:ec2::254';
const V6_HOST = '[fd00:ec2::254]';
const token = { 'X-aws-ec2-metadata-token': SAMPLE_TOKEN };
const credsPath = '/latest/meta-data/iam/security-credentials/';

/** The sample capture as frame records (Ethernet), in time order. */
export function sampleCaptureRecords(startMs = 1_732_536_000_000): PacketRecord[] {
  const connections: {
    client: string;
    server: string;
    port: number;
    serverTtl?: number;
    exchanges: Exchange[];
  }[] = [
    {
      client: '192.0.2.10',
      server: V4,
      port: 41000,
      exchanges: [
        {
          request: request('GET', credsPath, V4, UA.awsCli),
          response: response('200 OK', 'demo-role'),
        },
        {
          request: request('GET', `${credsPath}demo-role`, V4, UA.awsCli),
          response: response('200 OK', credentials),
        },
      ],
    },
    {
      client: '192.0.2.10',
      server: V4,
      port: 41001,
      exchanges: [
        {
          request: request('GET', '/latest/meta-data/instance-id', V4, UA.boto3),
          response: response('200 OK', 'i-0123456789abcdef0'),
        },
      ],
    },
    {
      client: '192.0.2.10',
      server: V4,
      port: 41002,
      serverTtl: 1,
      exchanges: [
        {
          request: request('PUT', '/latest/api/token', V4, UA.go, {
            'X-aws-ec2-metadata-token-ttl-seconds': '21600',
          }),
          response: response('200 OK', SAMPLE_TOKEN, {
            'X-Aws-Ec2-Metadata-Token-Ttl-Seconds': '21600',
          }),
        },
        {
          request: request('GET', credsPath, V4, UA.go, token),
          response: response('200 OK', 'demo-role'),
        },
        {
          request: request('GET', `${credsPath}demo-role`, V4, UA.go, token),
          response: response('200 OK', credentials),
        },
      ],
    },
    {
      client: '2001:db8::10',
      server: V6,
      port: 41003,
      exchanges: [
        {
          request: request(
            'GET',
            '/latest/meta-data/placement/availability-zone',
            V6_HOST,
            UA.curl,
            token,
          ),
          response: response('200 OK', 'us-east-1a'),
        },
      ],
    },
    {
      client: '192.0.2.10',
      server: V4,
      port: 41004,
      exchanges: [
        {
          request: request('GET', '/latest/meta-data/ami-id', V4, UA.curl),
          response: response('401 Unauthorized', '', { Connection: 'close' }),
        },
      ],
    },
  ];

  const records: PacketRecord[] = [];
  let time = startMs;
  connections.forEach((c, i) => {
    const recs = conversation({
      client: { ip: c.client, port: c.port },
      server: { ip: c.server, port: 80 },
      exchanges: c.exchanges,
      startMs: time,
      stepMs: 0.2,
      clientIsn: 0x1000_0000 * (i + 1),
      serverIsn: 0x0800_0000 * (i + 3),
      ...(c.serverTtl === undefined ? {} : { serverTtl: c.serverTtl }),
    });
    records.push(...recs);
    time = (recs.at(-1)?.timeMs ?? time) + 250;
  });
  return records;
}

function main(): void {
  const out = process.argv[2] ?? '/tmp/imds-sample.pcap';
  const records = sampleCaptureRecords();
  writePcapFile(out, records);
  process.stdout.write(`wrote ${records.length} frames in 5 connections to ${out}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main();
}
