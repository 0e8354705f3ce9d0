/**
 * Frames from a classic pcap file, read through pcap-parser.
 *
 * pcap-parser (0.2.1) handles both byte orders but only the microsecond magic, says nothing
 * about a file that ends inside a record, and waits forever for a record claiming gigabytes.
 * So the header is sniffed first (pcapng, nanosecond, garbage get a clear answer), a
 * nanosecond file is fed to it with the microsecond magic patched in (its "microseconds" are
 * then nanoseconds), the bytes it consumed are counted against the bytes read to detect a
 * truncated last record, and absurd record lengths end the read.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import pcapParser from 'pcap-parser';
import {
  CaptureError,
  type CaptureEnd,
  type CaptureSource,
  type CaptureStats,
  type Frame,
} from './frame.js';
import {
  PCAP_HEADER_LENGTH,
  microsecondMagic,
  sniffPcapHeader,
  type PcapHeaderSniff,
} from './pcap-file-header.js';
import { isSupportedLinkType } from '../decode/link.js';

const RECORD_HEADER_LENGTH = 16;
/** Larger than any snap length in use (tcpdump's default is 262144). */
const MAX_RECORD_LENGTH = 1024 * 1024;

export class OfflineCapture implements CaptureSource {
  readonly description: string;
  readonly #path: string;
  #frames = 0;
  #stream: ReadStream | undefined;
  #stopped = false;
  #finish: ((end: CaptureEnd) => void) | undefined;

  constructor(path: string) {
    this.#path = path;
    this.description = path;
  }

  async run(onFrame: (frame: Frame) => void): Promise<CaptureEnd> {
    const header = await this.#readHeader();
    if (this.#stopped) return 'stopped';
    const path = this.#path;

    return new Promise<CaptureEnd>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        this.#finish = undefined;
        fn();
      };
      this.#finish = (end) => {
        settle(() => {
          resolve(end);
        });
      };
      const fail = (err: Error) => {
        settle(() => {
          reject(err);
        });
        stream.destroy();
      };

      const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
      this.#stream = stream;
      let bytesRead = 0;
      let bytesConsumed = PCAP_HEADER_LENGTH;
      stream.on('data', (chunk) => {
        bytesRead += chunk.length;
      });
      stream.on('error', (err: NodeJS.ErrnoException) => {
        fail(unreadable(path, err));
      });

      const input = header.precision === 'ns' ? stream.pipe(patchMagic(header.byteOrder)) : stream;
      const fractionToMs = header.precision === 'ns' ? 1e-6 : 1e-3;
      const parser = pcapParser.parse(input);

      parser.on('packetHeader', (h) => {
        if (h.capturedLength > MAX_RECORD_LENGTH) {
          fail(
            new CaptureError(
              'ERR_CAPTURE_FILE_FORMAT',
              `${path} is corrupt: record ${this.#frames + 1} claims ${h.capturedLength} captured bytes; repair it with \`editcap ${path} fixed.pcap\` or re-capture.`,
            ),
          );
        }
      });
      parser.on('packet', ({ header: h, data }) => {
        if (settled) return;
        bytesConsumed += RECORD_HEADER_LENGTH + data.length;
        this.#frames += 1;
        try {
          onFrame({
            linkType: header.linkType,
            timeMs: h.timestampSeconds * 1000 + h.timestampMicroseconds * fractionToMs,
            data,
            originalLength: h.originalLength,
          });
        } catch (err) {
          // A bug downstream, not a capture problem: surface it as it is.
          fail(err instanceof Error ? err : new Error(String(err)));
        }
      });
      parser.on('error', () => {
        fail(formatError(path, 'pcap-parser rejected its header'));
      });
      parser.on('end', () => {
        if (bytesConsumed < bytesRead) {
          fail(
            new CaptureError(
              'ERR_CAPTURE_TRUNCATED',
              `${path} ends in the middle of a packet record after ${this.#frames} complete frames; the capture was cut off, so only those frames were analysed.`,
            ),
          );
        } else {
          settle(() => {
            resolve(this.#stopped ? 'stopped' : 'eof');
          });
        }
      });
      stream.on('close', () => {
        // Destroyed by stop(): no 'end' follows.
        if (this.#stopped) this.#finish?.('stopped');
      });
    });
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stream?.destroy();
    this.#finish?.('stopped');
  }

  stats(): CaptureStats {
    // A file records no drops of the capture that wrote it.
    return { frames: this.#frames, kernelDropped: undefined, interfaceDropped: 0 };
  }

  /** Reads and checks the file header; every failure is a CaptureError naming the fix. */
  async #readHeader(): Promise<Extract<PcapHeaderSniff, { kind: 'pcap' }>> {
    const path = this.#path;
    let head: Buffer;
    try {
      const handle = await open(path, 'r');
      try {
        const buf = Buffer.alloc(PCAP_HEADER_LENGTH);
        const { bytesRead } = await handle.read(buf, 0, PCAP_HEADER_LENGTH, 0);
        head = buf.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    } catch (err) {
      throw unreadable(path, err as NodeJS.ErrnoException);
    }

    const sniff = sniffPcapHeader(head);
    switch (sniff.kind) {
      case 'pcapng':
        throw new CaptureError(
          'ERR_CAPTURE_PCAPNG',
          `${path} is a pcapng file, which imds-analyzer does not read; convert it with \`editcap -F pcap ${path} out.pcap\` and read out.pcap.`,
        );
      case 'unknown':
        throw formatError(
          path,
          head.length === 0 ? 'it is empty' : `magic number 0x${sniff.magic} is not pcap's`,
        );
      case 'short':
        throw new CaptureError(
          'ERR_CAPTURE_TRUNCATED',
          `${path} ends inside its file header after 0 complete frames; the capture was cut off, re-copy or re-capture it.`,
        );
      case 'pcap':
        if (sniff.majorVersion !== 2) {
          throw formatError(path, `pcap version ${sniff.majorVersion} is not 2`);
        }
        if (!isSupportedLinkType(sniff.linkType)) {
          throw new CaptureError(
            'ERR_CAPTURE_LINKTYPE',
            `${path} has link type ${sniff.linkType}, which imds-analyzer cannot decode; capture on an Ethernet interface or on \`any\` (Linux cooked) instead.`,
          );
        }
        return sniff;
    }
  }
}

function formatError(path: string, why: string): CaptureError {
  return new CaptureError(
    'ERR_CAPTURE_FILE_FORMAT',
    `${path} is not a classic pcap capture (${why}); give a file written by \`tcpdump -w\`, or convert it with \`editcap -F pcap ${path} out.pcap\`.`,
  );
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
  EIO: 'input/output error',
};

function unreadable(path: string, err: NodeJS.ErrnoException): CaptureError {
  const why = ERRNO_TEXT[err.code ?? ''] ?? err.code ?? 'unknown error';
  return new CaptureError(
    'ERR_CAPTURE_FILE_UNREADABLE',
    `cannot read capture file ${path} (${why}); check the path and its permissions.`,
  );
}

/** Rewrites the first 4 bytes (the magic) so pcap-parser takes a nanosecond file. */
function patchMagic(byteOrder: 'LE' | 'BE'): Transform {
  let patched = false;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      if (!patched && chunk.length >= 4) {
        patched = true;
        const copy = Buffer.from(chunk);
        microsecondMagic(byteOrder).copy(copy, 0);
        callback(null, copy);
        return;
      }
      callback(null, chunk);
    },
  });
}
