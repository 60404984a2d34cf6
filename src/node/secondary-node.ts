import { randomUUID } from 'node:crypto';
import type { Clock } from '../adapters/clock.js';
import type { Logger } from '../adapters/logger.js';
import type { LogStore } from '../adapters/log-store.js';
import type { Entry, LogIdentity } from '../core/entry.js';
import { ReplicaLog, type ReplicateBatch } from '../core/replica-log.js';
import { AbandonedRequest, ApiError } from '../http/api-error.js';
import type { FaultsBody, HeartbeatBody, ReplicaReplyBody } from '../http/schemas.js';
import type { DelayRange, SecondaryConfig } from '../config/config.js';

/** Faults a secondary injects into its own replication path, for demos and tests. */
export interface Faults {
  readonly delayMs: number | readonly [number, number];
  readonly errorRate: number;
  readonly partitioned: boolean;
}

export interface SecondaryHealth {
  readonly node: string;
  readonly role: 'secondary';
  readonly status: 'ok';
  readonly logId: string | null;
  readonly epoch: number | null;
  readonly incarnation: string;
  readonly log: { readonly lastId: number; readonly pending: number };
  readonly master: { readonly url: string | null; readonly lastContactMs: number | null };
  readonly faults: Faults;
}

export interface SecondaryDeps {
  readonly config: SecondaryConfig;
  readonly store: LogStore;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /** Told how each replication request ended (the metrics); none in most tests. */
  readonly observer?: SecondaryObserver;
}

/** `ok`: applied (perhaps nothing new); otherwise the error code of the refusal, lower case. */
export interface SecondaryObserver {
  replicateEnded(result: string): void;
  entriesStored(count: number): void;
}

/** Resolves once the request's sender has gone (its connection closed before the answer). */
export type WhenGone = () => Promise<void>;

/**
 * Requests from the master (replication and heartbeats) held by a simulated partition or delay,
 * or queued, at once. The master keeps at most its window (MAX_INFLIGHT_BATCHES) of batches and
 * one probe in flight per interval; this bound stops a sender that does not, or a partition held
 * for long while probes keep coming, from piling up requests without limit.
 */
const MAX_REPLICATE_IN_FLIGHT = 1024;

function delaySetting(delay: DelayRange): number | readonly [number, number] {
  return delay.minMs === delay.maxMs ? delay.minMs : [delay.minMs, delay.maxMs];
}

/**
 * A secondary: applies replication batches from the master through its ReplicaLog, one batch at a
 * time, and serves the gap-free prefix. Fault injection lives here because it acts on this node's
 * own request handling: a delay before storing, a 500 after storing, a partition that holds
 * requests unanswered.
 */
export class SecondaryNode {
  readonly incarnation = randomUUID();
  readonly #deps: SecondaryDeps;
  readonly #log: Logger;
  #replica!: ReplicaLog;
  #faults: Faults;
  /** Batches are applied strictly one after another: ReplicaLog decides from the current hwm. */
  #applyChain: Promise<unknown> = Promise.resolve();
  #partitionGate: { promise: Promise<void>; open: () => void } | undefined;
  #masterContactAtMs: number | undefined;
  #lastRejection: string | undefined;
  #storedIdentity: LogIdentity | undefined;
  /** Requests from the master (replication, heartbeats) not yet answered: held, delayed, queued or applying. */
  #replicateInFlight = 0;

  constructor(deps: SecondaryDeps) {
    this.#deps = deps;
    this.#log = deps.logger;
    this.#faults = {
      delayMs: delaySetting(deps.config.delay),
      errorRate: deps.config.errorRate,
      partitioned: false,
    };
  }

  async start(): Promise<void> {
    const state = await this.#deps.store.open();
    this.#replica = new ReplicaLog(
      state.identity,
      state.lastId,
      this.#deps.config.maxPendingEntries,
    );
    this.#log.info(
      {
        event: 'secondary-started',
        incarnation: this.incarnation,
        lastId: state.lastId,
        master: this.#deps.config.masterUrl ?? null,
      },
      `secondary holds entries 1..${state.lastId}; waiting for the master`,
    );
  }

  stop(): Promise<void> {
    this.#partitionGate?.open();
    return Promise.resolve();
  }

  get faults(): Faults {
    return this.#faults;
  }

  setFaults(change: FaultsBody): Faults {
    const before = this.#faults;
    this.#faults = {
      delayMs: change.delayMs ?? before.delayMs,
      errorRate: change.errorRate ?? before.errorRate,
      partitioned: change.partitioned ?? before.partitioned,
    };
    if (this.#faults.partitioned && this.#partitionGate === undefined) {
      let open!: () => void;
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      this.#partitionGate = { promise, open };
    } else if (!this.#faults.partitioned && this.#partitionGate !== undefined) {
      this.#partitionGate.open();
      this.#partitionGate = undefined;
    }
    this.#log.info(
      { event: 'faults-changed', faults: this.#faults },
      'fault injection settings changed',
    );
    return this.#faults;
  }

  get replicateRequestsInFlight(): number {
    return this.#replicateInFlight;
  }

  async replicate(body: ReplicateBatch, whenGone?: WhenGone): Promise<ReplicaReplyBody> {
    const observer = this.#deps.observer;
    try {
      const reply = await this.#admitted(() => this.#replicate(body, whenGone));
      observer?.replicateEnded('ok');
      return reply;
    } catch (error) {
      observer?.replicateEnded(
        error instanceof AbandonedRequest
          ? 'abandoned'
          : error instanceof ApiError
            ? error.code.toLowerCase()
            : 'internal_error',
      );
      throw error;
    }
  }

  /**
   * Waits while a simulated partition holds requests. A request whose sender stopped waiting
   * (the master timed out and closed the connection) is dropped then, with its batch, rather than
   * kept until the partition heals: a long partition would pile up the master's retries.
   */
  async #heldByPartition(whenGone: WhenGone | undefined): Promise<void> {
    const gate = this.#partitionGate;
    if (gate === undefined) return;
    if (whenGone === undefined) {
      await gate.promise;
      return;
    }
    const gone = await Promise.race([gate.promise.then(() => false), whenGone().then(() => true)]);
    if (gone) throw new AbandonedRequest('the master stopped waiting during the partition');
  }

  /** Runs a request from the master, if fewer than MAX_REPLICATE_IN_FLIGHT are held already. */
  async #admitted<T>(work: () => Promise<T>): Promise<T> {
    if (this.#replicateInFlight >= MAX_REPLICATE_IN_FLIGHT) {
      throw new ApiError(
        503,
        'OVERLOADED',
        `${this.#replicateInFlight} requests from the master are already held or being applied (limit ${MAX_REPLICATE_IN_FLIGHT}); the master retries after a backoff`,
        {},
        { 'retry-after': '1' },
      );
    }
    this.#replicateInFlight += 1;
    try {
      return await work();
    } finally {
      this.#replicateInFlight -= 1;
    }
  }

  async #replicate(body: ReplicateBatch, whenGone?: WhenGone): Promise<ReplicaReplyBody> {
    await this.#heldByPartition(whenGone);
    const delayMs = this.#pickDelayMs();
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const reply = await this.#serially(() => this.#apply(body));
    if (this.#faults.errorRate > 0 && this.#deps.random() < this.#faults.errorRate) {
      throw new ApiError(
        500,
        'INJECTED_ERROR',
        `injected error after storing (errorRate ${this.#faults.errorRate})`,
      );
    }
    return reply;
  }

  heartbeat(_body: HeartbeatBody, whenGone?: WhenGone): Promise<ReplicaReplyBody> {
    return this.#admitted(async () => {
      await this.#heldByPartition(whenGone);
      this.#masterContactAtMs = this.#deps.clock.nowMs();
      return this.#reply();
    });
  }

  lastVisibleId(): number {
    return this.#replica.hwm;
  }

  read(sinceId: number, limit: number): Entry[] {
    const hwm = this.#replica.hwm;
    if (sinceId >= hwm) return [];
    return this.#deps.store.read(sinceId + 1, Math.min(limit, hwm - sinceId));
  }

  get(id: number): Entry | undefined {
    return id >= 1 && id <= this.#replica.hwm ? this.#deps.store.get(id) : undefined;
  }

  health(): SecondaryHealth {
    const identity = this.#replica.identity;
    const contact = this.#masterContactAtMs;
    return {
      node: this.#deps.config.name,
      role: 'secondary',
      status: 'ok',
      logId: identity?.logId ?? null,
      epoch: identity?.epoch ?? null,
      incarnation: this.incarnation,
      log: { lastId: this.#replica.hwm, pending: this.#replica.pendingCount },
      master: {
        url: this.#deps.config.masterUrl ?? null,
        lastContactMs:
          contact === undefined ? null : Math.round(this.#deps.clock.nowMs() - contact),
      },
      faults: this.#faults,
    };
  }

  async #apply(body: ReplicateBatch): Promise<ReplicaReplyBody> {
    this.#masterContactAtMs = this.#deps.clock.nowMs();
    const outcome = this.#replica.receive(body, (id) => this.#deps.store.get(id));
    if (outcome.kind === 'rejected') {
      if (this.#lastRejection !== outcome.code) {
        this.#log.error({ event: 'replication-rejected', code: outcome.code }, outcome.message);
        this.#lastRejection = outcome.code;
      }
      throw new ApiError(409, outcome.code, outcome.message);
    }
    this.#lastRejection = undefined;
    const identity = this.#replica.identity;
    if (identity !== undefined && identity !== this.#storedIdentity) {
      // Persist the identity before the first entry of a log, so a restart knows which log it holds.
      await this.#deps.store.setIdentity(identity);
      this.#storedIdentity = identity;
    }
    const last = outcome.append[outcome.append.length - 1];
    if (last !== undefined) {
      await this.#deps.store.append(outcome.append);
      this.#replica.stored(last.id);
      this.#deps.observer?.entriesStored(outcome.append.length);
      this.#log.debug(
        { event: 'stored', fromId: outcome.append[0]?.id, toId: last.id },
        'stored replicated entries',
      );
    }
    return this.#reply();
  }

  #reply(): ReplicaReplyBody {
    return {
      logId: this.#replica.identity?.logId ?? null,
      incarnation: this.incarnation,
      hwm: this.#replica.hwm,
      pending: this.#replica.pendingCount,
    };
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#applyChain.then(work, work);
    this.#applyChain = run.catch(() => undefined);
    return run;
  }

  #pickDelayMs(): number {
    const delay = this.#faults.delayMs;
    if (typeof delay === 'number') return delay;
    const [minMs, maxMs] = delay;
    return minMs + Math.floor(this.#deps.random() * (maxMs - minMs + 1));
  }
}
