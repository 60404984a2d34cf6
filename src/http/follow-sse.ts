import type { Entry } from '../core/entry.js';
import { entryJson } from '../protocol/entry-json.js';
import { ApiError, describeValue } from './api-error.js';
import { URL_INTEGER_PATTERN } from './schemas.js';

/**
 * The wire format of the log stream (`GET /logs/stream`), Server-Sent Events as browsers'
 * `EventSource` reads them. Every line ends in `\n`; every event ends with an empty line.
 */

/** How long a browser waits before reconnecting a stream that ended or broke. */
export const STREAM_RETRY_MS = 1000;

export const STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // Reverse proxies (nginx) would otherwise hold events back to fill their buffer.
  'x-accel-buffering': 'no',
};

/** The first bytes of every stream: the reconnection delay, and the headers flushed with it. */
export const STREAM_PREAMBLE = `retry: ${STREAM_RETRY_MS}\n\n`;

/** What a stream sends when it has been quiet for a keep-alive interval. */
export const KEEP_ALIVE_COMMENT = ': keep-alive\n\n';

/**
 * One entry as one event: `id:` its id (what `Last-Event-ID` resumes after), `data:` the entry
 * exactly as `GET /logs` shows it. JSON escapes line breaks, so the data is always one line.
 */
export function entryEvent(entry: Entry): string {
  return `id: ${entry.id}\ndata: ${entryJson(entry)}\n\n`;
}

const URL_INTEGER = new RegExp(URL_INTEGER_PATTERN);

/**
 * The id a stream starts after: `Last-Event-ID` when the client sends one (a reconnecting
 * `EventSource` repeats its first URL, so the header, which says what it already has, must win
 * over `since`), else `since`, else 0. An empty header counts as none, as in the SSE standard.
 */
export function streamStartAfter(
  since: number | undefined,
  lastEventId: string | string[] | undefined,
): number {
  const header = Array.isArray(lastEventId) ? lastEventId[0] : lastEventId;
  if (header === undefined || header.trim() === '') return since ?? 0;
  const text = header.trim();
  if (!URL_INTEGER.test(text)) {
    throw new ApiError(
      400,
      'INVALID_REQUEST',
      `Last-Event-ID must be the id of an entry, a non-negative integer of at most 15 digits; got ${describeValue(header)}`,
    );
  }
  return Number(text);
}
