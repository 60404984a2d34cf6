/**
 * One HTTP request of the client, through undici (a dependency, the same HTTP stack whatever
 * Node's bundled fetch is): the answer's status, `Retry-After` and parsed body, or why there was
 * no answer. It never throws for a network failure: the caller decides what a failure means.
 */
import type { Dispatcher } from 'undici';
import { undici } from '../adapters/undici.js';

export interface HttpCall {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Give up waiting for the answer after this long; undefined: wait as long as it takes. */
  readonly timeoutMs: number | undefined;
  /** The caller's way to stop waiting. */
  readonly signal: AbortSignal | undefined;
  readonly dispatcher: Dispatcher | undefined;
}

export type HttpOutcome =
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly retryAfterMs: number | undefined;
      /** The body parsed as JSON, or its text when it is not JSON. */
      readonly body: unknown;
    }
  | {
      readonly kind: 'no-answer';
      readonly code: 'UNREACHABLE' | 'TIMEOUT' | 'ABORTED';
      readonly message: string;
      readonly cause: unknown;
    };

export async function send(call: HttpCall): Promise<HttpOutcome> {
  const timeout = call.timeoutMs === undefined ? undefined : AbortSignal.timeout(call.timeoutMs);
  const signals = [call.signal, timeout].filter((signal) => signal !== undefined);
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  const { request } = await undici();
  try {
    const response = await request(call.url, {
      method: call.method,
      headers: call.headers,
      ...(call.body === undefined ? {} : { body: call.body }),
      ...(signal === undefined ? {} : { signal }),
      ...(call.dispatcher === undefined ? {} : { dispatcher: call.dispatcher }),
    });
    const text = await response.body.text();
    return {
      kind: 'answer',
      status: response.statusCode,
      retryAfterMs: retryAfterMs(response.headers['retry-after']),
      body: parseJson(text),
    };
  } catch (error) {
    const origin = new URL(call.url).origin;
    if (call.signal?.aborted === true) {
      return {
        kind: 'no-answer',
        code: 'ABORTED',
        message: `stopped waiting for ${origin}`,
        cause: error,
      };
    }
    if (timeout?.aborted === true) {
      return {
        kind: 'no-answer',
        code: 'TIMEOUT',
        message: `no answer from ${origin} within ${call.timeoutMs ?? 0} ms: is the node paused or overloaded?`,
        cause: error,
      };
    }
    return {
      kind: 'no-answer',
      code: 'UNREACHABLE',
      message: unreachableText(origin, error),
      cause: error,
    };
  }
}

/** The system's or undici's code of a network error (ECONNREFUSED, ...), if it has one. */
function errorCode(error: unknown): unknown {
  return (
    (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code
  );
}

/** Codes of a connection that was never made: nothing of the request reached the node. */
const NOT_CONNECTED: ReadonlySet<unknown> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** True when the request never reached the node (no connection): sending it elsewhere is safe. */
export function neverConnected(outcome: HttpOutcome): boolean {
  return (
    outcome.kind === 'no-answer' &&
    outcome.code === 'UNREACHABLE' &&
    NOT_CONNECTED.has(errorCode(outcome.cause))
  );
}

export function unreachableText(origin: string, error: unknown): string {
  const code = errorCode(error);
  return code === 'ECONNREFUSED'
    ? `nothing answers at ${origin}: is the node running?`
    : `cannot reach ${origin} (${typeof code === 'string' ? code : (error as Error).message}): is the node running?`;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `Retry-After` in seconds or as an HTTP date, in milliseconds; undefined when absent or bad. */
export function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*[0-9]+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
