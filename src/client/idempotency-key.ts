import { randomUUID } from 'node:crypto';

/** What the master accepts as `Idempotency-Key`: 1 to 128 printable ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x20-\x7E]{1,128}$/;

/**
 * The key of one logical append: the caller's, checked, or a new random one; null sends none.
 * It is made once per call and sent with every retry of it, so retries never make a second entry.
 */
export function idempotencyKeyFor(given: string | null | undefined): string | undefined {
  if (given === null) return undefined;
  if (given === undefined) return randomUUID();
  if (!IDEMPOTENCY_KEY.test(given)) {
    throw new RangeError(
      `idempotencyKey must be 1 to 128 printable ASCII characters; got ${JSON.stringify(given.slice(0, 140))} (${given.length} characters): shorten it or leave it out for a generated one`,
    );
  }
  return given;
}
