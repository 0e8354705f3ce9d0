import t from 'tap';
import { Rollup, RollupScheduler, type RollupEvent } from '../../src/sinks/rollup.js';
import { journalRollupLine } from '../../src/sinks/journal-line.js';
import { curlProcess, EXITED, HOST, OK, record, T0 } from './records.js';
import { schemaErrors } from './validate.js';

const cron = record();
const other = record({
  attribution: { ...OK, process: curlProcess({ commandLine: 'python3 agent.py', pid: 77 }) },
});

t.test('first sighting is logged at once, repeats are rolled up per key', (t) => {
  const events: RollupEvent[] = [];
  const r = new Rollup(60_000, (e) => events.push(e), { host: HOST });
  t.equal(r.offer(cron, T0), 'first');
  t.equal(r.offer(cron, T0 + 1000), 'repeat');
  t.equal(r.offer(record({ status: 404 }), T0 + 2000), 'repeat');
  t.equal(
    r.offer(record({ target: '/latest/meta-data/ami-id' }), T0 + 3000),
    'first',
    'other path',
  );
  t.equal(r.offer(record({ kind: 'v2' }), T0 + 3000), 'first', 'other kind');
  t.equal(r.offer(other, T0 + 4000), 'first', 'other process');
  t.equal(events.length, 0, 'nothing before the interval ends');
  r.flush(T0 + 60_000);
  t.equal(events.length, 1);
  const [ev] = events;
  t.same(schemaErrors(ev), []);
  t.same(ev, {
    '@timestamp': '2026-01-02T03:05:05.678Z',
    event: { kind: 'metric', category: ['network'], action: 'imds-rollup' },
    imds: {
      kind: 'v1',
      identity:
        '/usr/bin/curl: curl -s http://169.254.169.254/latest/meta-data/ (unit cron.service)',
      rollup: {
        count: 2,
        first_seen: '2026-01-02T03:04:06.678Z',
        last_seen: '2026-01-02T03:04:07.678Z',
        interval_s: 60,
        statuses: { '200': 1, '404': 1 },
      },
      attribution: { status: 'ok' },
    },
    url: { path: '/latest/meta-data/instance-id' },
    host: { hostname: 'host-a.example' },
    source: { ip: '192.0.2.2' },
    process: {
      pid: 1234,
      name: 'curl',
      executable: '/usr/bin/curl',
      command_line: 'curl -s http://169.254.169.254/latest/meta-data/',
    },
    user: { id: '0', name: 'root' },
  });
  r.flush(T0 + 120_000);
  t.equal(events.length, 1, 'an idle interval emits nothing');
  t.equal(r.offer(cron, T0 + 130_000), 'repeat', 'still known in a later interval');
  t.end();
});

t.test('counts stay exact under 10k repeats over several keys and intervals', (t) => {
  const events: RollupEvent[] = [];
  const r = new Rollup(1000, (e) => events.push(e));
  const records = [cron, other, record({ attribution: EXITED }), record({ kind: 'v2' })];
  let firsts = 0;
  let nextFlush = T0 + 1000;
  for (let i = 0; i < 10_000; i++) {
    const now = T0 + i;
    if (now >= nextFlush) {
      r.flush(nextFlush);
      nextFlush += 1000;
    }
    const rec = records[i % records.length] ?? cron;
    if (r.offer(rec, now) === 'first') firsts++;
  }
  r.flush(nextFlush);
  t.equal(firsts, records.length);
  const rolled = events.reduce((n, e) => n + e.imds.rollup.count, 0);
  t.equal(firsts + rolled, 10_000, 'every call is either a first or counted once');
  t.equal(events.length, 10 * records.length, 'one event per key per interval');
  for (const e of events) t.same(schemaErrors(e), [], 'valid');
  t.end();
});

t.test('bounded keys: overflow is reported as an aggregate with exact counts', (t) => {
  const events: RollupEvent[] = [];
  const r = new Rollup(60_000, (e) => events.push(e), { maxKeys: 3 });
  const paths = Array.from({ length: 10 }, (_, i) => record({ target: `/latest/p${i}` }));
  let firsts = 0;
  // Seen-set holds 3 keys (LRU): cycling 10 paths means every sighting is a "first" again.
  for (const p of paths) if (r.offer(p, T0) === 'first') firsts++;
  t.equal(firsts, 10);
  t.equal(r.seenEvicted, 7);

  // With 3 remembered keys hammered, repeats fill the 3 counters; no overflow yet.
  const events2: RollupEvent[] = [];
  const r2 = new Rollup(60_000, (e) => events2.push(e), { maxKeys: 3 });
  let offered = 0;
  let firsts2 = 0;
  for (let round = 0; round < 1000; round++) {
    for (const p of paths.slice(0, 3)) {
      offered++;
      if (r2.offer(p, T0 + round) === 'first') firsts2++;
    }
  }
  r2.flush(T0 + 60_000);
  t.equal(events2.length, 3);
  t.equal(firsts2 + events2.reduce((n, e) => n + e.imds.rollup.count, 0), offered);
  t.end();
});

t.test('counters past the cap fold into one overflow event per kind', (t) => {
  const events: RollupEvent[] = [];
  // maxKeys 4: four keys seen and repeated fill the counter table; a fifth key is remembered
  // (pushing the oldest out of the seen set) but its repeats find no free counter.
  const r = new Rollup(60_000, (e) => events.push(e), { maxKeys: 4 });
  const paths = Array.from({ length: 4 }, (_, i) => record({ target: `/latest/p${i}` }));
  for (const p of paths) r.offer(p, T0);
  for (const p of paths) r.offer(p, T0 + 1);
  t.equal(r.pendingKeys, 4);
  const fifth = record({ target: '/latest/p4' });
  t.equal(r.offer(fifth, T0 + 2), 'first');
  t.equal(r.offer(fifth, T0 + 3), 'repeat');
  t.equal(r.offer(fifth, T0 + 4), 'repeat');
  t.equal(r.pendingKeys, 5, '4 keys and one overflow aggregate');
  r.flush(T0 + 60_000);
  const overflow = events.find((e) => e.imds.rollup.overflow_keys !== undefined);
  t.ok(overflow);
  t.same(schemaErrors(overflow), []);
  t.equal(overflow?.imds.identity, '(other keys)');
  t.equal(overflow?.imds.rollup.count, 2);
  t.equal(overflow?.imds.rollup.overflow_keys, 1);
  t.equal(overflow?.url, undefined);
  t.equal(
    events.reduce((n, e) => n + e.imds.rollup.count, 0),
    6,
  );
  t.end();
});

t.test('the scheduler flushes what is pending when stopped', (t) => {
  const events: RollupEvent[] = [];
  const r = new Rollup(3_600_000, (e) => events.push(e));
  const s = new RollupScheduler(r, () => T0 + 10);
  r.offer(cron, T0);
  r.offer(cron, T0 + 1);
  s.stop();
  t.equal(events.length, 1);
  t.equal(events[0]?.imds.rollup.count, 1);
  t.throws(() => new Rollup(0, () => undefined), RangeError);
  t.end();
});

t.test('roll-up journal lines keep v1 repeats at warning priority', (t) => {
  const events: RollupEvent[] = [];
  const r = new Rollup(60_000, (e) => events.push(e));
  for (const kind of ['v1', 'v2'] as const) {
    const rec = record({ kind });
    r.offer(rec, T0);
    r.offer(rec, T0 + 1);
    r.offer(rec, T0 + 2);
  }
  r.flush(T0 + 60_000);
  t.same(
    events.map((e) => journalRollupLine(e)),
    [
      '<4>v1 /latest/meta-data/instance-id repeated 2 times in 60 s by /usr/bin/curl: curl -s http://169.254.169.254/latest/meta-data/ (unit cron.service)',
      '<6>v2 /latest/meta-data/instance-id repeated 2 times in 60 s by /usr/bin/curl: curl -s http://169.254.169.254/latest/meta-data/ (unit cron.service)',
    ],
  );
  t.end();
});
