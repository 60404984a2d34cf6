import { createHash, timingSafeEqual } from 'node:crypto';
import { BEARER_PREFIX } from '../protocol/headers.js';

const SCHEME = BEARER_PREFIX.toLowerCase();

/**
 * Whether an `Authorization` header carries `Bearer <token>`, compared in constant time (both
 * sides hashed first, so that not even the length leaks). Without a token, everything passes.
 */
export function tokenChecker(token: string | undefined): (header: string | undefined) => boolean {
  if (token === undefined) return () => true;
  const expected = createHash('sha256').update(token).digest();
  return (header) => {
    const value = header ?? '';
    // The scheme is case-insensitive (RFC 9110 §11.1): "bearer x" is as good as "Bearer x".
    const presented =
      value.slice(0, SCHEME.length).toLowerCase() === SCHEME ? value.slice(SCHEME.length) : '';
    return timingSafeEqual(createHash('sha256').update(presented).digest(), expected);
  };
}
