import t from 'tap';
import fc from 'fast-check';
import { decodeFrame } from '../../src/decode/link.js';
import { ipTcp, linkFrame } from '../helpers/packets.js';

const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 127];

t.test('random bytes under every link type never throw and yield a result', (t) => {
  fc.assert(
    fc.property(fc.constantFrom(...LINK_TYPES), fc.uint8Array({ maxLength: 200 }), (lt, bytes) => {
      const r = decodeFrame(lt, Buffer.from(bytes));
      return ['tcp', 'ignored', 'malformed'].includes(r.kind);
    }),
    { numRuns: 20_000 },
  );
  t.pass('20000 random frames decoded');
  t.end();
});

t.test('random corruption of valid frames never throws and payload stays inside the frame', (t) => {
  const seeds = [
    linkFrame(
      { type: 'ethernet', vlans: [{ id: 4 }] },
      ipTcp({
        src: { ip: '192.0.2.2', port: 1 },
        dst: { ip: '169.254.169.254', port: 80 },
        payload: Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      }),
    ),
    linkFrame(
      { type: 'ethernet' },
      ipTcp({
        src: { ip: '2001:db8::2', port: 1 },
        dst: { ip: 'fd00:ec2::254', port: 80 },
        payload: Buffer.from('abc'),
        extensionHeaders: [{ type: 'hop-by-hop' }, { type: 'fragment' }, { type: 'ah' }],
      }),
    ),
  ];
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.nat(),
      (seed, edits, cut) => {
        const data = Buffer.from(seed);
        for (const [pos, value] of edits) data[pos % data.length] = value;
        const framed = data.subarray(0, data.length - (cut % 8));
        const r = decodeFrame(1, framed);
        if (r.kind !== 'tcp') return true;
        const p = r.segment.payload;
        return (
          p.byteOffset >= framed.byteOffset &&
          p.byteOffset + p.length <= framed.byteOffset + framed.length
        );
      },
    ),
    { numRuns: 20_000 },
  );
  t.pass('20000 corrupted frames decoded');
  t.end();
});
