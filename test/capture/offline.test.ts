import t from 'tap';
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OfflineCapture } from '../../src/capture/offline.js';
import { CaptureError, type Frame } from '../../src/capture/frame.js';
import { decodeFrame } from '../../src/decode/link.js';
import { conversation } from '../helpers/packet-conversation.js';
import { pcapBytes, writePcapFile } from '../helpers/pcap-writer.js';

const records = conversation({
  client: { ip: '192.0.2.2', port: 40000 },
  server: { ip: '169.254.169.254', port: 80 },
  exchanges: [
    {
      request: Buffer.from('GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n'),
      response: Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nami'),
    },
  ],
  startMs: 1_700_000_000_123.456,
  stepMs: 0.25,
});

async function readAll(
  path: string,
): Promise<{ frames: Frame[]; counted: number; end?: string; error?: CaptureError }> {
  const capture = new OfflineCapture(path);
  const frames: Frame[] = [];
  try {
    const end = await capture.run((f) => frames.push(f));
    return { frames, counted: capture.stats().frames, end };
  } catch (err) {
    if (!(err instanceof CaptureError)) throw err;
    return { frames, counted: capture.stats().frames, error: err };
  }
}

for (const byteOrder of ['LE', 'BE'] as const) {
  for (const precision of ['us', 'ns'] as const) {
    t.test(`${byteOrder} ${precision} file: every frame, link type and time`, async (t) => {
      const dir = t.testdir();
      const path = join(dir, 'c.pcap');
      writePcapFile(path, records, { byteOrder, precision });
      const { frames, end, counted } = await readAll(path);
      t.equal(end, 'eof');
      t.equal(counted, records.length);
      t.equal(frames.length, records.length);
      frames.forEach((f, i) => {
        const want = records[i];
        if (want === undefined) return;
        t.equal(f.linkType, 1);
        t.same(f.data, want.data);
        t.equal(f.originalLength, want.data.length);
        t.ok(Math.abs(f.timeMs - want.timeMs) < 0.001, `time ${f.timeMs} ~ ${want.timeMs}`);
      });
      // sub-millisecond fraction survives (0.456 ms, then steps of 0.25 ms)
      t.equal(Math.round(((frames[1]?.timeMs ?? 0) % 1) * 1000), 706);
      const third = frames[3];
      t.ok(third !== undefined && decodeFrame(third.linkType, third.data).kind === 'tcp');
    });
  }
}

t.test('nanosecond digits beyond microseconds are kept', async (t) => {
  const path = join(t.testdir(), 'ns.pcap');
  const bytes = pcapBytes(
    [{ timeMs: 1_700_000_000_000, data: records[0]?.data ?? Buffer.alloc(0) }],
    { precision: 'ns' },
  );
  bytes.writeUInt32LE(123_456_789, 24 + 4); // fraction field of the first record
  writeFileSync(path, bytes);
  const { frames } = await readAll(path);
  t.equal(frames[0]?.timeMs, 1_700_000_000_000 + 123.456789);
});

t.test('link type from the file header goes into each frame', async (t) => {
  const sll = conversation({
    client: { ip: '2001:db8::2', port: 4000 },
    server: { ip: 'fd00:ec2::254', port: 80 },
    exchanges: [],
    link: { type: 'sll' },
  });
  const path = join(t.testdir(), 'sll.pcap');
  writePcapFile(path, sll, { byteOrder: 'BE' });
  const { frames } = await readAll(path);
  t.equal(frames.length, sll.length);
  t.ok(frames.every((f) => f.linkType === 113));
});

t.test('pcapng is refused with the editcap fix', async (t) => {
  const path = join(t.testdir(), 'x.pcapng');
  const shb = Buffer.from('0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000', 'hex');
  writeFileSync(path, shb);
  const { error } = await readAll(path);
  t.equal(error?.code, 'ERR_CAPTURE_PCAPNG');
  t.match(error?.message, /editcap -F pcap .*x\.pcapng out\.pcap/);
  t.notMatch(error?.message, /\n\s+at /);
});

t.test('a truncated last record: complete frames first, then ERR_CAPTURE_TRUNCATED', async (t) => {
  for (const truncateBy of [1, 10, (records.at(-1)?.data.length ?? 0) + 3]) {
    const path = join(t.testdir(), `t${truncateBy}.pcap`);
    writePcapFile(path, records, { truncateBy });
    const { frames, error } = await readAll(path);
    t.equal(frames.length, records.length - 1, `cut ${truncateBy}`);
    t.equal(error?.code, 'ERR_CAPTURE_TRUNCATED');
    t.match(error?.message, new RegExp(`after ${records.length - 1} complete frames`));
  }
  const headerOnly = join(t.testdir(), 'short.pcap');
  writeFileSync(headerOnly, pcapBytes(records).subarray(0, 10));
  t.equal((await readAll(headerOnly)).error?.code, 'ERR_CAPTURE_TRUNCATED');
});

t.test('not a capture, missing, unreadable and unsupported files', async (t) => {
  const dir = t.testdir();
  const random = join(dir, 'random.bin');
  writeFileSync(random, Buffer.concat([Buffer.from('GIF8'), randomBytes(4096)]));
  const r = await readAll(random);
  t.equal(r.error?.code, 'ERR_CAPTURE_FILE_FORMAT');
  t.match(r.error?.message, /0x47494638/);

  const empty = join(dir, 'empty.pcap');
  writeFileSync(empty, '');
  t.equal((await readAll(empty)).error?.code, 'ERR_CAPTURE_FILE_FORMAT');

  const missing = await readAll(join(dir, 'nope.pcap'));
  t.equal(missing.error?.code, 'ERR_CAPTURE_FILE_UNREADABLE');
  t.match(missing.error?.message, /nope\.pcap \(no such file\)/);

  t.equal((await readAll(dir)).error?.code, 'ERR_CAPTURE_FILE_UNREADABLE');

  const wifi = join(dir, 'wifi.pcap');
  writePcapFile(wifi, records, { linkType: 127 });
  t.equal((await readAll(wifi)).error?.code, 'ERR_CAPTURE_LINKTYPE');

  if (process.getuid?.() !== 0) {
    const locked = join(dir, 'locked.pcap');
    writePcapFile(locked, records);
    chmodSync(locked, 0);
    t.equal((await readAll(locked)).error?.code, 'ERR_CAPTURE_FILE_UNREADABLE');
  }
});

t.test('a valid header followed by random records never hangs or throws', async (t) => {
  for (let i = 0; i < 20; i++) {
    const path = join(t.testdir(), `r${i}.pcap`);
    writeFileSync(path, Buffer.concat([pcapBytes([]), randomBytes(1000 + i * 997)]));
    const r = await readAll(path);
    t.ok(r.end === 'eof' || r.error !== undefined, `file ${i} ends cleanly`);
    if (r.error) t.match(r.error.code, /ERR_CAPTURE_(TRUNCATED|FILE_FORMAT)/);
  }
});

t.test('stop() during delivery resolves stopped and delivers nothing more', async (t) => {
  const path = join(t.testdir(), 'stop.pcap');
  writePcapFile(path, records);
  const capture = new OfflineCapture(path);
  let seen = 0;
  const end = await capture.run(() => {
    seen += 1;
    if (seen === 3) capture.stop();
  });
  t.equal(end, 'stopped');
  t.equal(seen, 3);
  capture.stop();
});
