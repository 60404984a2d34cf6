/**
 * Concurrent chaos clients: each appends unique messages (sometimes a small batch) with an
 * idempotency key, a write concern of 1..N, "majority" or "all", sometimes with `timeoutMs`, and
 * retries an unknown outcome (timeout, lost connection) with the same key and body. Every logical
 * append becomes one `AppendOperation` of the history. Adapted from src/e2e/durability-helpers.ts.
 */
import { performance } from 'node:perf_hooks';
import type { AppendOperation, AppendOutcome } from '../checker/history.js';
import { sleep } from '../e2e/harness.js';
import { Prng } from '../core/prng.js';

export interface ClientLoadOptions {
  /** The master's base URL. */
  readonly masterUrl: string;
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

type WriteConcern = number | 'majority' | 'all';

interface AppendAnswerBody {
  readonly log?: { readonly id: number; readonly message: string };
  readonly logs?: readonly { readonly id: number; readonly message: string }[];
  readonly acks?: number;
  readonly error?: { readonly code?: string };
}

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
    const body: Record<string, unknown> =
      batch === 1 ? { message: messages[0], w } : { messages, w };
    if (timeoutMs !== undefined) body['timeoutMs'] = timeoutMs;
    const payload = JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key !== undefined) headers['idempotency-key'] = key;
    const attemptTimeoutMs = (timeoutMs ?? random.int(2000, 4000)) + 3000;

    this.inFlight++;
    const invokedAt = performance.now();
    let sawUnknown = false;
    let refusals = 0;
    let outcome: AppendOutcome = { kind: 'unknown' };
    const maxAttempts = this.options.maxAttempts ?? 200;
    try {
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        if (attempt > 1 && performance.now() >= this.#giveUpAt) break;
        this.stats.attempts++;
        let status: number;
        let answer: AppendAnswerBody;
        let text = '';
        try {
          const response = await fetch(`${this.options.masterUrl}/logs`, {
            method: 'POST',
            headers,
            body: payload,
            signal: AbortSignal.timeout(attemptTimeoutMs),
          });
          status = response.status;
          text = await response.text();
          answer = JSON.parse(text) as AppendAnswerBody;
        } catch {
          this.stats.networkErrors++;
          sawUnknown = true;
          outcome = { kind: 'unknown' };
          if (key === undefined) break;
          await sleep(random.int(30, 150));
          continue;
        }
        const entries = answer.logs ?? (answer.log === undefined ? [] : [answer.log]);
        if (status === 200 || status === 201 || status === 504) {
          const ids = entries.map((entry) => entry.id);
          const acks = typeof answer.acks === 'number' ? answer.acks : 0;
          outcome = { kind: status === 504 ? 'stored' : 'ok', ids, w: this.#resolve(w), acks };
          break;
        }
        const code = answer.error?.code ?? `HTTP_${status}`;
        if (status === 503 && REFUSALS.has(code)) {
          outcome = sawUnknown ? { kind: 'unknown' } : { kind: 'refused', code };
          if (refusals++ >= retries503) break;
          this.stats.retried503++;
          await sleep(random.int(50, 250));
          continue;
        }
        if (REFUSALS.has(code) && status >= 400 && status < 500) {
          this.stats.anomalies.push(`${messages[0] ?? ''}: ${status} ${text.slice(0, 200)}`);
          outcome = sawUnknown ? { kind: 'unknown' } : { kind: 'refused', code };
          break;
        }
        // Anything else (a 500, a 502 ...) says nothing about whether it was stored.
        this.stats.anomalies.push(`${messages[0] ?? ''}: ${status} ${text.slice(0, 200)}`);
        sawUnknown = true;
        outcome = { kind: 'unknown' };
        if (key === undefined) break;
        await sleep(random.int(50, 200));
      }
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
}
