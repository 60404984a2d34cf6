/**
 * The one error class of the client: every failure carries the API's stable error code and HTTP
 * status when a node answered, or a client-side code when none did, and says whether the append
 * may have been stored all the same.
 */
import type { Entry, ErrorCode } from './wire.js';

/**
 * Codes for failures without an API answer: no connection or a cut one (`UNREACHABLE`), no answer
 * within the attempt's time (`TIMEOUT`), stopped by the caller's signal (`ABORTED`), an answer
 * that is not the API's (`UNEXPECTED_ANSWER`: a proxy's page, a body that is not JSON).
 */
export type ClientErrorCode = 'UNREACHABLE' | 'TIMEOUT' | 'ABORTED' | 'UNEXPECTED_ANSWER';

export interface ReplicatedLogErrorDetails {
  readonly code: ErrorCode | ClientErrorCode;
  /** The HTTP status; undefined when no answer came. */
  readonly status?: number | undefined;
  /** The parsed answer (the error envelope, with `quorum`, `master`, ... where the API adds them). */
  readonly body?: unknown;
  /** From the answer's `Retry-After`, in milliseconds. */
  readonly retryAfterMs?: number | undefined;
  /** Requests sent for this call, retries included. */
  readonly attempts?: number;
  /**
   * True when an attempt of an append got no answer (or an answer that says nothing): the append
   * may have been stored. Retrying with the same idempotency key is safe.
   */
  readonly outcomeUnknown?: boolean;
}

export class ReplicatedLogError extends Error {
  override readonly name: string = 'ReplicatedLogError';
  readonly code: ErrorCode | ClientErrorCode;
  readonly status: number | undefined;
  readonly body: unknown;
  readonly retryAfterMs: number | undefined;
  readonly attempts: number;
  readonly outcomeUnknown: boolean;

  constructor(message: string, details: ReplicatedLogErrorDetails, options?: ErrorOptions) {
    super(message, options);
    this.code = details.code;
    this.status = details.status;
    this.body = details.body;
    this.retryAfterMs = details.retryAfterMs;
    this.attempts = details.attempts ?? 1;
    this.outcomeUnknown = details.outcomeUnknown ?? false;
  }

  /** True when no node answered at all (refused, cut, timed out, aborted). */
  get unreachable(): boolean {
    return this.status === undefined;
  }
}

/**
 * `504 WRITE_CONCERN_TIMEOUT`: the append IS stored (its entries are here) and will still be
 * replicated, but fewer than `w` nodes held it when the append's `timeoutMs` passed.
 */
export class WriteConcernTimeoutError extends ReplicatedLogError {
  override readonly name: string = 'WriteConcernTimeoutError';

  constructor(
    message: string,
    details: ReplicatedLogErrorDetails,
    readonly entries: readonly Entry[],
    readonly w: number,
    readonly acks: number,
  ) {
    super(message, details);
  }
}
