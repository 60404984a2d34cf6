/**
 * The retry loop every call of the client runs: an attempt, and after a failure that may be tried
 * again, a pause (capped exponential backoff with jitter, or the node's `Retry-After` if longer),
 * at most `maxAttempts` attempts in all.
 */
import { backoffDelayMs } from '../core/backoff.js';
import type { Verdict } from './answers.js';
import type { Clock } from './clock.js';
import { ReplicatedLogError } from './errors.js';
import { MAX_RETRY_AFTER_MS, type RetryPolicy } from './options.js';

export interface RetryScope {
  readonly policy: RetryPolicy;
  /** True when a repeat cannot make a second entry: a read, or an append with a key. */
  readonly idempotent: boolean;
  /** True for appends: an unanswered attempt may have stored it (`outcomeUnknown`). */
  readonly mutates: boolean;
  readonly signal: AbortSignal | undefined;
  /** How the pauses between attempts are waited. */
  readonly clock: Clock;
}

export interface Done<T> {
  readonly value: T;
  readonly attempts: number;
}

export async function withRetries<T>(
  scope: RetryScope,
  attempt: () => Promise<Verdict<T>>,
): Promise<Done<T>> {
  const { policy } = scope;
  let unknown = false;
  for (let attempts = 1; ; attempts++) {
    const verdict = await attempt();
    if (verdict.ok) return { value: verdict.value, attempts };
    unknown ||= scope.mutates && (verdict.retry === 'unknown' || scope.signal?.aborted === true);
    const error = verdict.error(attempts, unknown);
    const retryable =
      verdict.retry === 'refused' || (verdict.retry === 'unknown' && scope.idempotent);
    if (!retryable || attempts >= policy.maxAttempts) throw error;
    if (policy.shouldRetry !== undefined && !policy.shouldRetry(error, attempts)) throw error;
    const delayMs = retryDelayMs(policy, attempts, verdict.retryAfterMs);
    try {
      await scope.clock.sleep(delayMs, scope.signal);
    } catch {
      throw new ReplicatedLogError(`stopped before retry ${attempts + 1}: ${error.message}`, {
        code: 'ABORTED',
        attempts,
        outcomeUnknown: unknown,
      });
    }
  }
}

/**
 * The pause after failed attempt number `attempts`: the policy's capped exponential backoff with
 * jitter, or the node's `Retry-After` when longer (up to MAX_RETRY_AFTER_MS).
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempts: number,
  retryAfterMs: number | undefined,
): number {
  const backoffMs = backoffDelayMs(
    attempts,
    { baseMs: policy.baseDelayMs, maxMs: policy.maxDelayMs },
    unitInterval(policy.random()),
  );
  return Math.max(backoffMs, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

/** The jitter source's number, kept in [0, 1) whatever a custom one returns. */
function unitInterval(value: number): number {
  return Number.isFinite(value) ? Math.min(Math.max(value, 0), 1 - Number.EPSILON) : 0.5;
}
