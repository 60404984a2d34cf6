import type { ErrorEnvelope, ReplicaErrorCode } from '../protocol/errors.js';

/** The stable error codes of the public API and of the internal endpoints (docs/API.md). */
export type ErrorCode =
  /** What a secondary may answer its master with (src/protocol). */
  | ReplicaErrorCode
  | 'NOT_MASTER'
  | 'READ_ONLY'
  | 'WRITE_CONCERN_TIMEOUT'
  /** The master got no usable answer from a secondary it forwards a dashboard action to. */
  | 'SECONDARY_UNREACHABLE'
  /** The dashboard's files are missing from this build. */
  | 'DASHBOARD_NOT_BUILT'
  /** A browser page of another origin tried to change the cluster. */
  | 'CROSS_SITE_REQUEST'
  /** The node is stopping (a request on a connection kept alive from before): retry elsewhere. */
  | 'SHUTTING_DOWN';

/**
 * An error with an HTTP status, a stable code and a message that names the value, the limit and
 * the fix. `extra` fields are added beside `status` and `error` in the envelope.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toBody(): ErrorEnvelope & Readonly<Record<string, unknown>> {
    return {
      status: 'error' as const,
      error: { code: this.code, message: this.message },
      ...this.extra,
    };
  }
}

/** 400 for a write concern outside what this cluster allows; names the range and the value. */
export function invalidWriteConcern(got: unknown, clusterSize: number): ApiError {
  return new ApiError(
    400,
    'INVALID_REQUEST',
    `w must be an integer from 1 to ${clusterSize} (the master and ${clusterSize - 1} secondaries), "majority" or "all"; got ${describeValue(got)}`,
  );
}

/** Longest piece of a client's value an error message repeats. */
const SHOWN_VALUE_CHARS = 40;

/**
 * A client's value, shown in an error message: short values as JSON, long strings cut, arrays and
 * objects by kind only. Never JSON.stringify of a whole client value: it may be megabytes, or
 * nested deeply enough to overflow the stack.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return value.length <= SHOWN_VALUE_CHARS
      ? JSON.stringify(value)
      : `${JSON.stringify(value.slice(0, SHOWN_VALUE_CHARS))}... (${value.length} characters)`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return String(value);
  }
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** 401 for a missing or wrong cluster token, the same on every endpoint that needs it. */
/** Which secret an endpoint needs: the nodes' CLUSTER_TOKEN, or the clients' API_TOKEN. */
export type TokenKind = 'CLUSTER_TOKEN' | 'API_TOKEN';

export function unauthorizedError(kind: TokenKind = 'CLUSTER_TOKEN'): ApiError {
  const which = kind === 'CLUSTER_TOKEN' ? 'the cluster token' : 'the API token';
  return new ApiError(
    401,
    'UNAUTHORIZED',
    `this endpoint needs ${which} as "Authorization: Bearer <${kind}>"; the token is missing or wrong`,
    {},
    { 'www-authenticate': 'Bearer' },
  );
}
