/**
 * Frames from a live interface through `cap` (libpcap), with the IMDS BPF filter in the kernel.
 *
 * What cap gives and does not give (read from node_modules/cap/src/binding.cc, 0.2.1):
 * - Immediate mode is switched on by cap itself on Linux (`pcap_set_immediate_mode`, looked up
 *   with dlsym on a dlopen("libpcap.so") handle). That file exists only with libpcap0.8-dev,
 *   but when dlopen fails the NULL handle means RTLD_DEFAULT, which glibc searches in cap.node's
 *   own scope, where its libpcap.so.0.8 dependency is: measured with libpcap.so hidden (overlay
 *   mount), SYNs still arrive in user space within ~10 ms, not after cap's 1 s read timeout.
 *   `setMinBytes` exists on Windows only.
 * - No packet timestamp and no wire length: frames are stamped on arrival in user space and
 *   `originalLength` is the captured length. Snap length is fixed at 65535.
 * - No pcap_stats: kernel drops cannot be read; `kernelDropped` is undefined (reported as
 *   unknown, never as 0). `interfaceDropped` is
 *   the growth of the interface's rx_dropped counter, which is what libpcap itself reports
 *   as ps_ifdrop on Linux.
 * - Always promiscuous. A failed open() leaves a half-initialised handle whose destructor
 *   crashes the process when garbage collected (measured: SIGSEGV/abort in uv_poll_stop), so
 *   failed handles are kept referenced for the life of the process.
 * - When the interface has no IPv4 address (`any`, IPv6-only) cap prints
 *   "Warning: ... This may not actually work" to stderr; harmless, and not ours to silence.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import cap, { type CapHandle } from 'cap';
import {
  CaptureError,
  type CaptureEnd,
  type CaptureSource,
  type CaptureStats,
  type Frame,
} from './frame.js';
import { imdsBpfFilter } from './bpf-filter.js';
import { isEthernetInterface } from './default-interface.js';
import { isSupportedLinkType } from '../decode/link.js';

export interface LiveCaptureOptions {
  /** Interface name, or `any` for all interfaces (Linux cooked capture). */
  readonly interface: string;
  /** BPF filter; default the IMDS filter (with VLAN terms on Ethernet interfaces). */
  readonly filter?: string;
  /** libpcap kernel buffer in bytes, default DEFAULT_CAPTURE_BUFFER_BYTES. */
  readonly bufferBytes?: number;
}

/**
 * In immediate mode libpcap gives every frame a fixed ~64 KiB slot (cap's snap length is
 * 65535), so the buffer holds bytes/64K frames: 4 MiB held ~60 and lost most SYNs of a burst
 * of 100 curls while attribution kept the event loop busy (bench/attribution.md). 32 MiB holds
 * ~500 frames, half a second of IMDS's own throttle rate (~1024 packets/s per ENI).
 */
export const DEFAULT_CAPTURE_BUFFER_BYTES = 32 * 1024 * 1024;

/** cap's link type names to pcap LINKTYPE_* numbers. */
const CAP_LINK_TYPES: ReadonlyMap<string, number> = new Map([
  ['NULL', 0],
  ['ETHERNET', 1],
  ['RAW', 101],
  ['LINKTYPE_LINUX_SLL', 113],
  ['IEEE802_11_RADIO', 127],
]);

/** Parses cap's link type string; its fallback is "Unknown linktype <DLT number>". */
export function capLinkType(name: string): number | undefined {
  const known = CAP_LINK_TYPES.get(name);
  if (known !== undefined) return known;
  const match = /^Unknown linktype (\d+)$/.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Handles whose open() failed: see the module comment (their destructor must never run). */
const failedHandles: CapHandle[] = [];
function keepFailedHandle(handle: CapHandle): void {
  failedHandles.push(handle);
}

/** libpcap's open error to a CaptureError with a stable code and the fix. */
export function captureOpenError(device: string, message: string): CaptureError {
  if (/no such device/i.test(message)) {
    return new CaptureError(
      'ERR_CAPTURE_NO_INTERFACE',
      `no such interface ${device}; list interfaces with \`ip link\`.`,
    );
  }
  if (/permission|not permitted/i.test(message)) {
    return new CaptureError(
      'ERR_CAPTURE_PERMISSION',
      `no permission to capture on ${device} (${message}); capturing needs CAP_NET_RAW: run as root or grant the capability.`,
    );
  }
  if (/not up/i.test(message)) {
    return new CaptureError(
      'ERR_CAPTURE_OPEN',
      `interface ${device} is down; bring it up with \`ip link set ${device} up\`.`,
    );
  }
  if (/filter|syntax error|vlan support|illegal|unknown host|not supported/i.test(message)) {
    return new CaptureError(
      'ERR_CAPTURE_FILTER',
      `the capture filter was rejected by libpcap (${message}); fix the BPF expression.`,
    );
  }
  return new CaptureError(
    'ERR_CAPTURE_OPEN',
    `cannot capture on ${device} (${message}); check the interface with \`ip link show ${device}\`.`,
  );
}

export class LiveCapture implements CaptureSource {
  readonly description: string;
  readonly #options: LiveCaptureOptions;
  #handle: CapHandle | undefined;
  #frames = 0;
  #dropBaseline: number | undefined;
  #stopped = false;
  #finish: ((end: CaptureEnd) => void) | undefined;

  constructor(options: LiveCaptureOptions) {
    this.#options = options;
    this.description = options.interface;
  }

  /** Opens the interface and delivers frames until stop(); rejects with a CaptureError. */
  run(onFrame: (frame: Frame) => void): Promise<CaptureEnd> {
    if (this.#stopped) return Promise.resolve('stopped');
    const device = this.#options.interface;
    const filter = this.#options.filter ?? imdsBpfFilter({ vlan: isEthernetInterface(device) });
    const buffer = Buffer.alloc(65535);
    const handle = new cap.Cap();

    let linkName: string;
    try {
      linkName = handle.open(
        device,
        filter,
        this.#options.bufferBytes ?? DEFAULT_CAPTURE_BUFFER_BYTES,
        buffer,
      );
    } catch (err) {
      keepFailedHandle(handle);
      return Promise.reject(
        captureOpenError(device, err instanceof Error ? err.message : String(err)),
      );
    }
    const linkType = capLinkType(linkName);
    if (linkType === undefined || !isSupportedLinkType(linkType)) {
      handle.close();
      return Promise.reject(
        new CaptureError(
          'ERR_CAPTURE_LINKTYPE',
          `interface ${device} delivers link type ${linkName}, which imds-analyzer cannot decode; capture on an Ethernet interface or on \`any\`.`,
        ),
      );
    }
    this.#handle = handle;
    this.#dropBaseline = readRxDropped(device);

    return new Promise<CaptureEnd>((resolve) => {
      this.#finish = resolve;
      handle.on('packet', (nbytes: number) => {
        if (this.#stopped) return;
        this.#frames += 1;
        // cap reuses `buffer` for the next packet; downstream keeps views, so copy.
        const data = Buffer.from(buffer.subarray(0, nbytes));
        onFrame({
          linkType,
          timeMs: performance.timeOrigin + performance.now(),
          data,
          originalLength: nbytes,
        });
      });
    });
  }

  /** True once run() has opened the interface, until stop(). */
  get capturing(): boolean {
    return this.#handle !== undefined;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#handle?.close();
    this.#handle = undefined;
    const finish = this.#finish;
    this.#finish = undefined;
    finish?.('stopped');
  }

  stats(): CaptureStats {
    const now = readRxDropped(this.#options.interface);
    const base = this.#dropBaseline;
    return {
      frames: this.#frames,
      kernelDropped: undefined,
      interfaceDropped: now === undefined || base === undefined ? 0 : Math.max(0, now - base),
    };
  }
}

/** The interface's rx_dropped counter; undefined for `any` or when sysfs cannot be read. */
function readRxDropped(device: string): number | undefined {
  if (device === 'any' || device.includes('/')) return undefined;
  try {
    const n = Number(readFileSync(`/sys/class/net/${device}/statistics/rx_dropped`, 'utf8'));
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
