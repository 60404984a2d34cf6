/**
 * The typed client of a replicated log: appends (single and batch) with a write concern, an
 * idempotency key made once per append, bounded retries on unknown outcomes, and `421 NOT_MASTER`
 * followed to the master (master-route.ts); reads, one entry, following the log (follow.ts) and
 * health, from the node given. Every failure is a ReplicatedLogError carrying the API's code and status.
 */
import type { Dispatcher } from 'undici';
import { failureOf, unexpected, type Verdict } from './answers.js';
import { SYSTEM_CLOCK, type Clock } from './clock.js';
import { findMaster, type FoundMaster } from './find-master.js';
import { follow, type FollowIterator, type FollowOptions } from './follow.js';
import { send, type HttpOutcome } from './http.js';
import { idempotencyKeyFor } from './idempotency-key.js';
import { appendAttempt, MasterRoute, type RoutedAppend } from './master-route.js';
import {
  APPEND_TIMEOUT_SLACK_MS,
  countParam,
  DEFAULT_READ_TIMEOUT_MS,
  DEFAULT_RETRY,
  maxRedirectsOption,
  nodeUrl,
  retryPolicy,
  timeoutOption,
  type ReplicatedLogClientOptions,
  type RetryPolicy,
} from './options.js';
import type {
  AppendOptions,
  AppendResult,
  BatchAppendResult,
  CallOptions,
  ReadOptions,
} from './results.js';
import { withRetries, type Done } from './retry.js';
import type { Entry, Health } from './wire.js';

export class ReplicatedLogClient {
  /** The node this client reads from (and sends its first append to), without a trailing slash. */
  readonly url: string;
  readonly #options: ReplicatedLogClientOptions;
  readonly #retry: RetryPolicy;
  readonly #readTimeoutMs: number;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #route: MasterRoute;
  readonly #maxRedirects: number;
  readonly #clock: Clock;

  /** `new ReplicatedLogClient('http://127.0.0.1:8000')`, or with options. */
  constructor(options: ReplicatedLogClientOptions | string) {
    const given = typeof options === 'string' ? { url: options } : options;
    this.url = nodeUrl(given.url);
    this.#options = given;
    this.#retry = retryPolicy(DEFAULT_RETRY, given.retry);
    this.#readTimeoutMs =
      timeoutOption('readTimeoutMs', given.readTimeoutMs) ?? DEFAULT_READ_TIMEOUT_MS;
    timeoutOption('appendAttemptTimeoutMs', given.appendAttemptTimeoutMs);
    this.#dispatcher = given.dispatcher;
    this.#route = new MasterRoute(this.url, given.nodes);
    this.#maxRedirects = maxRedirectsOption(given.maxRedirects);
    this.#clock = given.clock ?? SYSTEM_CLOCK;
  }

  /** Where appends go now: `url`, or the master a node named (or the next node) since. */
  get masterUrl(): string {
    return this.#route.master;
  }

  /** A client with the same options for another node (a secondary, to read from it). */
  at(url: string): ReplicatedLogClient {
    return new ReplicatedLogClient({ ...this.#options, url });
  }

  /** Appends one message; resolves once `w` nodes hold it. */
  async append(message: string, options: AppendOptions = {}): Promise<AppendResult> {
    const { value, attempts, key } = await this.#append({ message }, options);
    const { entries, ...rest } = value;
    const entry = entries[0];
    if (entry === undefined) throw new RangeError('the master answered an append with no entry');
    return { ...rest, entry, attempts, idempotencyKey: key };
  }

  /** Appends messages under consecutive ids, all or none, with one write concern and one key. */
  async appendBatch(
    messages: readonly string[],
    options: AppendOptions = {},
  ): Promise<BatchAppendResult> {
    if (messages.length === 0) {
      throw new RangeError('appendBatch needs at least one message; got an empty array');
    }
    const { value, attempts, key } = await this.#append({ messages }, options);
    return { ...value, attempts, idempotencyKey: key };
  }

  /** The node's log, oldest first: entries after `since`, at most `limit` of them. */
  async read(options: ReadOptions = {}): Promise<Entry[]> {
    const query = new URLSearchParams();
    if (options.since !== undefined) query.set('since', countParam('since', options.since));
    if (options.limit !== undefined) query.set('limit', countParam('limit', options.limit));
    const path = query.size === 0 ? '/logs' : `/logs?${query.toString()}`;
    return this.#get(path, options, (status, body) =>
      Array.isArray(body) ? { ok: true, value: body as Entry[] } : unexpected(path, status, body),
    );
  }

  /**
   * The node's log as it grows: every entry after `since`, then each new one, from its stream
   * (GET /logs/stream). Reconnects by itself, resuming after the last entry yielded, so no id is
   * yielded twice or skipped; `break` (or `return()`) closes the stream.
   *
   *   for await (const entry of client.follow({ since: 0, signal })) console.log(entry.id);
   */
  follow(options: FollowOptions = {}): FollowIterator {
    const context = {
      url: this.url,
      retry: this.#retry,
      readTimeoutMs: this.#readTimeoutMs,
      dispatcher: this.#dispatcher,
      clock: this.#clock,
    };
    return follow(context, options);
  }

  /** One entry by id; a missing one fails with code NOT_FOUND (status 404). */
  async get(id: number, options: CallOptions = {}): Promise<Entry> {
    const path = `/logs/${countParam('id', id)}`;
    return this.#get(path, options, (status, body) =>
      typeof (body as Partial<Entry> | null)?.id === 'number'
        ? { ok: true, value: body as Entry }
        : unexpected(path, status, body),
    );
  }

  /**
   * The node's GET /health: a master's (with its secondaries), a secondary's, or with failover a
   * node's in any role (`candidate` during an election).
   */
  async health(options: CallOptions = {}): Promise<Health> {
    return this.#get('/health', options, (status, body) => {
      const role = (body as { role?: unknown } | null)?.role;
      return role === 'master' || role === 'secondary' || role === 'candidate'
        ? { ok: true, value: body as Health }
        : unexpected('/health', status, body);
    });
  }

  /**
   * The master now, found through the /health of `masterUrl` and every one of `nodes` (asked at
   * once), then of the master they name: the node that says it is master (find-master.ts). Appends
   * go there from then on. Fails with NOT_MASTER when nodes answered but none is master (an
   * election), or with the first node's error when none answered.
   */
  async findMaster(options: CallOptions = {}): Promise<FoundMaster> {
    const asked = [...new Set([this.#route.master, ...this.#route.nodes])];
    const found = await findMaster(asked, (url) => this.at(url).health(options));
    this.#route.moveTo(found.url);
    return found;
  }

  async #append(
    fields: { readonly message: string } | { readonly messages: readonly string[] },
    options: AppendOptions,
  ): Promise<Done<RoutedAppend> & { readonly key: string | undefined }> {
    const key = idempotencyKeyFor(options.idempotencyKey);
    const body = JSON.stringify({
      ...fields,
      ...(options.w === undefined ? {} : { w: options.w }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key !== undefined) headers['idempotency-key'] = key;
    const { apiToken } = this.#options;
    if (apiToken !== undefined && apiToken !== '') headers['authorization'] = `Bearer ${apiToken}`;
    const timeoutMs =
      timeoutOption('attemptTimeoutMs', options.attemptTimeoutMs) ??
      this.#options.appendAttemptTimeoutMs ??
      (options.timeoutMs === undefined ? undefined : options.timeoutMs + APPEND_TIMEOUT_SLACK_MS);
    const scope = { idempotent: key !== undefined, mutates: true, ...this.#scope(options) };
    const done = await withRetries(scope, () =>
      appendAttempt({
        route: this.#route,
        maxRedirects: this.#maxRedirects,
        clock: this.#clock,
        timeoutMs,
        send: (node, leftMs) => this.#send('POST', `${node}/logs`, headers, body, leftMs, options),
      }),
    );
    return { ...done, key };
  }

  async #get<T>(
    path: string,
    options: CallOptions,
    read: (status: number, body: unknown) => Verdict<T>,
  ): Promise<T> {
    const url = `${this.url}${path}`;
    const timeoutMs =
      timeoutOption('attemptTimeoutMs', options.attemptTimeoutMs) ?? this.#readTimeoutMs;
    const scope = { idempotent: true, mutates: false, ...this.#scope(options) };
    const done = await withRetries(scope, async () => {
      const outcome = await this.#send('GET', url, {}, undefined, timeoutMs, options);
      return outcome.kind === 'answer' && outcome.status === 200
        ? read(outcome.status, outcome.body)
        : failureOf(outcome, `GET ${url}`);
    });
    return done.value;
  }

  #scope(options: CallOptions): {
    policy: RetryPolicy;
    signal: AbortSignal | undefined;
    clock: Clock;
  } {
    const policy = retryPolicy(this.#retry, options.retry);
    return { policy, signal: options.signal, clock: this.#clock };
  }

  #send(
    method: 'GET' | 'POST',
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number | undefined,
    options: CallOptions,
  ): Promise<HttpOutcome> {
    return send({
      method,
      url,
      headers,
      ...(body === undefined ? {} : { body }),
      timeoutMs,
      signal: options.signal,
      dispatcher: this.#dispatcher,
    });
  }
}
