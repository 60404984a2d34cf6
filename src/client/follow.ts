/**
 * `client.follow()`: a node's log as an async iterator, read from its Server-Sent-Events stream
 * (`GET /logs/stream`). Whenever the stream ends or breaks (the node restarted, cut a slow reader,
 * answered 503 OVERLOADED), it reconnects with `Last-Event-ID` set to the last entry it yielded,
 * after a bounded backoff (or the node's `Retry-After`), so it never yields an id twice nor skips
 * one. Ids are checked to follow one another: a gap or a repeat is thrown, never papered over.
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { undici } from '../adapters/undici.js';
import { failureOf, unexpected, type Failure } from './answers.js';
import type { Clock } from './clock.js';
import { ReplicatedLogError } from './errors.js';
import { parseJson, retryAfterMs, unreachableText, type HttpOutcome } from './http.js';
import { countParam, integerIn, timeoutOption, type RetryPolicy } from './options.js';
import { retryDelayMs } from './retry.js';
import { SseParser, type SseEvent } from './sse-parser.js';
import type { Entry } from './wire.js';

export interface FollowOptions {
  /** Start after this id (default 0: the whole log, then what comes). */
  readonly since?: number;
  /** Stops following: the iterator then throws a ReplicatedLogError with code ABORTED. */
  readonly signal?: AbortSignal;
  /**
   * Connection attempts in a row that may fail (no answer, 503, 5xx) before the iterator throws
   * the last failure; an opened stream resets the count. Default: no limit, as `tail -f`.
   */
  readonly maxConsecutiveFailures?: number;
  /**
   * An open stream that sends nothing at all (not even its keep-alive comment) for this long is
   * taken as dead and reconnected. Keep it above the node's STREAM_KEEP_ALIVE_MS. Default 60 s.
   */
  readonly idleTimeoutMs?: number;
  /** Told before each reconnection: why, and after how long. */
  readonly onReconnect?: (reconnect: Reconnect) => void;
}

export interface Reconnect {
  /** The id the next stream starts after (its `Last-Event-ID`). */
  readonly afterId: number;
  /** Connection attempts that failed in a row; 0 after a stream that was open and ended. */
  readonly failures: number;
  readonly delayMs: number;
  readonly reason: string;
}

/** What `follow()` returns: `for await (const entry of client.follow({ since }))`. */
export interface FollowIterator extends AsyncIterableIterator<Entry> {
  /** The id of the last entry yielded (the `since` given, before the first). */
  readonly lastId: number;
  /** The next entry, once the node has it. */
  next(): Promise<IteratorResult<Entry, undefined>>;
  /** Closes the stream at once; a `next()` that waits for an entry then ends the iteration. */
  return(): Promise<IteratorResult<Entry, undefined>>;
}

/** What follow needs of its client. */
export interface FollowContext {
  readonly url: string;
  readonly retry: RetryPolicy;
  /** Bound on waiting for a stream's answer (its status and headers). */
  readonly readTimeoutMs: number;
  readonly dispatcher: Dispatcher | undefined;
  /** How the pauses before reconnecting are waited. */
  readonly clock: Clock;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** An answer that is not a stream is read this far, for its error message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export function follow(context: FollowContext, options: FollowOptions = {}): FollowIterator {
  const since = Number(countParam('since', options.since ?? 0));
  if (options.maxConsecutiveFailures !== undefined) {
    const max = options.maxConsecutiveFailures;
    integerIn('maxConsecutiveFailures', max, 1, Number.MAX_SAFE_INTEGER, 'leave it out for none');
  }
  const idleTimeoutMs =
    timeoutOption('idleTimeoutMs', options.idleTimeoutMs) ?? DEFAULT_IDLE_TIMEOUT_MS;
  return new Follower(context, { ...options, idleTimeoutMs }, since);
}

type Settings = FollowOptions & { readonly idleTimeoutMs: number };

class Follower implements FollowIterator {
  readonly #stop = new AbortController();
  readonly #signal: AbortSignal;
  readonly #entries: AsyncGenerator<Entry, undefined, undefined>;
  #lastId: number;

  constructor(
    private readonly context: FollowContext,
    private readonly settings: Settings,
    private readonly since: number,
  ) {
    this.#lastId = since;
    const { signal } = settings;
    this.#signal =
      signal === undefined ? this.#stop.signal : AbortSignal.any([signal, this.#stop.signal]);
    this.#entries = this.#follow();
  }

  get lastId(): number {
    return this.#lastId;
  }

  next(): Promise<IteratorResult<Entry, undefined>> {
    return this.#entries.next();
  }

  /** Closes the stream at once, even while a `next()` waits (which then ends the iteration). */
  async return(): Promise<IteratorResult<Entry, undefined>> {
    this.#stop.abort();
    return this.#entries.return(undefined);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async *#follow(): AsyncGenerator<Entry, undefined, undefined> {
    let failures = 0;
    for (let first = true; ; first = false) {
      const opened = await this.#open(first);
      if (opened === 'stopped') return;
      let reconnect: Reconnect;
      if ('failure' in opened) {
        failures++;
        reconnect = this.#afterFailure(opened.failure, failures);
      } else {
        failures = 0;
        const end = yield* this.#read(opened.body);
        if (end === 'stopped') return;
        reconnect = { afterId: this.#lastId, failures, ...end };
      }
      this.settings.onReconnect?.(reconnect);
      if (!(await this.#pause(reconnect.delayMs))) return;
    }
  }

  /** Opens the stream: as the first request asked, plus `Last-Event-ID` when reconnecting. */
  async #open(
    first: boolean,
  ): Promise<{ readonly body: Readable } | { readonly failure: Failure } | 'stopped'> {
    const url = `${this.context.url}/logs/stream?since=${this.since}`;
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (!first) headers['last-event-id'] = String(this.#lastId);
    let response: Dispatcher.ResponseData;
    const { request } = await undici();
    try {
      response = await request(url, {
        method: 'GET',
        headers,
        signal: this.#signal,
        headersTimeout: this.context.readTimeoutMs,
        bodyTimeout: this.settings.idleTimeoutMs,
        ...(this.context.dispatcher === undefined ? {} : { dispatcher: this.context.dispatcher }),
      });
    } catch (error) {
      if (this.#stopped()) return 'stopped';
      return { failure: this.#noAnswer(error) };
    }
    const { statusCode: status, headers: answered, body } = response;
    const type = String(answered['content-type'] ?? '');
    if (status === 200 && type.startsWith('text/event-stream')) return { body };
    const text = await headOf(body);
    if (status === 200) return { failure: unexpected(`GET ${url}`, status, text) };
    const outcome: HttpOutcome = {
      kind: 'answer',
      status,
      retryAfterMs: retryAfterMs(answered['retry-after']),
      body: parseJson(text),
    };
    return { failure: failureOf(outcome, `GET ${url}`) };
  }

  /**
   * Yields the stream's entries until it ends or breaks; returns how long to wait before the
   * next connection (the stream's `retry`, else the backoff's base) and why.
   */
  async *#read(
    body: Readable,
  ): AsyncGenerator<Entry, { delayMs: number; reason: string } | 'stopped', undefined> {
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const { origin } = new URL(this.context.url);
    let retryMs: number | undefined;
    let reason: string;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        for (const item of this.#parse(parser, decoder.decode(chunk, { stream: true }))) {
          if (item.kind === 'retry') retryMs = item.ms;
          if (item.kind !== 'event' || item.event !== 'message') continue;
          const entry = this.#entryOf(item);
          this.#lastId = entry.id;
          yield entry;
        }
      }
      reason = `${origin} ended the stream`;
    } catch (error) {
      if (error instanceof ReplicatedLogError) throw error;
      if (this.#stopped()) return 'stopped';
      reason = `the stream from ${origin} broke: ${this.#breakText(error)}`;
    } finally {
      body.destroy();
    }
    const { baseDelayMs, maxDelayMs } = this.context.retry;
    return { delayMs: Math.min(Math.max(retryMs ?? baseDelayMs, 1), maxDelayMs), reason };
  }

  #parse(parser: SseParser, text: string): ReturnType<SseParser['feed']> {
    try {
      return parser.feed(text);
    } catch (error) {
      throw this.#malformed((error as Error).message);
    }
  }

  /** The event as an entry, checked: its id is the one after the last yielded. */
  #entryOf(event: SseEvent): Entry {
    const entry = parseJson(event.data) as Partial<Entry> | null;
    const id = entry?.id;
    if (typeof id !== 'number' || typeof entry?.message !== 'string') {
      throw this.#malformed(`an event that is not an entry: ${event.data.slice(0, 200)}`);
    }
    if (event.id !== String(id)) {
      throw this.#malformed(`entry ${id} under the event id ${JSON.stringify(event.id ?? null)}`);
    }
    const expected = this.#lastId + 1;
    if (id !== expected) {
      const problem =
        id > expected
          ? `entries ${expected}..${id - 1} are missing (a gap)`
          : `entry ${id} again (ids must grow by one)`;
      throw this.#malformed(`entry ${id} after entry ${this.#lastId}: ${problem}`);
    }
    return { id, message: entry.message };
  }

  #malformed(what: string): ReplicatedLogError {
    return new ReplicatedLogError(`${this.context.url}/logs/stream sent ${what}`, {
      code: 'UNEXPECTED_ANSWER',
    });
  }

  /** The failure's reconnection, or the failure thrown when it may not be retried. */
  #afterFailure(failure: Failure, failures: number): Reconnect {
    const error = failure.error(failures, false);
    const max = this.settings.maxConsecutiveFailures;
    if (failure.retry === 'never') throw error;
    if (max !== undefined && failures >= max) {
      throw new ReplicatedLogError(
        `following ${this.context.url}: ${failures} connection attempts in a row failed (maxConsecutiveFailures ${max}); the last: ${error.message}`,
        {
          code: error.code,
          status: error.status,
          body: error.body,
          retryAfterMs: error.retryAfterMs,
          attempts: failures,
        },
        { cause: error },
      );
    }
    if (this.context.retry.shouldRetry?.(error, failures) === false) throw error;
    const delayMs = retryDelayMs(this.context.retry, failures, failure.retryAfterMs);
    return { afterId: this.#lastId, failures, delayMs, reason: error.message };
  }

  #noAnswer(error: unknown): Failure {
    const { origin } = new URL(this.context.url);
    const timedOut = (error as { code?: unknown }).code === 'UND_ERR_HEADERS_TIMEOUT';
    const message = timedOut
      ? `no answer from ${origin} within ${this.context.readTimeoutMs} ms: is the node paused or overloaded?`
      : unreachableText(origin, error);
    return failureOf(
      { kind: 'no-answer', code: timedOut ? 'TIMEOUT' : 'UNREACHABLE', message, cause: error },
      `GET ${this.context.url}/logs/stream`,
    );
  }

  #breakText(error: unknown): string {
    if ((error as { code?: unknown }).code === 'UND_ERR_BODY_TIMEOUT') {
      return `nothing came for ${this.settings.idleTimeoutMs} ms, not even a keep-alive`;
    }
    return (error as Error).message;
  }

  /** True when stopped by return(); throws ABORTED when stopped by the caller's signal. */
  #stopped(): boolean {
    if (this.settings.signal?.aborted === true) {
      throw new ReplicatedLogError(
        `stopped following ${this.context.url} after entry ${this.#lastId}`,
        { code: 'ABORTED' },
        { cause: this.settings.signal.reason },
      );
    }
    return this.#stop.signal.aborted;
  }

  /** Waits before reconnecting; false when stopped meanwhile. */
  async #pause(delayMs: number): Promise<boolean> {
    try {
      await this.context.clock.sleep(delayMs, this.#signal);
      return true;
    } catch {
      return !this.#stopped();
    }
  }
}

/** The start of an answer that is not a stream, for its error message; the rest is dropped. */
async function headOf(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes >= MAX_ERROR_BODY_BYTES) break;
    }
  } catch {
    // What came is enough to say what went wrong.
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}
