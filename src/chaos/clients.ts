/**
 * Concurrent chaos clients: each appends unique messages (sometimes a small batch) with an
 * idempotency key (sometimes none), a write concern of 1..N, "majority" or "all", sometimes with
 * `timeoutMs`, through the typed client (src/client), which retries an unknown outcome (timeout,
 * lost connection) with the same key and body. Every logical append becomes one
 * `AppendOperation` of the history.
 */
import { performance } from 'node:perf_hooks';
import type { AppendOperation, AppendOutcome } from '../checker/history.js';
import { sleep } from '../e2e/harness.js';
import { Prng } from '../core/prng.js';
import {
  ReplicatedLogClient,
  ReplicatedLogError,
  WriteConcernTimeoutError,
  type BatchAppendResult,
  type WriteConcern,
} from '../client/index.js';

export interface ClientLoadOptions {
  /** The master's base URL. */
  readonly masterUrl: string;
  /**
   * With failover: every node's URL. Client i is pinned to node i (mod their number), so clients
   * sit on both sides of a partition, and follows 421 NOT_MASTER from there (option `nodes`).
   */
  readonly urls?: readonly string[];
  readonly clients: number;
  /** Total number of nodes (to resolve "majority" and "all"). */
  readonly nodes: number;
  /** Message and key prefix, unique per run. */
  readonly prefix: string;
  readonly random: Prng;
  /** Bound on logical appends per client. */
  readonly maxPerClient: number;
  /** Bound on attempts of one logical append. */
  readonly maxAttempts?: number;
  /** Pause between a client's appends, [min, max] ms. */
  readonly thinkMs?: readonly [number, number];
}

export interface ClientStats {
  attempts: number;
  /** Attempts without an answer (timeout, connection refused or cut). */
  networkErrors: number;
  /** 503 answers (READ_ONLY, OVERLOADED) that were retried. */
  retried503: number;
  /** Answers a correct master never gives (anything but 200/201/400-413/503/504). */
  readonly anomalies: string[];
}

/** Pauses between retries, [base, cap] ms before jitter (the client doubles them). */
const RETRY_BASE_MS = 30;
const RETRY_MAX_MS = 250;

/** Explicit refusals: the entry was not stored. */
const REFUSALS = new Set([
  'READ_ONLY',
  'OVERLOADED',
  'INVALID_REQUEST',
  'MESSAGE_TOO_LARGE',
  'UNAUTHORIZED',
  'NOT_MASTER',
]);

export class ClientLoad {
  readonly operations: AppendOperation[] = [];
  readonly stats: ClientStats = { attempts: 0, networkErrors: 0, retried503: 0, anomalies: [] };
  /** Logical appends started and not yet finished. */
  inFlight = 0;
  #stopping = false;
  #giveUpAt = Number.POSITIVE_INFINITY;
  readonly #done: Promise<void>;

  constructor(readonly options: ClientLoadOptions) {
    this.#done = Promise.all(
      Array.from({ length: options.clients }, (_, client) =>
        this.#client(client, options.random.fork(client)),
      ),
    ).then(() => undefined);
  }

  /** No new logical appends from now on. */
  stopNew(): void {
    this.#stopping = true;
  }

  /** No new attempts after `at` (performance.now()): unfinished appends end as unknown. */
  giveUpAt(at: number): void {
    this.#giveUpAt = at;
  }

  /** Waits until every client has finished (bounded by `giveUpAt` plus one attempt). */
  async finished(): Promise<void> {
    await this.#done;
  }

  async #client(client: number, random: Prng): Promise<void> {
    const [thinkMin, thinkMax] = this.options.thinkMs ?? [0, 10];
    for (let index = 0; index < this.options.maxPerClient && !this.#stopping; index++) {
      await this.#append(client, index, random);
      const think = random.int(thinkMin, thinkMax);
      if (think > 0) await sleep(think);
    }
  }

  #resolve(w: WriteConcern): number {
    if (w === 'majority') return Math.floor(this.options.nodes / 2) + 1;
    if (w === 'all') return this.options.nodes;
    return w;
  }

  async #append(client: number, index: number, random: Prng): Promise<void> {
    const { prefix, nodes } = this.options;
    const batch = random.chance(0.1) ? random.int(2, 3) : 1;
    const messages = Array.from({ length: batch }, (_, i) =>
      batch === 1 ? `${prefix}-c${client}-n${index}` : `${prefix}-c${client}-n${index}-b${i}`,
    );
    const keyed = random.chance(0.9);
    const key = keyed ? `${prefix}-k-c${client}-n${index}` : undefined;
    const choices: WriteConcern[] = [
      ...Array.from({ length: nodes }, (_, i) => i + 1),
      'majority',
      'all',
    ];
    const w = random.pick(choices);
    const timeoutMs = random.chance(0.5) ? random.int(300, 2000) : undefined;
    /** Retry READ_ONLY/OVERLOADED a few times, or take the refusal as final. */
    const retries503 = random.int(0, 4);
    const attemptTimeoutMs = (timeoutMs ?? random.int(2000, 4000)) + 3000;

    this.inFlight++;
    const invokedAt = performance.now();
    let outcome: AppendOutcome = { kind: 'unknown' };
    /** The failures already counted by the retry policy. */
    const asked = new Set<ReplicatedLogError>();
    try {
      const logClient = this.#clientFor(client, random, retries503, asked);
      const options = {
        w,
        idempotencyKey: key ?? null,
        attemptTimeoutMs,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      };
      // A single message goes as `message`, a batch as `messages`: both shapes are exercised.
      const [single] = messages;
      const result =
        batch === 1 && single !== undefined
          ? await logClient
              .append(single, options)
              .then((answer) => ({ ...answer, entries: [answer.entry] }))
          : await logClient.appendBatch(messages, options);
      outcome = this.#answered(result, w, 'ok');
    } catch (error) {
      if (!(error instanceof ReplicatedLogError)) throw error;
      outcome = this.#failed(error, messages[0] ?? '', w, asked);
    } finally {
      this.inFlight--;
      this.operations.push({
        messages,
        idempotencyKey: key,
        invokedAt,
        completedAt: performance.now(),
        outcome,
      });
    }
  }

  /**
   * A client for one logical append: its retries draw their jitter from the run's seed, and stop
   * at `giveUpAt`, or after `retries503` refusals (READ_ONLY, OVERLOADED) that stored nothing.
   */
  #clientFor(
    client: number,
    random: Prng,
    retries503: number,
    asked: Set<ReplicatedLogError>,
  ): ReplicatedLogClient {
    let refusals = 0;
    const urls = this.options.urls;
    return new ReplicatedLogClient({
      url: urls === undefined ? this.options.masterUrl : urls[client % urls.length]!,
      ...(urls === undefined ? {} : { nodes: urls }),
      retry: {
        maxAttempts: this.options.maxAttempts ?? 200,
        baseDelayMs: RETRY_BASE_MS,
        maxDelayMs: RETRY_MAX_MS,
        random: () => random.float(),
        shouldRetry: (failure) => {
          asked.add(failure);
          this.#count(failure);
          if (failure.status === 503 && REFUSALS.has(failure.code)) {
            if (refusals++ >= retries503) return false;
            this.stats.retried503++;
          }
          return performance.now() < this.#giveUpAt;
        },
      },
    });
  }

  #answered(
    result: Pick<BatchAppendResult, 'entries' | 'acks' | 'attempts'>,
    w: WriteConcern,
    kind: 'ok' | 'stored',
  ): AppendOutcome {
    this.stats.attempts += result.attempts;
    const ids = result.entries.map((entry) => entry.id);
    return { kind, ids, w: this.#resolve(w), acks: result.acks };
  }

  /** The final failure of a logical append, as the history records it. */
  #failed(
    error: ReplicatedLogError,
    first: string,
    w: WriteConcern,
    asked: ReadonlySet<ReplicatedLogError>,
  ): AppendOutcome {
    if (error instanceof WriteConcernTimeoutError) return this.#answered(error, w, 'stored');
    this.stats.attempts += error.attempts;
    // The last failure, unless the retry policy has seen (and counted) it already.
    if (!asked.has(error)) this.#count(error);
    const refused = REFUSALS.has(error.code) && error.status !== undefined && error.status < 500;
    // A 421 is how a failover node that is not the master answers: not an anomaly there.
    const expected = this.options.urls !== undefined && error.code === 'NOT_MASTER';
    if (refused && !expected) this.stats.anomalies.push(`${first}: ${error.message.slice(0, 200)}`);
    if (error.outcomeUnknown || !(refused || error.status === 503)) return { kind: 'unknown' };
    return REFUSALS.has(error.code) ? { kind: 'refused', code: error.code } : { kind: 'unknown' };
  }

  /** Counts a failed attempt: no answer, or an answer a correct master never gives. */
  #count(failure: ReplicatedLogError): void {
    if (failure.unreachable) this.stats.networkErrors++;
    else if (!REFUSALS.has(failure.code)) this.stats.anomalies.push(failure.message.slice(0, 200));
  }
}
