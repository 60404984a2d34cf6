import { assert } from './assert.js';

export interface BackoffPolicy {
  /** Delay before the first retry, before jitter. */
  readonly baseMs: number;
  /** No delay is ever longer than this. */
  readonly maxMs: number;
}

/**
 * Capped exponential backoff with "equal jitter": half of the delay is fixed and half is random,
 * so retries from many masters spread out but a retry is never immediate. `random01` is a number
 * in [0, 1) supplied by the caller: the core has no randomness of its own, which keeps the
 * simulation deterministic.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random01: number): number {
  assert(Number.isInteger(attempt) && attempt >= 1, `attempt must be >= 1, got ${attempt}`);
  assert(random01 >= 0 && random01 < 1, `random01 must be in [0, 1), got ${random01}`);
  assert(
    policy.baseMs > 0 && policy.maxMs >= policy.baseMs,
    'backoff policy needs 0 < baseMs <= maxMs',
  );
  // 2 ** 30 is far past any cap; clamping the exponent keeps the arithmetic exact.
  const exponential = policy.baseMs * 2 ** Math.min(attempt - 1, 30);
  const capped = Math.min(policy.maxMs, exponential);
  return Math.ceil(capped / 2 + (capped / 2) * random01);
}
