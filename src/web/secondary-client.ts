import type { Agent, Response } from 'undici';
import { undici } from '../adapters/undici.js';
import { clusterTokenHeaders, internalRequestHeaders } from '../protocol/headers.js';

/**
 * The master's requests to a secondary on behalf of the dashboard: its health, its log tail and
 * its fault settings (polled), and fault changes (proxied from the page). Every request has a
 * deadline and a cap on the answer's size, so that a paused, dead or misbehaving secondary
 * costs a bounded wait and bounded memory, never a stuck poll.
 */

export interface SecondaryCall {
  readonly method: 'GET' | 'PUT' | 'POST';
  /** Path and query, such as `/logs?since=4&limit=30`. */
  readonly path: string;
  /** JSON text to send. */
  readonly body?: string;
  /** What is left of the deadline when the call starts. */
  readonly timeoutMs: number;
  /** The whole deadline this call is part of, as errors name it (default `timeoutMs`). */
  readonly deadlineMs?: number;
  /** Answers longer than this are refused (read no further). */
  readonly maxBytes: number;
}

export interface SecondaryAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly retryAfter: string | undefined;
  readonly text: string;
}

/** No usable answer: no connection, no answer in time, or an answer over the size cap. */
export class SecondaryCallError extends Error {
  override readonly name = 'SecondaryCallError';
}

export type CallSecondary = (baseUrl: string, call: SecondaryCall) => Promise<SecondaryAnswer>;

/**
 * A caller that authenticates with the cluster token, when there is one, and trusts `ca` (TLS_CA,
 * or the node's own certificate) for https:// secondaries.
 */
export function secondaryCaller(
  clusterToken: string | undefined,
  ca?: readonly string[],
): CallSecondary {
  // undici's own fetch, so that the agent's TLS settings apply whatever Node's bundled undici is.
  let dispatcher: Agent | undefined;
  return async (baseUrl, call) => {
    const http = await undici();
    if (ca !== undefined) dispatcher ??= new http.Agent({ connect: { ca: [...ca] } });
    const headers =
      call.body === undefined
        ? clusterTokenHeaders(clusterToken)
        : internalRequestHeaders(clusterToken);
    const what = `${call.method} ${call.path.split('?')[0] ?? call.path}`;
    try {
      // One signal for the answer's head and body alike: the deadline is for the whole answer.
      const response = await http.fetch(new URL(call.path, baseUrl), {
        method: call.method,
        headers,
        ...(call.body === undefined ? {} : { body: call.body }),
        ...(dispatcher === undefined ? {} : { dispatcher }),
        redirect: 'manual',
        signal: AbortSignal.timeout(call.timeoutMs),
      });
      return {
        status: response.status,
        contentType: response.headers.get('content-type') ?? undefined,
        retryAfter: response.headers.get('retry-after') ?? undefined,
        text: await boundedText(response, call.maxBytes, what),
      };
    } catch (error) {
      if (error instanceof SecondaryCallError) throw error;
      throw new SecondaryCallError(
        `${what}: ${failureReason(error, call.deadlineMs ?? call.timeoutMs)}`,
      );
    }
  };
}

async function boundedText(response: Response, maxBytes: number, what: string): Promise<string> {
  const body = response.body;
  if (body === null) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new SecondaryCallError(`${what}: answer over ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Why a request got no answer, in words an operator can act on. */
function failureReason(error: unknown, timeoutMs: number): string {
  if (
    error instanceof DOMException &&
    (error.name === 'TimeoutError' || error.name === 'AbortError')
  )
    return `no answer within ${timeoutMs} ms (paused, overloaded or down)`;
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (the process is not running)';
  if (typeof cause?.code === 'string') return `network error ${cause.code}`;
  return error instanceof Error ? error.message : String(error);
}
