/**
 * Writers for failover runs: each appends unique messages through the typed client, which knows
 * every node (`nodes`), follows 421 NOT_MASTER and retries an unknown outcome with the append's
 * one idempotency key. Most appends ask w="majority" (F1 must keep them); a share ask w=1 (F3:
 * they may be rolled back, in the open). Every logical append becomes one `AppendOperation`, and
 * every acknowledgement is noted with the node that gave it, so a run can time the first one on a
 * new master. The load can be held (no new appends) while a run waits for convergence.
 */
import { performance } from 'node:perf_hooks';
import type { AppendOperation, AppendOutcome } from '../checker/history.js';
import { Prng } from '../core/prng.js';
import {
  ReplicatedLogClient,
  ReplicatedLogError,
  WriteConcernTimeoutError,
} from '../client/index.js';
import { sleep } from './harness.js';

export interface FailoverLoadOptions {
  /** Every node's URL; writer i starts at node i (mod their number). */
  readonly urls: readonly string[];
  readonly writers: number;
  /** Message and key prefix, unique per run. */
  readonly prefix: string;
  /** The share of appends sent with w=1 instead of "majority", in [0, 1]. */
  readonly minorityShare: number;
  readonly random: Prng;
  /** Bound on one attempt of an append (a dead master's connection may hang until then). */
  readonly attemptTimeoutMs?: number;
}

/** One acknowledgement: when it arrived (performance.now()) and the node that gave it. */
export interface Acknowledgement {
  readonly at: number;
  readonly node: string;
}

const ATTEMPT_TIMEOUT_MS = 4000;
const MAX_ATTEMPTS = 200;
const RETRY_BASE_MS = 25;
const RETRY_MAX_MS = 250;
const HELD_POLL_MS = 20;
/**
 * Pause after an append that failed: while nodes still name the dead master, the client ends an
 * append after maxRedirects without retrying it, and a writer would spin through appends.
 */
const PAUSE_AFTER_FAILURE_MS = 100;

export class FailoverLoad {
  readonly operations: AppendOperation[] = [];
  readonly acknowledgements: Acknowledgement[] = [];
  /** Appends that ended in an error, by its code (and "unknown outcome" when it may be stored). */
  readonly failures: Record<string, number> = {};
  inFlight = 0;
  #held = false;
  #stopping = false;
  #giveUpAt = Number.POSITIVE_INFINITY;
  readonly #done: Promise<void>;

  constructor(private readonly options: FailoverLoadOptions) {
    this.#done = Promise.all(
      Array.from({ length: options.writers }, (_, writer) =>
        this.#writer(writer, options.random.fork(writer + 1)),
      ),
    ).then(() => undefined);
  }

  /** No new appends until `release()`; those in flight go on. */
  hold(): void {
    this.#held = true;
  }

  release(): void {
    this.#held = false;
  }

  /** The first acknowledgement after `at` (performance.now()) by a node other than `notBy`. */
  firstAcknowledgementAfter(at: number, notBy?: string): Acknowledgement | undefined {
    return this.acknowledgements.find((ack) => ack.at > at && ack.node !== notBy);
  }

  /** Ends the load: no new appends; attempts stop at `giveUpAt` (unfinished ones are unknown). */
  async stop(giveUpAt: number): Promise<void> {
    this.#stopping = true;
    this.#giveUpAt = giveUpAt;
    await this.#done;
  }

  async #writer(writer: number, random: Prng): Promise<void> {
    const { urls } = this.options;
    const client = new ReplicatedLogClient({
      url: urls[writer % urls.length]!,
      nodes: urls,
      appendAttemptTimeoutMs: this.options.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS,
      retry: {
        maxAttempts: MAX_ATTEMPTS,
        baseDelayMs: RETRY_BASE_MS,
        maxDelayMs: RETRY_MAX_MS,
        random: () => random.float(),
        shouldRetry: () => performance.now() < this.#giveUpAt,
      },
    });
    for (let index = 0; index < 10_000_000 && !this.#stopping; index++) {
      if (this.#held) {
        await sleep(HELD_POLL_MS);
        continue;
      }
      const ok = await this.#append(client, `${this.options.prefix}-w${writer}-n${index}`, random);
      if (!ok) await sleep(PAUSE_AFTER_FAILURE_MS);
    }
  }

  /** One logical append, recorded; true when it was acknowledged. */
  async #append(client: ReplicatedLogClient, message: string, random: Prng): Promise<boolean> {
    const w = random.chance(this.options.minorityShare) ? 1 : 'majority';
    const idempotencyKey = `${message}-key`;
    this.inFlight++;
    const invokedAt = performance.now();
    let outcome: AppendOutcome;
    try {
      const result = await client.append(message, { w, idempotencyKey });
      outcome = { kind: 'ok', ids: [result.entry.id], w: result.w, acks: result.acks };
      this.acknowledgements.push({ at: performance.now(), node: result.node });
    } catch (error) {
      if (!(error instanceof ReplicatedLogError)) throw error;
      outcome = failedOutcome(error);
      const why = `${error.code}${error.outcomeUnknown ? ' (outcome unknown)' : ''}`;
      this.failures[why] = (this.failures[why] ?? 0) + 1;
    } finally {
      this.inFlight--;
    }
    this.operations.push({
      messages: [message],
      idempotencyKey,
      invokedAt,
      completedAt: performance.now(),
      outcome,
    });
    return outcome.kind === 'ok';
  }
}

/** A 504 is stored; an append that ever went unanswered is unknown; else it was refused. */
function failedOutcome(error: ReplicatedLogError): AppendOutcome {
  if (error instanceof WriteConcernTimeoutError) {
    return {
      kind: 'stored',
      ids: error.entries.map((entry) => entry.id),
      w: error.w,
      acks: error.acks,
    };
  }
  if (error.outcomeUnknown || error.status === undefined) return { kind: 'unknown' };
  return { kind: 'refused', code: error.code };
}
