/**
 * What a client is made with, and the limits every option is checked against when it is made (a
 * RangeError names the option, the value, the allowed range and the fix).
 */
import type { Dispatcher } from 'undici';
import type { Clock } from './clock.js';
import type { ReplicatedLogError } from './errors.js';

/** How failed attempts are tried again: capped exponential backoff with jitter. */
export interface RetryPolicy {
  /** Requests per call at most, the first included (1: never retry). */
  readonly maxAttempts: number;
  /** Delay before the first retry, before jitter; it doubles at each retry. */
  readonly baseDelayMs: number;
  /** No backoff is longer than this (a longer `Retry-After` is honoured, up to MAX_RETRY_AFTER_MS). */
  readonly maxDelayMs: number;
  /** A number in [0, 1) for the jitter; default Math.random (a seeded one makes runs repeatable). */
  readonly random: () => number;
  /**
   * Asked before each retry of a failure the client would retry (no answer, 503, ...), with the
   * failure and the number of the attempt that failed; false ends the call with that failure.
   */
  readonly shouldRetry?: (failure: ReplicatedLogError, attempt: number) => boolean;
}

export interface ReplicatedLogClientOptions {
  /**
   * The node's URL, as `http://127.0.0.1:8000`: any node for reads; appends start there and
   * follow `421 NOT_MASTER` to the master it names.
   */
  readonly url: string;
  /**
   * The cluster's node URLs (`url` may be one of them). When the node an append is sent to does
   * not answer, the append goes on at the next one, which names the master: so appends survive
   * the loss of the master. Default: `url` alone.
   */
  readonly nodes?: readonly string[] | undefined;
  /**
   * `421 NOT_MASTER` answers followed (and nodes passed over that refused the connection) within
   * one attempt of an append before it fails naming the nodes it went through. Default 5.
   */
  readonly maxRedirects?: number;
  /** Where the client reads the time and how it waits (retries, Retry-After); default the real one. */
  readonly clock?: Clock;
  /** Sent as `Authorization: Bearer <apiToken>` with appends (a master with API_TOKEN needs it). */
  readonly apiToken?: string | undefined;
  readonly retry?: Partial<RetryPolicy>;
  /** Bound on one attempt of a read or health request. Default 10 s. */
  readonly readTimeoutMs?: number;
  /**
   * Bound on one attempt of an append. Default: none without the append's `timeoutMs` (an append
   * waits for its `w` as long as it takes, by design), else that `timeoutMs` plus 5 s.
   */
  readonly appendAttemptTimeoutMs?: number | undefined;
  /** undici's dispatcher for every request (an Agent with TLS CAs, a Pool...); default undici's. */
  readonly dispatcher?: Dispatcher;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 5000,
  random: Math.random,
};
export const DEFAULT_READ_TIMEOUT_MS = 10_000;
/** How much longer than the append's own `timeoutMs` its attempt is waited for. */
export const APPEND_TIMEOUT_SLACK_MS = 5000;
/** The longest `Retry-After` waited for; a node asking for more is retried after this. */
export const MAX_RETRY_AFTER_MS = 60_000;
export const MAX_ATTEMPTS_LIMIT = 1000;
export const DEFAULT_MAX_REDIRECTS = 5;
const MAX_REDIRECTS_LIMIT = 100;
const MAX_DELAY_LIMIT_MS = 600_000;
/** setTimeout's own limit. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** The retry policy with its defaults filled in, checked. */
export function retryPolicy(
  base: RetryPolicy,
  overrides: Partial<RetryPolicy> | undefined,
): RetryPolicy {
  const policy = { ...base, ...overrides };
  integerIn('retry.maxAttempts', policy.maxAttempts, 1, MAX_ATTEMPTS_LIMIT, '1 turns retries off');
  integerIn('retry.baseDelayMs', policy.baseDelayMs, 1, MAX_DELAY_LIMIT_MS, 'give milliseconds');
  integerIn(
    'retry.maxDelayMs',
    policy.maxDelayMs,
    policy.baseDelayMs,
    MAX_DELAY_LIMIT_MS,
    'it may not be below retry.baseDelayMs',
  );
  return policy;
}

/** The redirect bound, checked; the default when not given. */
export function maxRedirectsOption(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_REDIRECTS;
  integerIn('maxRedirects', value, 0, MAX_REDIRECTS_LIMIT, '0 follows no redirect');
  return value;
}

/** A timeout in milliseconds, or undefined when not given. */
export function timeoutOption(name: string, value: number | undefined): number | undefined {
  if (value !== undefined) integerIn(name, value, 1, MAX_TIMEOUT_MS, 'give milliseconds');
  return value;
}

/** The URL without a trailing slash (a path prefix is kept, for a node behind a proxy). */
export function nodeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RangeError(`url "${raw}" is not a URL; write it as http://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RangeError(`url "${raw}" must start with http:// or https://`);
  }
  return url.href.replace(/\/+$/, '');
}

/** An id or count for a URL: a whole number from 0. */
export function countParam(name: string, value: number): string {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a whole number from 0; got ${value}`);
  }
  return String(value);
}

export function integerIn(
  name: string,
  value: number,
  min: number,
  max: number,
  fix: string,
): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}; got ${value} (${fix})`);
  }
}
