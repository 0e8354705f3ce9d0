/** One captured link-layer frame, as live capture and pcap files both deliver it. */
export interface Frame {
  /** pcap LINKTYPE_* value (1 Ethernet, 113 Linux SLL, 276 Linux SLL2, 101 raw IP, 0 null/loopback, ...). */
  readonly linkType: number;
  /** Capture time in milliseconds since the Unix epoch (fraction keeps micro/nanoseconds). */
  readonly timeMs: number;
  /** The captured bytes (may be shorter than originalLength when the snap length cut it). */
  readonly data: Buffer;
  readonly originalLength: number;
}

/** Counters a capture source keeps about itself. */
export interface CaptureStats {
  /** Frames handed to the pipeline. */
  readonly frames: number;
  /**
   * Frames the kernel dropped because user space was too slow; undefined when the source
   * cannot tell (a file; live capture through cap, which exposes no pcap_stats).
   */
  readonly kernelDropped: number | undefined;
  /** Frames dropped by the interface/driver (live only). */
  readonly interfaceDropped: number;
}

/** Why a source stopped delivering frames. */
export type CaptureEnd = 'eof' | 'stopped';

/**
 * A source of frames: a live interface or a capture file. `run` delivers frames synchronously
 * to `onFrame` and resolves when the source ends; it rejects only with a CaptureError.
 */
export interface CaptureSource {
  /** Human-readable name for logs and the summary, e.g. "eth0" or "capture.pcap". */
  readonly description: string;
  run(onFrame: (frame: Frame) => void): Promise<CaptureEnd>;
  /** Ends a running capture; `run` then resolves with 'stopped'. Safe to call twice. */
  stop(): void;
  stats(): CaptureStats;
}

/** Stable codes for capture failures that reach the user (printed as `error <code>: message`). */
export type CaptureErrorCode =
  | 'ERR_CAPTURE_FILE_UNREADABLE'
  | 'ERR_CAPTURE_FILE_FORMAT'
  | 'ERR_CAPTURE_PCAPNG'
  | 'ERR_CAPTURE_TRUNCATED'
  | 'ERR_CAPTURE_LINKTYPE'
  | 'ERR_CAPTURE_NO_INTERFACE'
  | 'ERR_CAPTURE_PERMISSION'
  | 'ERR_CAPTURE_FILTER'
  | 'ERR_CAPTURE_OPEN';

/** A capture failure with a stable code and one sentence naming the problem and the fix. */
export class CaptureError extends Error {
  override readonly name = 'CaptureError';
  constructor(
    readonly code: CaptureErrorCode,
    message: string,
  ) {
    super(message);
  }
}
