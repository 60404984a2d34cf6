import type { Clock } from '../adapters/clock.js';
import type { Logger } from '../adapters/logger.js';
import type { LogStore } from '../adapters/log-store.js';
import type { Entry, LogIdentity } from '../core/entry.js';
import { assert } from '../core/assert.js';
import { ReplicaLog, type RejectCode, type ReplicateBatch } from '../core/replica-log.js';
import { storageRefusal, type StorageRefusal } from './storage-refusal.js';
import type { OverloadedRefusal } from './append-outcome.js';
import { VisibleEntries, type VisibleListener } from './visible-entries.js';
import type { FaultsBody, HeartbeatBody, ReplicaReplyBody } from '../protocol/messages.js';
import type { DelayRange, SecondaryConfig } from '../config/config.js';
import type { KeyedRange } from './shared-store.js';
import { BATCH_ENTRIES_LIMIT } from '../protocol/limits.js';
import { compactPackedRuns } from '../protocol/packed-entry.js';

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

/**
 * Why a secondary did not apply a request from the master; the HTTP layer maps each to a status
 * and an error code, the master retries after a backoff.
 */
export type ReplicaRefusal =
  | OverloadedRefusal
  /**
   * The batch cannot be applied (another log, a stale epoch, a conflicting entry). With
   * failover, `epoch` is the refusing node's: a higher one tells the master it was deposed.
   */
  | {
      readonly reason: 'rejected';
      readonly code: RejectCode;
      readonly message: string;
      readonly epoch?: number;
    }
  /** Fault injection: the batch was stored, the answer is an error all the same. */
  | { readonly reason: 'injected-error'; readonly errorRate: number }
  /** The master closed the connection while a simulated partition held the request. */
  | { readonly reason: 'abandoned' }
  /**
   * With failover: this node is still comparing its log with the master's (and cutting what
   * differs); it answers with what it holds once its log is a prefix of the master's.
   */
  | { readonly reason: 'syncing'; readonly epoch: number; readonly master: string }
  | StorageRefusal;

export type ReplicaOutcome =
  | { readonly kind: 'replied'; readonly reply: ReplicaReplyBody }
  | { readonly kind: 'refused'; readonly refusal: ReplicaRefusal };

/** Everything a secondary touches outside itself (see MasterDeps). */
export interface SecondaryDeps {
  readonly config: SecondaryConfig;
  readonly store: LogStore;
  readonly clock: Clock;
  readonly random: () => number;
  /** A fresh, unique name: this process's incarnation. */
  readonly newId: () => string;
  readonly logger: Logger;
  /** Told how each replication request ended (the metrics); none in most tests. */
  readonly observer?: SecondaryObserver;
  /**
   * FAILOVER=true: this node follows one master's epoch (its log is a prefix of that master's),
   * shows only what that master says is committed, and stores the idempotency keys it is sent.
   * `commitId`: the commit point known when this object is made (a floor).
   */
  readonly failover?: { readonly commitId: number };
}

/** Why a retired secondary (its epoch is over) refuses: the failover node routes elsewhere. */
const RETIRED: ReplicaOutcome = {
  kind: 'refused',
  refusal: {
    reason: 'rejected',
    code: 'STALE_EPOCH',
    message: 'this node left the epoch this request belongs to',
  },
};

/** `ok`: applied (perhaps nothing new); otherwise the error code of the refusal, lower case. */
export interface SecondaryObserver {
  replicateEnded(result: string): void;
  entriesStored(count: number): void;
}

const ABANDONED: ReplicaOutcome = { kind: 'refused', refusal: { reason: 'abandoned' } };

/** The metrics' label for a refusal: the error code the master hears, in lower case. */
function refusalLabel(refusal: ReplicaRefusal): string {
  if (refusal.reason === 'rejected') return refusal.code.toLowerCase();
  return refusal.reason.replaceAll('-', '_');
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
  readonly incarnation: string;
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
  /** The highest id this process has held or been sent: no reply may claim more. */
  #highestKnownId = 0;
  /** With failover: the highest commit point a master of this epoch announced. */
  #masterCommitId = 0;
  /**
   * With failover: keys of appends not stored yet, by first id. A batch carries the keys of the
   * appends that start in it, and its entries may wait behind a gap for a later batch.
   */
  readonly #unstoredKeys = new Map<number, KeyedRange>();
  #retired = false;
  readonly #visible = new VisibleEntries();

  constructor(deps: SecondaryDeps) {
    this.#deps = deps;
    this.incarnation = deps.newId();
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
      compactPackedRuns,
    );
    assert(this.#deps.store.lastId() === state.lastId, 'the store shows what it recovered');
    this.#storedIdentity = state.identity;
    this.#highestKnownId = state.lastId;
    this.#masterCommitId = this.#deps.failover?.commitId ?? 0;
    assert(
      this.#masterCommitId <= state.lastId,
      `commit point ${this.#masterCommitId} beyond the log's end ${state.lastId}`,
    );
    // With failover this role starts once a master is followed (the role-changed line names it).
    this.#log.info(
      {
        event: 'secondary-started',
        incarnation: this.incarnation,
        lastId: state.lastId,
        ...(this.#deps.failover === undefined
          ? { master: this.#deps.config.masterUrl ?? null }
          : { commitId: this.#masterCommitId }),
      },
      this.#deps.failover === undefined
        ? `secondary holds entries 1..${state.lastId}; waiting for the master`
        : `following: holds entries 1..${state.lastId}, shows up to the commit point ${this.#masterCommitId}`,
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

  async replicate(body: ReplicateBatch, whenGone?: WhenGone): Promise<ReplicaOutcome> {
    const outcome = await this.#admitted(() => this.#replicate(body, whenGone));
    this.#deps.observer?.replicateEnded(
      outcome.kind === 'replied' ? 'ok' : refusalLabel(outcome.refusal),
    );
    return outcome;
  }

  /**
   * Waits while a simulated partition holds requests. A request whose sender stopped waiting
   * (the master timed out and closed the connection) is dropped then, with its batch, rather than
   * kept until the partition heals: a long partition would pile up the master's retries.
   * True when the request was abandoned.
   */
  async #heldByPartition(whenGone: WhenGone | undefined): Promise<boolean> {
    const gate = this.#partitionGate;
    if (gate === undefined) return false;
    if (whenGone === undefined) {
      await gate.promise;
      return false;
    }
    return Promise.race([gate.promise.then(() => false), whenGone().then(() => true)]);
  }

  /** Runs a request from the master, if fewer than MAX_REPLICATE_IN_FLIGHT are held already. */
  async #admitted(work: () => Promise<ReplicaOutcome>): Promise<ReplicaOutcome> {
    if (this.#replicateInFlight >= MAX_REPLICATE_IN_FLIGHT) {
      return {
        kind: 'refused',
        refusal: {
          reason: 'overloaded',
          queue: 'replication',
          inProgress: this.#replicateInFlight,
          limit: MAX_REPLICATE_IN_FLIGHT,
        },
      };
    }
    this.#replicateInFlight += 1;
    try {
      return await work();
    } finally {
      this.#replicateInFlight -= 1;
    }
  }

  async #replicate(body: ReplicateBatch, whenGone?: WhenGone): Promise<ReplicaOutcome> {
    if (await this.#heldByPartition(whenGone)) return ABANDONED;
    const delayMs = this.#pickDelayMs();
    if (delayMs > 0) await this.#sleep(delayMs);
    const outcome = await this.#serially(() => this.#apply(body));
    const errorRate = this.#faults.errorRate;
    if (outcome.kind === 'replied' && errorRate > 0 && this.#deps.random() < errorRate) {
      return { kind: 'refused', refusal: { reason: 'injected-error', errorRate } };
    }
    return outcome;
  }

  #sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.#deps.clock.schedule(delayMs, resolve);
    });
  }

  async heartbeat(body: HeartbeatBody, whenGone?: WhenGone): Promise<ReplicaOutcome> {
    return this.#admitted(async () => {
      if (await this.#heldByPartition(whenGone)) return ABANDONED;
      if (this.#retired) return RETIRED;
      this.#masterContactAtMs = this.#deps.clock.nowMs();
      if (body.commitId !== undefined) this.#committed(body.commitId);
      return { kind: 'replied', reply: this.#reply() };
    });
  }

  /**
   * The epoch this object served is over: refuse every request from now on (queued ones
   * included), and resolve once the one being applied, if any, is stored.
   */
  async retire(): Promise<void> {
    this.#retired = true;
    this.#partitionGate?.open();
    await this.#applyChain;
  }

  /** With failover, the commit point this node knows: entries up to it are shown. */
  get commitId(): number {
    return Math.min(this.#masterCommitId, this.#replica.hwm);
  }

  lastVisibleId(): number {
    return this.#deps.failover === undefined ? this.#replica.hwm : this.commitId;
  }

  /** A master of this epoch says entries up to `commitId` are committed. */
  #committed(commitId: number): void {
    if (this.#deps.failover === undefined || commitId <= this.#masterCommitId) return;
    const before = this.lastVisibleId();
    this.#masterCommitId = commitId;
    if (this.lastVisibleId() > before) this.#visible.notify(this.lastVisibleId());
  }

  /** Calls `listener` each time the gap-free prefix grows; returns the unsubscribe. */
  onVisible(listener: VisibleListener): () => void {
    return this.#visible.subscribe(listener);
  }

  /** Entries after `sinceId`: at most `limit`, and at most `maxBytes` of messages (at least one). */
  read(sinceId: number, limit: number, maxBytes = Infinity): Entry[] {
    const shown = this.lastVisibleId();
    if (sinceId >= shown) return [];
    return this.#deps.store.read(sinceId + 1, Math.min(limit, shown - sinceId), maxBytes);
  }

  get(id: number): Entry | undefined {
    return id >= 1 && id <= this.lastVisibleId() ? this.#deps.store.get(id) : undefined;
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

  async #apply(body: ReplicateBatch): Promise<ReplicaOutcome> {
    if (this.#retired) return RETIRED;
    this.#masterContactAtMs = this.#deps.clock.nowMs();
    const outcome = this.#replica.receive(body, (id) => this.#deps.store.get(id));
    if (outcome.kind === 'rejected') {
      if (this.#lastRejection !== outcome.code) {
        this.#log.error({ event: 'replication-rejected', code: outcome.code }, outcome.message);
        this.#lastRejection = outcome.code;
      }
      const { code, message } = outcome;
      return { kind: 'refused', refusal: { reason: 'rejected', code, message } };
    }
    this.#lastRejection = undefined;
    this.#rememberKeys(body.failover?.keys);
    const sentUpTo = body.entries[body.entries.length - 1]?.id ?? 0;
    this.#highestKnownId = Math.max(this.#highestKnownId, sentUpTo);
    // Taken before the batch is stored: what a follower shows stays below what it has stored
    // (`commitId`), so the entries it held already are shown without waiting for this write.
    if (body.failover !== undefined) this.#committed(body.failover.commitId);
    try {
      await this.#store(outcome.append, this.#keysFor(outcome.append), body.entries[0]?.id);
    } catch (error) {
      return { kind: 'refused', refusal: storageRefusal(error) };
    }
    const reply = this.#reply();
    assert(
      reply.hwm <= this.#highestKnownId,
      `reply claims ${reply.hwm}, but only ${this.#highestKnownId} was ever held or sent`,
    );
    return { kind: 'replied', reply };
  }

  /**
   * Stores what ReplicaLog accepted: the identity first, then the entries (in one append, or with
   * failover one per keyed append so that each key is stored with its ids).
   */
  async #store(
    append: readonly Entry[],
    keys?: readonly KeyedRange[],
    batchFirstId?: number,
  ): Promise<void> {
    const identity = this.#replica.identity;
    if (identity !== undefined && identity !== this.#storedIdentity) {
      // Persist the identity before the first entry of a log, so a restart knows which log it holds.
      await this.#deps.store.setIdentity(identity);
      this.#storedIdentity = identity;
    }
    const first = append[0];
    const last = append[append.length - 1];
    if (first === undefined || last === undefined) return;
    assert(
      first.id === this.#replica.hwm + 1,
      `storing from ${first.id} after ${this.#replica.hwm}`,
    );
    const stored =
      keys === undefined || keys.length === 0
        ? await this.#appendAll(append)
        : await this.#appendKeyed(append, keys, batchFirstId ?? append[0]!.id);
    if (stored === 0) return;
    const lastStored = first.id + stored - 1;
    this.#replica.stored(lastStored);
    this.#deps.observer?.entriesStored(stored);
    this.#visible.notify(this.lastVisibleId());
    this.#log.debug(
      { event: 'stored', fromId: first.id, toId: lastStored, keys: keys?.length ?? 0 },
      'stored replicated entries',
    );
  }

  #rememberKeys(keys: readonly KeyedRange[] | undefined): void {
    if (keys === undefined) return;
    const hwm = this.#replica.hwm;
    for (const range of keys) if (range[1] > hwm) this.#unstoredKeys.set(range[1], range);
    // Bounded like the entries they belong to: pending ones, and one batch beyond them.
    const limit = this.#deps.config.maxPendingEntries + BATCH_ENTRIES_LIMIT;
    if (this.#unstoredKeys.size <= limit) return;
    const farthest = [...this.#unstoredKeys.keys()].sort((x, y) => y - x);
    for (const firstId of farthest.slice(0, this.#unstoredKeys.size - limit)) {
      this.#unstoredKeys.delete(firstId);
    }
  }

  /** The keys of the appends that start in `append`, taken from those remembered. */
  #keysFor(append: readonly Entry[]): KeyedRange[] | undefined {
    if (this.#unstoredKeys.size === 0) return undefined;
    const keys: KeyedRange[] = [];
    for (const entry of append) {
      const range = this.#unstoredKeys.get(entry.id);
      if (range !== undefined) keys.push(range);
    }
    for (const firstId of this.#unstoredKeys.keys()) {
      if (firstId <= this.#replica.hwm + append.length) this.#unstoredKeys.delete(firstId);
    }
    return keys;
  }

  async #appendAll(append: readonly Entry[]): Promise<number> {
    await this.#deps.store.append(append);
    return append.length;
  }

  /**
   * Stores `append` in runs, each keyed append with its key. A keyed append that runs past the
   * end of `append` is left for the master's next batch, which starts with it and holds all of it
   * (MasterNode sends a keyed append whole), so its key is stored with all its ids; only one
   * that starts the batch and still does not fit is stored without its key (and logged).
   */
  async #appendKeyed(
    append: readonly Entry[],
    keys: readonly KeyedRange[],
    batchFirstId: number,
  ): Promise<number> {
    const firstId = append[0]!.id;
    const lastId = firstId + append.length - 1;
    const writes: Promise<void>[] = [];
    let next = firstId;
    for (const [key, keyFirstId, count] of keys) {
      if (keyFirstId < next || keyFirstId > lastId) continue;
      const keyLastId = keyFirstId + count - 1;
      if (keyFirstId > next)
        writes.push(this.#deps.store.append(this.#slice(append, next, keyFirstId - 1)));
      if (keyLastId > lastId) {
        // The master sends a keyed append whole when a batch starts with it.
        if (keyFirstId > batchFirstId) {
          next = keyFirstId;
          await Promise.all(writes);
          return next - firstId;
        }
        this.#log.warn(
          { event: 'key-not-replicated', firstId: keyFirstId, count },
          `the append ${keyFirstId}..${keyLastId} is larger than a replication batch: stored without its idempotency key`,
        );
        break;
      }
      writes.push(this.#deps.store.append(this.#slice(append, keyFirstId, keyLastId), key));
      next = keyLastId + 1;
    }
    if (next <= lastId) writes.push(this.#deps.store.append(this.#slice(append, next, lastId)));
    await Promise.all(writes);
    return append.length;
  }

  #slice(append: readonly Entry[], fromId: number, toId: number): readonly Entry[] {
    const firstId = append[0]!.id;
    return append.slice(fromId - firstId, toId - firstId + 1);
  }

  #reply(): ReplicaReplyBody {
    // With failover, the FailoverNode adds its epoch and accepted epoch to this.
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
