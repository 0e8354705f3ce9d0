/**
 * Live-capture probe for tests that must capture inside a network namespace (Node cannot enter
 * one, so the test runs this through `ip netns exec`). Built to dist/test/helpers/capture-probe.js.
 *
 *   node dist/test/helpers/capture-probe.js <interface> [bpf-filter]
 *
 * stdout, one JSON object per line:
 *   {"ready":true,"interface":"eth0"}                       capture is open, traffic may start
 *   {"kind":"tcp","timeMs":...,"srcIp":...,"dstPort":80,"flags":24,"payload":"<base64>"}   per frame
 *   {"kind":"ignored"|"malformed","reason":"decode...."}    per frame decode did not take
 *   {"stats":{...}}                                          on SIGTERM/SIGINT, then exit 0
 *   {"error":"ERR_CAPTURE_...","message":"..."}              on failure, exit 2
 */
import { LiveCapture } from '../../src/capture/live.js';
import { CaptureError } from '../../src/capture/frame.js';
import { decodeFrame } from '../../src/decode/link.js';

const [iface = 'eth0', filter] = process.argv.slice(2);
const capture = new LiveCapture({
  interface: iface,
  ...(filter === undefined ? {} : { filter }),
});
const print = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const done = capture.run((frame) => {
  const d = decodeFrame(frame.linkType, frame.data);
  if (d.kind === 'tcp') {
    const s = d.segment;
    print({
      kind: 'tcp',
      timeMs: frame.timeMs,
      linkType: frame.linkType,
      family: s.family,
      srcIp: s.srcIp,
      dstIp: s.dstIp,
      srcPort: s.srcPort,
      dstPort: s.dstPort,
      flags: s.flags,
      ttl: s.ttl,
      payload: s.payload.toString('base64'),
    });
  } else {
    print({ kind: d.kind, linkType: frame.linkType, reason: d.reason });
  }
});

done.then(
  () => {
    print({ stats: capture.stats() });
    process.exit(0);
  },
  (err: unknown) => {
    const e = err instanceof CaptureError ? err : new CaptureError('ERR_CAPTURE_OPEN', String(err));
    print({ error: e.code, message: e.message });
    process.exit(2);
  },
);
// run() opens synchronously; if it failed the rejection above reports instead.
setImmediate(() => {
  print({ ready: true, interface: iface });
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    capture.stop();
  });
}
