/**
 * Headers of requests between nodes: JSON bodies, and the cluster token as a bearer credential.
 * The receiving end checks the token in constant time (src/http/token.ts).
 */

/** The scheme before the token, compared case-insensitively by the receiver (RFC 9110 §11.1). */
export const BEARER_PREFIX = 'Bearer ';

/** `authorization` with the cluster token, or nothing when the cluster runs without one. */
export function clusterTokenHeaders(clusterToken: string | undefined): Record<string, string> {
  return clusterToken === undefined ? {} : { authorization: BEARER_PREFIX + clusterToken };
}

/** Headers for a request with a JSON body, carrying the cluster token when there is one. */
export function internalRequestHeaders(clusterToken: string | undefined): Record<string, string> {
  return { 'content-type': 'application/json', ...clusterTokenHeaders(clusterToken) };
}
