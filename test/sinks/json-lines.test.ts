import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import t from 'tap';
import { LineWriter } from '../../src/sinks/json-lines.js';

t.test('one JSON object per line, in order', async (t) => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const w = new LineWriter(out);
  w.writeJson({ a: 1, s: 'x\ny' });
  w.writeJson({ b: [2] });
  await w.flush();
  t.equal(Buffer.concat(chunks).toString(), '{"a":1,"s":"x\\ny"}\n{"b":[2]}\n');
  t.end();
});

t.test('a reader that closes the pipe (| head -n 1) ends output quietly', async (t) => {
  const head = spawn('head', ['-n', '1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const headClosed = once(head, 'close'); // before it can happen
  let headOut = '';
  head.stdout.on('data', (c: Buffer) => (headOut += c.toString()));
  let closedWith: NodeJS.ErrnoException | undefined | 'never' = 'never';
  const w = new LineWriter(head.stdin, {
    onClosed: (e) => {
      closedWith = e;
    },
  });
  let calls = 0;
  // Keep writing until the closed pipe is noticed; it must never throw.
  while (!w.closed && calls < 1_000_000) {
    w.writeJson({ n: calls++, pad: 'x'.repeat(100) });
    if (calls % 1000 === 0) await w.drained();
    if (calls % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  await headClosed;
  t.ok(w.closed, 'closed noticed');
  t.equal(closedWith, undefined, 'EPIPE is quiet: no error reported');
  t.equal(headOut, '{"n":0,"pad":"' + 'x'.repeat(100) + '"}\n');
  t.notOk(w.writeJson({ after: true }), 'later writes are no-ops');
  await w.flush();
  t.end();
});

t.test('a stalled reader: lines wait, then overflow is dropped and counted', async (t) => {
  const written: string[] = [];
  let release: (() => void) | undefined;
  const slow = new Writable({
    highWaterMark: 64,
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk.toString());
      release = cb;
    },
  });
  const w = new LineWriter(slow, { maxQueuedBytes: 100 });
  t.ok(w.writeLine('a'.repeat(30)), 'under the high-water mark');
  t.notOk(w.writeLine('b'.repeat(40)), 'handed on, but the stream asks to wait');
  t.notOk(w.writeLine('c'.repeat(40)), 'queued');
  t.notOk(w.writeLine('d'.repeat(40)), 'queued');
  t.notOk(w.writeLine('e'.repeat(40)), 'over the queue bound: dropped');
  t.equal(w.droppedLines, 1);
  t.notOk(w.ready);
  const drained = w.drained();
  // Let the slow stream complete its writes one by one.
  while (written.length < 4) {
    const r = release;
    release = undefined;
    r?.();
    await new Promise((res) => setImmediate(res));
  }
  release?.();
  await drained;
  t.same(
    written.map((s) => s[0]),
    ['a', 'b', 'c', 'd'],
  );
  t.end();
});

t.test('other write errors close the writer and are reported once', (t) => {
  const broken = new Writable({
    write(_chunk, _enc, cb) {
      cb(Object.assign(new Error('disk on fire'), { code: 'EIO' }));
    },
  });
  const errors: (NodeJS.ErrnoException | undefined)[] = [];
  const w = new LineWriter(broken, { onClosed: (e) => errors.push(e) });
  w.writeLine('x');
  broken.on('close', () => {
    t.equal(errors.length, 1);
    t.equal(errors[0]?.code, 'EIO');
    t.ok(w.closed);
    t.end();
  });
});
