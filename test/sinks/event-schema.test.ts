import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { eventSchema } from '../../src/sinks/event-schema.js';
import { toEcsEvent } from '../../src/sinks/ecs-event.js';
import { HOST, record } from './records.js';
import { schemaErrors } from './validate.js';

const JSON_FILE = new URL('../../src/sinks/event-schema.json', import.meta.url);
const expected = JSON.stringify(eventSchema, null, 2) + '\n';

t.test('the shipped event-schema.json is generated from event-schema.ts', (t) => {
  // WRITE_EVENT_SCHEMA=1 npx tap test/sinks/event-schema.test.ts regenerates it.
  if (process.env.WRITE_EVENT_SCHEMA === '1') writeFileSync(JSON_FILE, expected); // then: npx prettier --write src/sinks/event-schema.json
  // Compared as data: Prettier may lay the file out differently.
  t.same(
    JSON.parse(readFileSync(JSON_FILE, 'utf8')),
    JSON.parse(expected),
    'out of date: run WRITE_EVENT_SCHEMA=1 npx tap test/sinks/event-schema.test.ts',
  );
  t.end();
});

t.test('the schema rejects what it must', (t) => {
  const good = toEcsEvent(record(), HOST);
  t.same(schemaErrors(good), []);
  const withHeaders = {
    ...good,
    http: { ...good.http, request: { ...good.http.request, headers: {} } },
  };
  t.not(schemaErrors(withHeaders).length, 0, 'no place for request headers');
  const noPath = Object.fromEntries(Object.entries(good).filter(([k]) => k !== 'url'));
  t.not(schemaErrors(noPath).length, 0, 'url.path is required');
  t.not(schemaErrors({ ...good, imds: { ...good.imds, kind: 'v3' } }).length, 0, 'kind is closed');
  t.not(
    schemaErrors({ ...good, '@timestamp': '2026-01-02T03:04:05Z' }).length,
    0,
    'milliseconds are required',
  );
  t.not(schemaErrors({ ...good, process: null }).length, 0, 'no nulls');
  t.end();
});

t.test('every example event in docs/events.md is valid', (t) => {
  const doc = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
  const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  t.ok(blocks.length >= 4, 'request (2), roll-up and summary examples');
  const actions = new Set<string>();
  for (const block of blocks) {
    const event = JSON.parse(block) as { event: { action: string } };
    actions.add(event.event.action);
    t.same(schemaErrors(event), [], event.event.action);
  }
  t.same([...actions].sort(), ['imds-request', 'imds-rollup', 'imds-summary']);
  t.end();
});

t.test('every field of the request event is documented in docs/events.md', (t) => {
  const doc = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
  const defs = eventSchema.$defs as Record<string, Record<string, unknown>>;
  const names: string[] = [];
  const walk = (schema: Record<string, unknown>, prefix: string): void => {
    const variants = (schema.oneOf as Record<string, unknown>[] | undefined) ?? [schema];
    for (const v of variants) {
      const props = v.properties as Record<string, Record<string, unknown>> | undefined;
      if (props === undefined) {
        names.push(prefix);
        continue;
      }
      for (const [k, sub] of Object.entries(props)) {
        const name = prefix === '' ? k : `${prefix}.${k}`;
        const items = sub.items as Record<string, unknown> | undefined;
        if (items?.properties !== undefined) {
          names.push(name);
          walk(items, `${name}[]`);
        } else walk(sub, name);
      }
    }
  };
  walk(defs.request ?? {}, '');
  t.ok(names.length > 50);
  for (const name of new Set(names)) t.ok(doc.includes(`\`${name}\``), name);
  t.end();
});
