import type { ServerResponse } from 'node:http';
import type { ApiError } from './api-error.js';

/**
 * A JSON answer written on node:http directly, for the requests answered before or beside
 * fastify: the replication endpoint, and refusals at the door (connection limit, body budget,
 * cross-site). Nothing is written once an answer has started or the connection is gone.
 */
export function sendJson(
  response: ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  sendJsonText(response, statusCode, JSON.stringify(body), headers);
}

/** A JSON answer already written as text (the append's, built without an object per entry). */
export function sendJsonText(
  response: ServerResponse,
  statusCode: number,
  text: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(statusCode, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** An ApiError in the envelope, with its own headers and `headers` beside them. */
export function sendApiError(
  response: ServerResponse,
  error: ApiError,
  headers: Readonly<Record<string, string>> = {},
): void {
  sendJson(response, error.statusCode, error.toBody(), { ...error.headers, ...headers });
}
