import type { FlowInfo } from '../flows/flow.js';

export interface AncestorFacts {
  readonly pid: number;
  readonly name: string;
  readonly commandLine: string;
}

/** Everything we could learn about the process that owned the client socket. */
export interface ProcessFacts {
  readonly pid: number;
  /** comm */
  readonly name: string;
  /** readlink /proc/<pid>/exe; undefined when not readable. */
  readonly executable: string | undefined;
  readonly args: readonly string[];
  readonly commandLine: string;
  /** Process start time, ISO-8601. */
  readonly start: string;
  readonly parent: { readonly pid: number; readonly name: string } | undefined;
  /** Parent first, up to and including pid 1. */
  readonly ancestors: readonly AncestorFacts[];
  readonly uid: number;
  readonly userName: string | undefined;
  /** Raw cgroup path (v2 unified, or the systemd/pids controller on v1). */
  readonly cgroup: string | undefined;
  readonly systemdUnit: string | undefined;
  readonly container: { readonly id: string; readonly runtime: string } | undefined;
  readonly podUid: string | undefined;
}

export type AttributionMethod = 'proc' | 'lsof';

export type Attribution =
  | {
      readonly status: 'ok';
      readonly method: AttributionMethod;
      readonly process: ProcessFacts;
      /** Milliseconds from the flow's first packet to the answer. */
      readonly latencyMs: number;
    }
  | {
      /** The socket was found (uid known) but its process was gone before we named it. */
      readonly status: 'exited';
      readonly method: AttributionMethod;
      readonly reason: string;
      readonly uid: number | undefined;
      readonly userName: string | undefined;
      readonly latencyMs: number;
    }
  | {
      readonly status: 'unknown';
      readonly reason: string;
    };

/** Names the process behind a flow. Lookups start at the flow's first packet. */
export interface Attributor {
  /** Starts a lookup now; never rejects (failures resolve as 'exited' or 'unknown'). */
  lookup(flow: FlowInfo, timeMs: number): Promise<Attribution>;
  close(): void;
}

/** For pcap files and `--attribution none`: no process can be named. */
export class NoAttributor implements Attributor {
  constructor(private readonly reason: string) {}
  lookup(): Promise<Attribution> {
    return Promise.resolve({ status: 'unknown', reason: this.reason });
  }
  close(): void {
    // nothing held
  }
}
