/**
 * The hop-limit symptom across requests of one client: a token PUT that failed (no response,
 * unreadable response or status >= 400) followed, within a window, by an IMDSv1 call.
 *
 * A token PUT still unanswered when the v1 call comes counts too (the client gave up waiting:
 * an SDK keeps its connection open, so the unanswered PUT is only reported when it closes).
 *
 * A token PUT answered 200 counts too until the client sends a v2 call: a capture on the host
 * sees IMDS answer a container's PUT (with IP TTL 1), then the host drops that answer when it
 * forwards it into the container. A client that really got its token uses it; one that calls
 * v1 instead never received it.
 *
 * Identities are keys the pipeline derives for "the same client" (process instance, client
 * address and User-Agent): token requests and v2 calls update every key they are given, a v1
 * call is looked up by its keys in order. Memory is bounded: at most `maxIdentities`
 * remembered failures, least recently touched dropped first, expired ones dropped on sight.
 *
 * Times are request times: the caller passes the v1 request's time and the token request's
 * time, so a token exchange emitted late (its flow only ended at an idle timeout) still counts
 * as long as it is observed before the v1 call.
 */
import type { ExchangeOutcome } from '../http/exchange.js';
import type { Classification, FallbackVerdict } from './classification.js';

export const DEFAULT_MAX_FALLBACK_IDENTITIES = 4096;

interface FailedToken {
  readonly flowId: string;
  readonly tokenOutcome: string;
  readonly timeMs: number;
}

const RAISE_HOP_LIMIT =
  'aws ec2 modify-instance-metadata-options --instance-id <id> --http-put-response-hop-limit 2';

/** tokenOutcome of a token PUT that IMDS answered but whose token the client never used. */
export const UNUSED_TOKEN_OUTCOME = 'answered, token never used';
/** tokenOutcome of a token PUT that had no answer yet when the v1 call was made. */
export const PENDING_TOKEN_OUTCOME = 'no answer yet';
/**
 * An SDK that never receives its token answer gives up after its timeout (1-2 s) and calls v1
 * at once; a v1 call much later from the same identity is more likely unrelated.
 */
export const UNUSED_TOKEN_WINDOW_MS = 5_000;

function explain(failed: FailedToken, inContainer: boolean): string {
  const base =
    failed.tokenOutcome === UNUSED_TOKEN_OUTCOME
      ? 'IMDS answered the token request but the client never used the token and fell back to IMDSv1, so the answer most likely never reached it'
      : failed.tokenOutcome === PENDING_TOKEN_OUTCOME
        ? 'the client called IMDSv1 while its token request was still unanswered: it gave up waiting for the token'
        : `token request failed (${failed.tokenOutcome}) and the client fell back to IMDSv1`;
  if (inContainer) {
    return (
      `${base}: IMDS sends the PUT response with an IP TTL equal to the instance's hop limit ` +
      `(default 1) and the container's extra hop drops it; raise it with \`${RAISE_HOP_LIMIT}\``
    );
  }
  if (failed.tokenOutcome === '403') {
    return `${base}: IMDS refuses token requests that carry X-Forwarded-For (403) or when it is disabled`;
  }
  if (failed.tokenOutcome === '400') {
    return `${base}: IMDS answers 400 to a missing or invalid X-aws-ec2-metadata-token-ttl-seconds`;
  }
  if (
    failed.tokenOutcome === UNUSED_TOKEN_OUTCOME ||
    failed.tokenOutcome === PENDING_TOKEN_OUTCOME
  ) {
    return `${base} (is the client one network hop further away, e.g. in a container? then raise the hop limit: \`${RAISE_HOP_LIMIT}\`)`;
  }
  return base;
}

export class FallbackDetector {
  readonly #windowMs: number;
  readonly #maxIdentities: number;
  /** Insertion order = least recently touched first (Map keeps insertion order). */
  readonly #failed = new Map<string, FailedToken>();

  constructor(windowMs: number, maxIdentities = DEFAULT_MAX_FALLBACK_IDENTITIES) {
    this.#windowMs = windowMs;
    this.#maxIdentities = Math.max(1, maxIdentities);
  }

  /** Identities currently remembered (for tests and metrics). */
  get size(): number {
    return this.#failed.size;
  }

  /** A token request head was seen: until its answer, a v1 call means the client gave up. */
  tokenRequested(identity: string | readonly string[], flowId: string, timeMs: number): void {
    for (const key of keysOf(identity)) {
      this.#remember(key, { flowId, tokenOutcome: PENDING_TOKEN_OUTCOME, timeMs });
    }
  }

  observe(
    identity: string | readonly string[],
    flowId: string,
    classification: Classification,
    outcome: ExchangeOutcome,
    timeMs: number,
    inContainer: boolean,
  ): FallbackVerdict | undefined {
    const keys = keysOf(identity);
    if (classification.kind === 'token') {
      const status = classification.status;
      const tokenOutcome =
        outcome !== 'answered'
          ? outcome
          : status === undefined || status >= 400
            ? String(status ?? outcome)
            : UNUSED_TOKEN_OUTCOME;
      for (const key of keys) this.#remember(key, { flowId, tokenOutcome, timeMs });
      return undefined;
    }
    if (classification.kind === 'v2') {
      // The client holds a working token: whatever failed before was not a fallback.
      for (const key of keys) this.#failed.delete(key);
      return undefined;
    }
    for (const key of keys) {
      const verdict = this.#verdict(key, timeMs, inContainer);
      if (verdict !== undefined) return verdict;
    }
    return undefined;
  }

  #verdict(key: string, timeMs: number, inContainer: boolean): FallbackVerdict | undefined {
    const failed = this.#failed.get(key);
    if (!failed) return undefined;
    const age = timeMs - failed.timeMs;
    if (age > this.#windowMs) {
      this.#failed.delete(key);
      return undefined;
    }
    if (age < 0) return undefined;
    if (failed.tokenOutcome === UNUSED_TOKEN_OUTCOME && age > UNUSED_TOKEN_WINDOW_MS) {
      return undefined;
    }
    // Kept: every v1 call in the window after the failure is the same fallback.
    return {
      afterTokenFlowId: failed.flowId,
      tokenOutcome: failed.tokenOutcome,
      explanation: explain(failed, inContainer),
    };
  }

  #remember(identity: string, failed: FailedToken): void {
    this.#failed.delete(identity);
    this.#failed.set(identity, failed);
    for (const [key, value] of this.#failed) {
      if (
        this.#failed.size <= this.#maxIdentities &&
        failed.timeMs - value.timeMs <= this.#windowMs
      ) {
        break;
      }
      this.#failed.delete(key);
    }
  }
}

function keysOf(identity: string | readonly string[]): readonly string[] {
  return typeof identity === 'string' ? [identity] : identity;
}
