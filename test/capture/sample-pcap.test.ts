import t from 'tap';
import { join } from 'node:path';
import { OfflineCapture } from '../../src/capture/offline.js';
import { decodeFrame } from '../../src/decode/link.js';
import type { TcpSegment } from '../../src/decode/segment.js';
import { sampleCaptureRecords, SAMPLE_TOKEN } from '../../scripts/make-sample-pcap.js';
import { writePcapFile } from '../helpers/pcap-writer.js';

t.test('the sample capture reads back and holds every advertised request', async (t) => {
  const path = join(t.testdir(), 'sample.pcap');
  writePcapFile(path, sampleCaptureRecords());
  const segments: TcpSegment[] = [];
  let previous = 0;
  let ordered = true;
  const end = await new OfflineCapture(path).run((f) => {
    if (f.timeMs < previous) ordered = false;
    previous = f.timeMs;
    const d = decodeFrame(f.linkType, f.data);
    if (d.kind === 'tcp') segments.push(d.segment);
  });
  t.equal(end, 'eof');
  t.ok(ordered, 'frames in time order');
  t.equal(segments.length, sampleCaptureRecords().length, 'every frame decodes to TCP');

  const toServer = segments.filter((s) => s.dstPort === 80);
  const requests = toServer.map((s) => s.payload.toString('latin1')).filter((p) => p !== '');
  const lines = requests.map((r) => r.split('\r\n')[0]);
  t.same(lines, [
    'GET /latest/meta-data/iam/security-credentials/ HTTP/1.1',
    'GET /latest/meta-data/iam/security-credentials/demo-role HTTP/1.1',
    'GET /latest/meta-data/instance-id HTTP/1.1',
    'PUT /latest/api/token HTTP/1.1',
    'GET /latest/meta-data/iam/security-credentials/ HTTP/1.1',
    'GET /latest/meta-data/iam/security-credentials/demo-role HTTP/1.1',
    'GET /latest/meta-data/placement/availability-zone HTTP/1.1',
    'GET /latest/meta-data/ami-id HTTP/1.1',
  ]);
  t.equal(
    requests.filter((r) => r.includes(`X-aws-ec2-metadata-token: ${SAMPLE_TOKEN}`)).length,
    3,
  );
  t.ok(requests[3]?.includes('X-aws-ec2-metadata-token-ttl-seconds: 21600'));
  t.ok(toServer.some((s) => s.family === 'ipv6' && s.dstIp === 'fd00:ec2::254'));

  const answers = segments.filter((s) => s.srcPort === 80 && s.payload.length > 0);
  const tokenAnswer = answers.find((s) =>
    s.payload.includes('X-Aws-Ec2-Metadata-Token-Ttl-Seconds'),
  );
  t.equal(tokenAnswer?.ttl, 1, 'token answer carries the default hop limit');
  t.ok(answers.some((s) => s.payload.toString().startsWith('HTTP/1.1 401 Unauthorized')));
  t.ok(
    answers.some((s) => s.payload.includes('AKIAEXAMPLE')),
    'fake credentials only',
  );
});
