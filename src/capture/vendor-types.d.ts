/**
 * Types for the two capture libraries, which ship none. Only what we call is declared, as read
 * from their sources (node_modules/pcap-parser/lib/pcap-parser.js, node_modules/cap/src/binding.cc).
 */

declare module 'pcap-parser' {
  import type { EventEmitter } from 'node:events';

  export interface PcapPacketHeader {
    readonly timestampSeconds: number;
    /** Microseconds; for a nanosecond file fed with the microsecond magic, nanoseconds. */
    readonly timestampMicroseconds: number;
    readonly capturedLength: number;
    readonly originalLength: number;
  }

  export interface PcapParser extends EventEmitter {
    on(event: 'packetHeader', listener: (header: PcapPacketHeader) => void): this;
    on(
      event: 'packet',
      listener: (packet: { header: PcapPacketHeader; data: Buffer }) => void,
    ): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'end', listener: () => void): this;
  }

  const pcapParser: { parse(input: string | NodeJS.ReadableStream): PcapParser };
  export default pcapParser;
}

declare module 'cap' {
  import type { EventEmitter } from 'node:events';

  export interface CapHandle extends EventEmitter {
    /**
     * Opens `device` with `filter`; returns 'ETHERNET', 'LINKTYPE_LINUX_SLL', 'RAW', 'NULL',
     * 'IEEE802_11_RADIO' or 'Unknown linktype <n>'. Throws an Error with libpcap's message.
     */
    open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
    close(): boolean;
    /** Windows only (absent on Linux, where cap sets immediate mode itself). */
    setMinBytes?: (nBytes: number) => void;
    on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): this;
  }

  export interface CapDevice {
    readonly name: string;
    readonly description?: string;
    readonly addresses: readonly { readonly addr?: string }[];
    readonly flags?: string;
  }

  const cap: {
    Cap: (new () => CapHandle) & {
      deviceList(): CapDevice[];
      findDevice(ip?: string): string | undefined;
    };
  };
  export default cap;
}
