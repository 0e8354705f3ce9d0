/** Property tests: roll-up counts stay exact and text lines stay one clean line, whatever comes. */
import fc from 'fast-check';
import t from 'tap';
import { journalLine } from '../../src/sinks/journal-line.js';
import { Rollup, type RollupEvent } from '../../src/sinks/rollup.js';
import { toEcsEvent } from '../../src/sinks/ecs-event.js';
import { textLine } from '../../src/sinks/text-line.js';
import { EXITED, HOST, record, T0, UNKNOWN } from './records.js';
import { schemaErrors } from './validate.js';

const kinds = ['v1', 'v2', 'token'] as const;

t.test('roll-up: firsts plus rolled-up counts equal the calls offered', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.array(
        fc.oneof(
          fc.record({
            path: fc.integer({ min: 0, max: 9 }),
            kind: fc.integer({ min: 0, max: 2 }),
            who: fc.integer({ min: 0, max: 2 }),
          }),
          fc.constant('flush' as const),
        ),
        { maxLength: 300 },
      ),
      (maxKeys, steps) => {
        const events: RollupEvent[] = [];
        const r = new Rollup(1000, (e) => events.push(e), { maxKeys });
        let offered = 0;
        let firsts = 0;
        let now = T0;
        for (const step of steps) {
          now += 1;
          if (step === 'flush') {
            r.flush(now);
            continue;
          }
          offered++;
          const rec = record({
            kind: kinds[step.kind] ?? 'v1',
            target: `/latest/p${step.path}`,
            attribution: [undefined, EXITED, UNKNOWN][step.who],
          });
          if (r.offer(rec, now) === 'first') firsts++;
        }
        r.flush(now + 1);
        const rolled = events.reduce((n, e) => n + e.imds.rollup.count, 0);
        return firsts + rolled === offered && r.pendingKeys === 0;
      },
    ),
    { numRuns: 300 },
  );
  t.end();
});

t.test('text and journal lines are one line without control characters', (t) => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
      (agent, target, method) => {
        const r = record({
          headers: [{ name: 'User-Agent', value: agent }],
          target: `/${target}`,
          method: method === '' ? 'GET' : method,
        });
        for (const line of [textLine(r), journalLine(r)]) {
          // eslint-disable-next-line no-control-regex -- asserting these are absent
          if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(line)) return false;
        }
        return schemaErrors(toEcsEvent(r, HOST)).length === 0;
      },
    ),
    { numRuns: 300 },
  );
  t.end();
});
