/**
 * One-shot (`--duration`) and offline (`--read`) runs: events on stdout as they come, then a
 * summary. Exit 0 when no IMDSv1 call was seen, 1 when one was, 2 when the capture failed
 * (after printing every event and the summary of what was read).
 */
import { NoAttributor, type Attributor } from '../attribute/attribution.js';
import { createAttributor } from '../attribute/create-attributor.js';
import type { CaptureSource } from '../capture/frame.js';
import type { LiveCapture } from '../capture/live.js';
import { OfflineCapture } from '../capture/offline.js';
import type { ImdsRequestRecord } from '../pipeline/record.js';
import { toEcsEvent } from '../sinks/ecs-event.js';
import { LineWriter } from '../sinks/json-lines.js';
import { Summary } from '../sinks/summary.js';
import { textLine } from '../sinks/text-line.js';
import type { Options } from './options.js';
import { errorLine } from './report-error.js';
import {
  buildPipeline,
  captureFacts,
  hostFacts,
  openLiveCapture,
  startIdleClock,
  stopOnSignals,
} from './session.js';

type BatchOptions = Extract<Options, { mode: 'oneshot' | 'offline' }>;

export async function runBatch(options: BatchOptions): Promise<number> {
  // A pcap file was captured elsewhere: this host's name would be a lie in its events.
  const host = options.mode === 'offline' ? undefined : hostFacts();
  const note = (message: string): void => {
    process.stderr.write(`imds-analyzer: ${message}\n`);
  };
  let source: CaptureSource;
  let live: LiveCapture | undefined;
  let attributor: Attributor;
  if (options.mode === 'offline') {
    source = new OfflineCapture(options.readPath);
    attributor = new NoAttributor('offline capture: the processes are not on this host');
  } else {
    live = (await openLiveCapture(options)).source;
    source = live;
    const created = await createAttributor(options.attribution, (_level, message) => {
      note(message);
    });
    attributor = created.attributor;
  }

  const summary = new Summary(host === undefined ? {} : { host });
  // One writer on stdout whatever the format: it owns the stream's error handling (EPIPE).
  const out = new LineWriter(process.stdout);
  const json = options.format === 'json';
  // Mutated from the pipeline callback, hence an object rather than a `let`.
  const seen = { v1: false };
  const onRecord = (record: ImdsRequestRecord): void => {
    if (record.classification.kind === 'v1') seen.v1 = true;
    summary.add(record);
    if (json) out.writeJson(toEcsEvent(record, host));
    else out.writeLine(textLine(record));
  };
  const pipeline = buildPipeline(options, attributor, onRecord, (error) => {
    note(errorLine(error));
  });

  const startMs = Date.now();
  const removeSignals = stopOnSignals(source);
  const stopIdle = live === undefined ? () => undefined : startIdleClock(pipeline);
  const timer =
    options.mode === 'oneshot'
      ? setTimeout(() => {
          source.stop();
        }, options.durationS * 1000)
      : undefined;
  const running = source.run((frame) => {
    pipeline.handleFrame(frame);
  });
  if (live?.capturing === true && options.mode === 'oneshot') {
    note(`capturing on ${live.description} for ${options.durationS} s`);
  }
  const failure: unknown = await running.then(
    () => undefined,
    (error: unknown) => error ?? new Error('capture failed'),
  );
  clearTimeout(timer);
  stopIdle();
  removeSignals();
  await pipeline.shutdown(Date.now());
  attributor.close();
  summary.setCapture(captureFacts(source, pipeline, startMs, Date.now()));

  // A source that failed before its first frame has nothing to summarise: the error says it all.
  const readSomething = source.stats().frames > 0;
  if (failure === undefined || readSomething) {
    if (json) out.writeJson(summary.toEvent());
    else out.writeLine(summary.renderText());
  }
  await out.flush();
  if (failure !== undefined) {
    process.stderr.write(`${errorLine(failure)}\n`);
    return 2;
  }
  return seen.v1 ? 1 : 0;
}
