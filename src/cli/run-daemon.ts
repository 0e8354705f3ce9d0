/**
 * Daemon mode (the systemd service): every request as one JSON line in the log file, one short
 * line with a syslog priority on stdout for journald (`<4>` v1, `<6>` v2/token, `<3>` errors).
 * The first sighting of each (process, kind, path) is logged at once; repeats are rolled up
 * into periodic count events so a process hammering IMDS cannot flood the log.
 * SIGTERM/SIGINT: stop capturing, report what is pending, flush the log, exit 0.
 * SIGHUP: reopen the log file (logrotate's postrotate).
 */
import { createAttributor } from '../attribute/create-attributor.js';
import type { ImdsRequestRecord } from '../pipeline/record.js';
import { toEcsEvent } from '../sinks/ecs-event.js';
import { openFileLog } from '../sinks/file-log.js';
import {
  journalError,
  journalInfo,
  journalLine,
  journalRollupLine,
} from '../sinks/journal-line.js';
import { LineWriter } from '../sinks/json-lines.js';
import { Rollup, RollupScheduler, type RollupEvent } from '../sinks/rollup.js';
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

type DaemonOptions = Extract<Options, { mode: 'daemon' }>;

export async function runDaemon(options: DaemonOptions): Promise<number> {
  const host = hostFacts();
  const journal = new LineWriter(process.stdout);
  const info = (message: string): void => {
    journal.writeLine(journalInfo(message));
  };
  const fail = (error: unknown): void => {
    journal.writeLine(journalError(errorLine(error)));
  };

  // Fail at start, not at the first event: an unwritable log directory is a setup error.
  const log = await openFileLog({
    path: options.logFile,
    maxSize: options.logMaxSize,
    maxFiles: options.logMaxFiles,
    onError: fail,
  });
  const { source, interfaceName, priority } = await openLiveCapture(options);
  const { attributor, method } = await createAttributor(options.attribution, (level, message) => {
    journal.writeLine(level === 'error' ? journalError(message) : journalInfo(message));
  });

  const rollup = new Rollup(
    options.rollupIntervalS * 1000,
    (event: RollupEvent) => {
      log.write(event);
      journal.writeLine(journalRollupLine(event));
    },
    { host },
  );
  const onRecord = (record: ImdsRequestRecord): void => {
    if (rollup.offer(record, Date.now()) === 'repeat') return;
    log.write(toEcsEvent(record, host));
    journal.writeLine(journalLine(record));
  };
  const pipeline = buildPipeline(options, attributor, onRecord, fail);
  const scheduler = new RollupScheduler(rollup);
  const stopIdle = startIdleClock(pipeline);
  const removeSignals = stopOnSignals(source);
  // logrotate moved the file (postrotate sends SIGHUP): continue in a new one, losing nothing.
  const reopen = (): void => {
    log.reopen();
  };
  process.on('SIGHUP', reopen);

  const startMs = Date.now();
  let status = 0;
  try {
    const running = source.run((frame) => {
      pipeline.handleFrame(frame);
    });
    if (source.capturing) {
      info(
        `capturing on ${interfaceName}, attribution ${method}, ${priority}, logging to ${options.logFile}` +
          (options.configPath === undefined ? '' : ` (config ${options.configPath})`),
      );
    }
    await running;
  } catch (error) {
    fail(error);
    status = 2;
  } finally {
    removeSignals();
    process.off('SIGHUP', reopen);
    stopIdle();
  }
  await pipeline.shutdown(Date.now());
  scheduler.stop();
  attributor.close();
  const facts = captureFacts(source, pipeline, startMs, Date.now());
  info(
    `stopped: ${facts.frames} frames, ${pipeline.counters().requests} requests, ` +
      `${facts.interfaceDropped} dropped by the interface, kernel drops ${facts.kernelDropped ?? 'unknown'}, ` +
      `${pipeline.anomalies.total()} anomalies`,
  );
  await log.close();
  await journal.flush();
  return status;
}
