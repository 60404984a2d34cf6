/**
 * What one request's outcome means: the value the caller wanted, or a failure that says whether
 * trying again is safe. A refusal that stored nothing (503) may always be retried; an outcome
 * that says nothing (no answer, a 500, a proxy's page) only when a retry cannot make a second
 * entry (a read, or an append with an idempotency key); a definite refusal (400, 413...) never.
 */
import type { HttpOutcome } from './http.js';
import { ReplicatedLogError, type ReplicatedLogErrorDetails } from './errors.js';
import type { ErrorCode } from './wire.js';

export type RetryKind = 'never' | 'refused' | 'unknown';

export interface Failure {
  readonly retry: RetryKind;
  readonly retryAfterMs: number | undefined;
  /** The error to throw, counted over the whole call. */
  readonly error: (attempts: number, outcomeUnknown: boolean) => ReplicatedLogError;
}

export type Verdict<T> =
  { readonly ok: true; readonly value: T } | (Failure & { readonly ok: false });

/** The codes of a 503 that stored nothing: a moment later the same request may succeed. */
const TRANSIENT_REFUSALS: ReadonlySet<string> = new Set([
  'READ_ONLY',
  'OVERLOADED',
  'STORAGE_UNAVAILABLE',
  'SHUTTING_DOWN',
]);

/** The API's error envelope in a body, if it is one. */
export function envelopeOf(body: unknown): { code: ErrorCode; message: string } | undefined {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof error?.code !== 'string' || typeof error.message !== 'string') return undefined;
  return { code: error.code as ErrorCode, message: error.message };
}

/** A failed outcome as a Failure; `what` names the request (`POST http://host/logs`). */
export function failureOf(outcome: HttpOutcome, what: string): Failure & { readonly ok: false } {
  if (outcome.kind === 'no-answer') {
    return failing(outcome.code === 'ABORTED' ? 'never' : 'unknown', outcome.message, {
      code: outcome.code,
    });
  }
  const { status, body, retryAfterMs } = outcome;
  const envelope = envelopeOf(body);
  const details = { status, body, retryAfterMs };
  if (envelope === undefined) {
    const shown = (typeof body === 'string' ? body : JSON.stringify(body)).slice(0, 200);
    return failing(
      status >= 500 ? 'unknown' : 'never',
      `${what} answered ${status} without the API's error envelope: ${shown}`,
      { ...details, code: 'UNEXPECTED_ANSWER' },
    );
  }
  const retry: RetryKind =
    status === 503 && TRANSIENT_REFUSALS.has(envelope.code)
      ? 'refused'
      : envelope.code === 'INTERNAL_ERROR'
        ? 'unknown'
        : 'never';
  return failing(retry, `${status} ${envelope.code}: ${envelope.message}`, {
    ...details,
    code: envelope.code,
  });
}

export function failing(
  retry: RetryKind,
  message: string,
  details: ReplicatedLogErrorDetails,
  make: (message: string, details: ReplicatedLogErrorDetails) => ReplicatedLogError = (m, d) =>
    new ReplicatedLogError(m, d),
): Failure & { readonly ok: false } {
  return {
    ok: false,
    retry,
    retryAfterMs: details.retryAfterMs,
    error: (attempts, outcomeUnknown) => make(message, { ...details, attempts, outcomeUnknown }),
  };
}

/** A 2xx whose body is not what the API sends: said plainly, never retried. */
export function unexpected(what: string, status: number, body: unknown): Failure & { ok: false } {
  const shown = (typeof body === 'string' ? body : JSON.stringify(body)).slice(0, 200);
  return failing('never', `${what} answered ${status} with an unexpected body: ${shown}`, {
    code: 'UNEXPECTED_ANSWER',
    status,
    body,
  });
}
