/**
 * Invariant checks that stay on in production (TIGER_STYLE): a broken invariant means the
 * node's state can no longer be trusted, so it is better to stop loudly than to serve a wrong log.
 */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/**
 * A broken invariant found by a check of its own: `if (check) fail(message)` where a loop checks
 * every entry, so that the message is made only when the check fails (`assert`'s is made on
 * every call).
 */
export function fail(message: string): never {
  throw new InvariantError(message);
}

export function assertSafeId(id: number, what: string): void {
  assert(
    Number.isSafeInteger(id) && id >= 0,
    `${what} must be a non-negative safe integer, got ${id}`,
  );
}
