/**
 * What every mode shares: the live capture source, the pipeline built from options, the idle
 * clock and the capture facts handed to the summary.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import type { Attributor } from '../attribute/attribution.js';
import type { CaptureSource } from '../capture/frame.js';
import { resolveCaptureInterface } from '../capture/default-interface.js';
import { captureOpenError, LiveCapture } from '../capture/live.js';
import { DEFAULT_FLOW_TABLE_CONFIG } from '../flows/flow.js';
import { DEFAULT_HTTP_LIMITS } from '../http/exchange.js';
import { Pipeline } from '../pipeline/pipeline.js';
import type { ImdsRequestRecord } from '../pipeline/record.js';
import type { HostFacts } from '../sinks/ecs-event.js';
import type { CaptureFacts } from '../sinks/summary.js';
import type { Options } from './options.js';

/** A token PUT that failed, then a v1 call from the same process within this window: fallback. */
const FALLBACK_WINDOW_MS = 60_000;
/** How often idle connections are looked for while no packet arrives. */
const IDLE_TICK_MS = 1_000;

export function hostFacts(): HostFacts {
  return { hostname: os.hostname() };
}

/**
 * Attribution races short-lived clients for the CPU: a better scheduling priority measurably
 * wins more of those races (bench/attribution.md). As root we raise it ourselves; under
 * systemd the unit sets Nice= and this call fails harmlessly (no CAP_SYS_NICE).
 */
const LIVE_NICE = -10;

function raisePriority(): string {
  try {
    if (os.getPriority() > LIVE_NICE) os.setPriority(LIVE_NICE);
  } catch {
    // Not permitted: keep the priority we were given.
  }
  return `nice ${os.getPriority()}`;
}

export async function openLiveCapture(
  options: Options,
): Promise<{ source: LiveCapture; interfaceName: string; priority: string }> {
  const interfaceName = await resolveCaptureInterface(options.interface);
  // Fail before attribution starts (and before libpcap's own warnings) on a plain typo.
  if (interfaceName !== 'any' && !existsSync(`/sys/class/net/${interfaceName}`)) {
    throw captureOpenError(interfaceName, 'No such device');
  }
  const priority = raisePriority();
  return { source: new LiveCapture({ interface: interfaceName }), interfaceName, priority };
}

export function buildPipeline(
  options: Options,
  attributor: Attributor,
  onRecord: (record: ImdsRequestRecord) => void,
  onError: (error: unknown) => void,
): Pipeline {
  return new Pipeline({
    flows: {
      ...DEFAULT_FLOW_TABLE_CONFIG,
      maxFlows: options.maxFlows,
      idleTimeoutMs: options.idleTimeoutS * 1000,
    },
    http: DEFAULT_HTTP_LIMITS,
    attributor,
    fallbackWindowMs: FALLBACK_WINDOW_MS,
    onRecord,
    onError,
  });
}

/** Expires idle flows on the wall clock while the capture is quiet; returns the stopper. */
export function startIdleClock(pipeline: Pipeline): () => void {
  const timer = setInterval(() => {
    pipeline.expireIdle(Date.now());
  }, IDLE_TICK_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}

export function captureFacts(
  source: CaptureSource,
  pipeline: Pipeline,
  startMs: number,
  endMs: number,
): CaptureFacts {
  const stats = source.stats();
  return {
    source: source.description,
    frames: stats.frames,
    kernelDropped: stats.kernelDropped,
    interfaceDropped: stats.interfaceDropped,
    anomalies: pipeline.anomalies.snapshot(),
    twinsSuppressed: pipeline.counters().twinRequestsSuppressed,
    startMs,
    endMs,
  };
}

/** Stops `source` on SIGINT/SIGTERM; returns a function removing the handlers. */
export function stopOnSignals(source: CaptureSource): () => void {
  const stop = (): void => {
    source.stop();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
}
