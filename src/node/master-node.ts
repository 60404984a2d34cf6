import type { Clock } from '../adapters/clock.js';
import type { Logger } from '../adapters/logger.js';
import type { LogStore } from '../adapters/log-store.js';
import type { ReplicaAnswer, ReplicationTransport } from '../adapters/replication-transport.js';
import { assert, InvariantError } from '../core/assert.js';
import type { Entry, LogIdentity } from '../core/entry.js';
import { IdempotencyTable } from '../core/idempotency.js';
import { RecentEntries } from './recent-entries.js';
import type { KeyedRange } from './shared-store.js';
import { commitIdOf } from '../core/commit.js';
import { VisibleEntries, type VisibleListener } from './visible-entries.js';
import { storageRefusal } from './storage-refusal.js';
import {
  MasterCore,
  type CoreEvent,
  type PeerSnapshot,
  type SendOrder,
} from '../core/master-core.js';
import { masterCoreConfig } from '../core/master-tuning.js';
import type { QuorumView } from '../core/quorum.js';
import { resolveWriteConcern } from '../core/write-concern.js';
import type { MasterConfig } from '../config/config.js';
import type { MasterObserver } from './master-metrics.js';
import {
  appendOutcomeLabel,
  type AppendedOutcome,
  type AppendRefusal,
  type AppendRequest,
  type AppendResult,
  type Appended,
} from './append-outcome.js';

export type { AppendRequest, AppendResult } from './append-outcome.js';

export interface MasterHealth {
  readonly node: string;
  readonly role: 'master';
  readonly status: 'ok' | 'read-only';
  readonly readOnly: boolean;
  readonly logId: string;
  readonly epoch: number;
  readonly quorum: QuorumView;
  readonly log: { readonly lastId: number };
  readonly waitingAppends: number;
  readonly secondaries: readonly PeerSnapshot[];
}

/**
 * Everything the master touches outside itself. Production passes the file or memory store,
 * the HTTP transport, the system clock and crypto; the simulator passes its disk, network and
 * virtual clock, and runs this same class.
 */
export interface MasterDeps {
  readonly config: MasterConfig;
  readonly store: LogStore;
  readonly transport: ReplicationTransport;
  readonly clock: Clock;
  readonly random: () => number;
  /** A fresh, unique name: the id of a new log. */
  readonly newId: () => string;
  readonly logger: Logger;
  /**
   * A broken invariant found outside any request (in a reply or timer handler): the node's
   * state can no longer be trusted, and this must stop it.
   */
  readonly fatal: (error: unknown) => void;
  /** Told how appends, replication and probes end (the metrics, the simulator's checks). */
  readonly observer?: MasterObserver;
  /** FAILOVER=true: this master leads one epoch of an elected cluster (see MasterFailover). */
  readonly failover?: MasterFailover;
}

/**
 * What a failover master needs beyond a fixed one. It leads `epoch` under the name `self`; it
 * shows and announces only its commit point (`commitIdOf`: acknowledgements of this epoch only),
 * starting from `commitId`, the one the node knew before; it counts a reply only from a node
 * whose log is a prefix of its own (accepted in this epoch); it sends the keys of its appends;
 * and it tells `onAnswer` of every answer, with the time its request was sent (the election
 * counts them for check-quorum from that time). What secondaries hold counts towards w only
 * while the election's lease holds (`leaseEndsAtMs`; see MasterCore.renewLease).
 */
export interface MasterFailover {
  readonly self: string;
  /** Where clients reach this node (ADVERTISED_URL): followers name it in their 421 answers. */
  readonly url: string;
  readonly epoch: number;
  readonly commitId: number;
  readonly keysStartingIn: (fromId: number, toId: number) => KeyedRange[];
  readonly onAnswer: (peer: string, answer: ReplicaAnswer, sentAtMs: number) => void;
  /** Until when this master holds its lease (the election's leaseEndsAtMs). */
  readonly leaseEndsAtMs: () => number;
}

/** An append waiting for its write concern; `lastId` and `w` say what it waits for. */
interface Pending {
  readonly lastId: number;
  readonly w: number;
  readonly resolve: (outcome: { expired: boolean; acks: number }) => void;
}

/** The core's events that only make a log line: all but an append's release or expiry. */
type LoggedEvent = Exclude<CoreEvent, { readonly kind: 'released' | 'expired' }>;

/** A waiting append whose write concern is met already: none may exist after any event. */
export interface StuckWaiter {
  readonly lastId: number;
  readonly w: number;
  readonly acks: number;
}

/**
 * Drives a MasterCore with real inputs: client appends, replies from secondaries and the clock.
 * It owns every effect (store, network, timers, log lines) and keeps none of the protocol's
 * decisions: those are the core's. It returns domain results; the HTTP layer maps them.
 */
export class MasterNode {
  readonly #config: MasterConfig;
  readonly #deps: MasterDeps;
  readonly #log: Logger;
  readonly #pending = new Map<number, Pending>();
  #core!: MasterCore;
  #identity!: LogIdentity;
  #keys!: IdempotencyTable;
  #nextToken = 1;
  /** Store writes not yet settled, and those of appends with an idempotency key. */
  #pendingWrites = 0;
  readonly #keyedWrites = new Map<string, Promise<void>>();
  #storageFailing = false;
  #recent!: RecentEntries;
  #cancelTimer: (() => void) | undefined;
  #timerAtMs = Infinity;
  #pumpQueued = false;
  #stopped = false;
  readonly #visible = new VisibleEntries();
  /** With failover: entries up to here are held by a majority in this epoch. */
  #commitId = 0;
  /** The last id when this master started: with failover, its epoch's inherited log. */
  #startId = 0;

  constructor(deps: MasterDeps) {
    this.#deps = deps;
    this.#config = deps.config;
    this.#log = deps.logger;
  }

  get clusterSize(): number {
    return this.#config.secondaries.length + 1;
  }

  async start(): Promise<void> {
    const { store, clock } = this.#deps;
    const state = await store.open();
    assert(store.lastId() === state.lastId, 'the store shows what it recovered');
    const failover = this.#deps.failover;
    const epoch = failover?.epoch ?? state.identity?.epoch ?? 1;
    this.#identity = { logId: state.identity?.logId ?? this.#deps.newId(), epoch };
    if (state.identity?.logId !== this.#identity.logId || state.identity.epoch !== epoch) {
      await store.setIdentity(this.#identity);
    }
    this.#commitId = Math.min(failover?.commitId ?? 0, state.lastId);
    this.#keys = new IdempotencyTable(this.#config.maxIdempotencyKeys);
    for (const [key, append] of state.keys) {
      assert(append.firstId + append.count - 1 <= state.lastId, `key ${key} names stored ids`);
      if (this.#keys.get(key) === undefined) this.#keys.put(key, append);
    }
    const config = this.#config;
    // Room for a full window of the largest batches, twice: enough to replicate from memory
    // while secondaries keep up, bounded whatever the message size.
    this.#recent = new RecentEntries(
      2 * config.maxInflightBatches * config.maxBatchEntries,
      2 * config.maxInflightBatches * config.maxBatchBytes,
    );
    this.#recent.clear(state.lastId + 1);
    this.#startId = state.lastId;
    this.#core = new MasterCore(
      masterCoreConfig(config.secondaries, config),
      state.lastId,
      clock.nowMs(),
      failover === undefined ? 0 : state.lastId,
      failover === undefined ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY,
    );
    this.#log.info(
      {
        event: 'master-started',
        logId: this.#identity.logId,
        epoch: this.#identity.epoch,
        lastId: state.lastId,
        secondaries: config.secondaries.map((peer) => `${peer.name}=${peer.url}`),
      },
      `master holds log ${this.#identity.logId} up to id ${state.lastId}; replicating to ${config.secondaries.length} secondaries`,
    );
    this.#pump();
  }

  async stop(): Promise<void> {
    if (!this.#stopped && this.#deps.failover !== undefined) {
      // Stepping down: appends still waiting get their honest answer now (stored, w not reached).
      this.#core.expireAll(this.#deps.clock.nowMs());
      this.#handleEvents();
    }
    this.#stopped = true;
    this.#cancelTimer?.();
    await this.#deps.transport.close();
  }

  /** With failover, the commit point: entries up to it are held by a majority in this epoch. */
  get commitId(): number {
    return this.#commitId;
  }

  /** The last id written here, maybe not durable yet (with failover, replicated from then on). */
  get writtenId(): number {
    return this.#core.writtenId;
  }

  get storeWritesInFlight(): number {
    return this.#pendingWrites;
  }

  async append(request: AppendRequest): Promise<AppendResult> {
    const observer = this.#deps.observer;
    const startedMs = this.#deps.clock.nowMs();
    const w = this.#resolveW(request);
    const result = typeof w === 'number' ? await this.#append(request, w) : w;
    observer?.appendEnded(
      appendOutcomeLabel(result),
      typeof w === 'number' ? w : undefined,
      this.#deps.clock.nowMs() - startedMs,
    );
    return result;
  }

  async #append(request: AppendRequest, w: number): Promise<AppendResult> {
    assert(
      request.messageBytes.length === request.messages.length,
      'every message comes with its size',
    );
    const deadlineMs =
      request.timeoutMs === undefined ? undefined : this.#deps.clock.nowMs() + request.timeoutMs;
    const key = request.idempotencyKey;
    if (key !== undefined) {
      // A retry while the first request is still being written waits for it: if that write
      // fails, the key is forgotten and this request appends afresh.
      await this.#keyedWrites.get(key)?.catch(() => undefined);
      const known = this.#keys.get(key);
      if (known !== undefined) {
        const lastId = known.firstId + known.count - 1;
        return this.#answer('replayed', known.firstId, lastId, w, deadlineMs);
      }
    }
    const refusal = this.#admission();
    if (refusal !== undefined) return { kind: 'refused', refusal };
    return this.#store(request, w, deadlineMs);
  }

  /** Whether a new append may be stored now; the refusal says why not. */
  #admission(): AppendRefusal | undefined {
    const core = this.#core;
    if (core.readOnly) {
      const retryAfterS = Math.max(1, Math.ceil(this.#config.heartbeatIntervalMs / 1000));
      return { reason: 'read-only', quorum: core.quorum(), retryAfterS };
    }
    // Appends being written to the store count too: with a slow disk they pile up there first.
    const inProgress = core.waitingAppends + this.#pendingWrites;
    const limit = this.#config.maxWaitingAppends;
    if (inProgress >= limit) return { reason: 'overloaded', queue: 'appends', inProgress, limit };
    if (this.#storageFailing) return { reason: 'storage-unavailable' };
    return undefined;
  }

  /** Assigns ids, stores the entries, then waits for the write concern. */
  async #store(
    request: AppendRequest,
    w: number,
    deadlineMs: number | undefined,
  ): Promise<AppendResult> {
    const core = this.#core;
    const count = request.messages.length;
    const firstId = core.assign(count);
    const epoch = this.#identity.epoch;
    const entries = request.messages.map((message, index): Entry => ({
      id: firstId + index,
      epoch,
      message,
    }));
    const lastId = firstId + count - 1;
    const key = request.idempotencyKey;
    if (key !== undefined) this.#keys.put(key, { firstId, count });
    // Set by the store's callback: whether the entries may have left this node.
    const progress = { sent: false };
    // With failover, entries are replicated once written, in parallel with this node's fsync.
    const onWritten =
      this.#deps.failover === undefined
        ? undefined
        : () => {
            progress.sent = true;
            this.#written(entries, request.messageBytes, lastId);
          };
    const write = this.#deps.store.append(entries, key, onWritten);
    this.#pendingWrites += 1;
    if (key !== undefined) this.#keyedWrites.set(key, write);
    try {
      await write;
    } catch (error) {
      if (progress.sent) return this.#failedAfterSending(error, firstId, lastId);
      if (key !== undefined) this.#keys.delete(key);
      this.#storageFailing = true;
      return { kind: 'refused', refusal: storageRefusal(error) };
    } finally {
      this.#writeSettled(key);
    }
    assert(this.#deps.store.lastId() >= lastId, `the store holds ${lastId} once written`);
    if (!progress.sent) this.#recent.add(entries, request.messageBytes);
    core.stored(lastId, this.#deps.clock.nowMs());
    this.#requestPump();
    if (this.#deps.failover === undefined) this.#visible.notify(this.lastVisibleId());
    else this.#advanceCommit();
    return this.#answer('created', firstId, lastId, w, deadlineMs, entries);
  }

  /** Written, not durable yet: replicated from now on, counted once stored. */
  #written(entries: readonly Entry[], messageBytes: readonly number[], lastId: number): void {
    if (this.#stopped) return;
    this.#recent.add(entries, messageBytes);
    this.#core.written(lastId);
    this.#requestPump();
  }

  /**
   * The store failed an append after writing it (its fsync): the entries may be on secondaries
   * already, so their ids can never be given again, and what this node's disk holds is unknown
   * (PostgreSQL's fsync lesson). The node stops; a restart recovers the log from the disk and
   * the election settles the rest.
   */
  #failedAfterSending(error: unknown, firstId: number, lastId: number): AppendResult {
    const text = error instanceof Error ? error.message : String(error);
    this.#fatal(
      new InvariantError(
        `the store failed entries ${firstId}..${lastId} after writing them (${text}); they may be replicated already, so this node stops rather than give their ids again: restart it`,
      ),
    );
    return { kind: 'refused', refusal: storageRefusal(error) };
  }

  #writeSettled(key: string | undefined): void {
    this.#pendingWrites -= 1;
    if (key !== undefined) this.#keyedWrites.delete(key);
    // A failed write fails every write queued after it; once all have settled, the ids they
    // reserved are released, so the next append continues right after the last stored id.
    if (this.#storageFailing && this.#pendingWrites === 0 && !this.#stopped) {
      this.#core.abandonUnstored();
      this.#storageFailing = false;
    }
  }

  lastVisibleId(): number {
    return this.#deps.failover === undefined ? this.#deps.store.lastId() : this.#commitId;
  }

  /** Calls `listener` each time stored entries make the log longer; returns the unsubscribe. */
  onVisible(listener: VisibleListener): () => void {
    return this.#visible.subscribe(listener);
  }

  /** `JSON.stringify(entry.message)`, escaped once for the answer and every read of it. */
  readonly messageJson = (entry: Entry): string => this.#recent.messageJson(entry);

  /** Entries after `sinceId`: at most `limit`, and at most `maxBytes` of messages (at least one). */
  read(sinceId: number, limit: number, maxBytes = Infinity): Entry[] {
    if (this.#deps.failover === undefined)
      return this.#deps.store.read(sinceId + 1, limit, maxBytes);
    const shown = this.#commitId;
    if (sinceId >= shown) return [];
    return this.#deps.store.read(sinceId + 1, Math.min(limit, shown - sinceId), maxBytes);
  }

  get(id: number): Entry | undefined {
    const shown = this.#deps.failover === undefined ? this.#core.lastId : this.#commitId;
    return id >= 1 && id <= shown ? this.#deps.store.get(id) : undefined;
  }

  health(): MasterHealth {
    const core = this.#core;
    const readOnly = core.readOnly;
    return {
      node: this.#config.name,
      role: 'master',
      status: readOnly ? 'read-only' : 'ok',
      readOnly,
      logId: this.#identity.logId,
      epoch: this.#identity.epoch,
      quorum: core.quorum(),
      log: { lastId: core.lastId },
      waitingAppends: core.waitingAppends,
      secondaries: core.peers(this.#deps.clock.nowMs()),
    };
  }

  #resolveW(request: AppendRequest): number | AppendResult {
    const size = this.clusterSize;
    const resolved = resolveWriteConcern(request.w ?? 'all', size);
    if (Number.isInteger(resolved) && resolved >= 1 && resolved <= size) return resolved;
    return {
      kind: 'refused',
      refusal: { reason: 'invalid-write-concern', w: request.w, clusterSize: size },
    };
  }

  /**
   * Waiting appends whose write concern is met already: after any event there must be none, or
   * an append is held up by something other than its own w (head-of-line blocking). The
   * simulator checks this after every step.
   */
  stuckWaiters(): StuckWaiter[] {
    const stuck: StuckWaiter[] = [];
    const nowMs = this.#deps.clock.nowMs();
    for (const { lastId, w } of this.#pending.values()) {
      const acks = this.#core.acksFor(lastId, nowMs);
      if (acks >= w) stuck.push({ lastId, w, acks });
    }
    return stuck;
  }

  async #answer(
    outcome: Exclude<AppendedOutcome, 'timed-out'>,
    firstId: number,
    lastId: number,
    w: number,
    deadlineMs: number | undefined,
    appended?: readonly Entry[],
  ): Promise<Appended> {
    const waited = await this.#waitFor(lastId, w, deadlineMs);
    // A fresh append answers with the entries it built; only a replay reads them back.
    const entries = appended ?? this.#deps.store.read(firstId, lastId - firstId + 1);
    assert(entries.length === lastId - firstId + 1, `entries ${firstId}..${lastId} must be stored`);
    assert(waited.expired || waited.acks >= w, `released ${lastId} with ${waited.acks} < w=${w}`);
    return {
      kind: 'appended',
      outcome: waited.expired ? 'timed-out' : outcome,
      entries,
      w,
      acks: waited.acks,
    };
  }

  #waitFor(
    lastId: number,
    w: number,
    deadlineMs: number | undefined,
  ): Promise<{ expired: boolean; acks: number }> {
    const token = this.#nextToken++;
    const promise = new Promise<{ expired: boolean; acks: number }>((resolve) => {
      this.#pending.set(token, { lastId, w, resolve });
    });
    const nowMs = this.#deps.clock.nowMs();
    if (!this.#core.waitFor(token, lastId, w, deadlineMs, nowMs)) {
      this.#pending.delete(token);
      // The entry is stored already (replays, or a race with the check in append): answer honestly.
      return Promise.resolve({ expired: true, acks: this.#core.acksFor(lastId, nowMs) });
    }
    this.#handleEvents();
    this.#reschedule();
    return promise;
  }

  /** Coalesces the pumps of many appends arriving in one event-loop turn into one. */
  #requestPump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    this.#deps.clock.schedule(0, () => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#stopped) return;
    const core = this.#core;
    const nowMs = this.#deps.clock.nowMs();
    core.tick(nowMs);
    for (const probe of core.pollProbes(nowMs)) this.#sendProbe(probe.peer, probe.probeNo);
    // The entries read for this pump's batches, by first id: a new map each pump, never a field
    // cleared. V8 leaves a cleared Map's old table in the old generation still pointing at what
    // it held, and the young-generation GC counts those pointers as live: every batch read for a
    // catch-up (4,000 entries each) then outlived two scavenges and waited for a full GC. With
    // the map per pump, a durable catch-up's master spent 20 ms in scavenges against 110-150 ms
    // (the last 2 s of two alternating pairs).
    const reads = new Map<number, Entry[]>();
    // The batches carry the commit point the answers just moved; a follower that has every
    // entry is sent it alone (`pollSends`), so that its reads show what was acknowledged.
    this.#advanceCommit();
    for (const order of core.pollSends(
      nowMs,
      (fromId) => this.#batchEnd(fromId, reads),
      this.#sendableId(),
      this.#commitId,
    ))
      this.#sendBatch(order, reads);
    this.#recent.release(core.heldByHealthyId);
    this.#handleEvents();
    this.#reschedule();
  }

  /**
   * Entries written but not durable yet can be read only from the recent entries (the store shows
   * them once durable): they are sent only while every one of them is still kept there.
   */
  #sendableId(): number {
    const core = this.#core;
    return this.#recent.firstId <= core.lastId + 1 ? core.writtenId : core.lastId;
  }

  /**
   * Where a batch from `fromId` ends, within the entry and byte limits. The entries read are kept
   * in `reads`, this pump's: the batch is sent right after, and secondaries that are level share
   * them.
   */
  #batchEnd(fromId: number, reads: Map<number, Entry[]>): number {
    let entries = reads.get(fromId);
    if (entries === undefined) {
      const { maxBatchEntries, maxBatchBytes } = this.#config;
      entries =
        this.#recent.read(fromId, maxBatchEntries, maxBatchBytes) ??
        this.#deps.store.readForReplication(fromId, maxBatchEntries, maxBatchBytes);
      entries = this.#wholeKeyedAppend(fromId, entries);
      reads.set(fromId, entries);
    }
    const last = entries[entries.length - 1];
    assert(last !== undefined, `batch from ${fromId} must hold an entry`);
    return last.id;
  }

  /**
   * With failover, a batch that starts with a keyed append holds all of it, even past the batch
   * limits: a follower stores a key only with all the ids it names (a keyed append that starts
   * later in a batch and does not fit waits for the next batch, which starts with it).
   */
  #wholeKeyedAppend(fromId: number, entries: Entry[]): Entry[] {
    const keyed = this.#deps.failover?.keysStartingIn(fromId, fromId)[0];
    const lastId = entries[entries.length - 1]?.id ?? 0;
    if (keyed === undefined || fromId + keyed[2] - 1 <= lastId) return entries;
    return (
      this.#recent.read(fromId, keyed[2], Infinity) ??
      this.#deps.store.readForReplication(fromId, keyed[2])
    );
  }

  #sendBatch(order: SendOrder, reads: ReadonlyMap<number, Entry[]>): void {
    const peer = this.#config.secondaries.find((candidate) => candidate.name === order.peer);
    assert(peer !== undefined, `unknown secondary ${order.peer}`);
    const { fromId, toId, requestId } = order.batch;
    const read = reads.get(fromId);
    const entries =
      toId < fromId
        ? []
        : read?.[read.length - 1]?.id === toId
          ? read
          : (this.#recent.read(fromId, toId - fromId + 1, Infinity) ??
            this.#deps.store.readForReplication(fromId, toId - fromId + 1));
    const failover = this.#deps.failover;
    const body = {
      logId: this.#identity.logId,
      epoch: this.#identity.epoch,
      entries,
      ...(failover === undefined
        ? {}
        : {
            failover: {
              from: failover.self,
              commitId: this.#commitId,
              startId: this.#startId,
              url: failover.url,
              keys: failover.keysStartingIn(fromId, toId),
            },
          }),
    };
    const sentAtMs = this.#deps.clock.nowMs();
    const sent = { sendNo: requestId, firstId: fromId, lastId: toId, entries: entries.length };
    this.#deps.observer?.replicationStarted?.(order.peer, sent);
    this.#deps.transport
      .replicate(peer, body, this.#config.replicationTimeoutMs)
      .then((answer) => {
        this.#deps.observer?.replicationEnded(
          order.peer,
          answer.ok,
          entries.length,
          this.#deps.clock.nowMs() - sentAtMs,
          sent,
        );
        this.#onReplicated(order.peer, requestId, answer, sentAtMs);
      })
      .catch((error: unknown) => {
        this.#fatal(error);
      });
  }

  #onReplicated(peer: string, requestId: number, received: ReplicaAnswer, sentAtMs: number): void {
    if (this.#stopped) return;
    const answer = this.#counted(peer, received, sentAtMs);
    if (answer === undefined) return;
    const nowMs = this.#deps.clock.nowMs();
    if (answer.ok) this.#core.replicated(peer, requestId, answer.report, nowMs);
    else this.#core.replicationFailed(peer, requestId, answer.error, nowMs, this.#deps.random());
    this.#pump();
  }

  #sendProbe(peerName: string, probeNo: number): void {
    const peer = this.#config.secondaries.find((candidate) => candidate.name === peerName);
    assert(peer !== undefined, `unknown secondary ${peerName}`);
    const failover = this.#deps.failover;
    const body = {
      logId: this.#identity.logId,
      epoch: this.#identity.epoch,
      lastId: this.#core.lastId,
      ...(failover === undefined
        ? {}
        : {
            from: failover.self,
            commitId: this.#commitId,
            startId: this.#startId,
            url: failover.url,
          }),
    };
    const sentAtMs = this.#deps.clock.nowMs();
    this.#deps.transport
      .heartbeat(peer, body, this.#config.heartbeatIntervalMs)
      .then((received) => {
        if (this.#stopped) return;
        const answer = this.#counted(peerName, received, sentAtMs);
        if (answer === undefined) return;
        this.#deps.observer?.probeEnded(peerName, answer.ok);
        const nowMs = this.#deps.clock.nowMs();
        if (answer.ok) this.#core.probeAnswered(peerName, probeNo, answer.report, nowMs);
        else this.#core.probeFailed(peerName, probeNo);
        this.#pump();
      })
      .catch((error: unknown) => {
        this.#fatal(error);
      });
  }

  /**
   * With failover, the election hears of every answer first (check-quorum, higher epochs). A
   * node answers with what it holds only once its log is a prefix of this master's; what counts
   * towards w and the commit point is then MasterCore's to decide (its `countFromId`).
   * Undefined when hearing it deposed this master (check-quorum, a higher epoch): then the answer
   * counts towards nothing, and the appends still waiting were answered as this master stopped.
   * `sentAtMs`: when the request was sent, from which check-quorum counts the answer.
   */
  #counted(peer: string, answer: ReplicaAnswer, sentAtMs: number): ReplicaAnswer | undefined {
    const failover = this.#deps.failover;
    if (failover === undefined) return answer;
    failover.onAnswer(peer, answer, sentAtMs);
    if (this.#stopped) return undefined;
    this.#core.renewLease(failover.leaseEndsAtMs(), this.#deps.clock.nowMs());
    return answer;
  }

  /** With failover: the commit point moves up as acknowledgements of this epoch come in. */
  #advanceCommit(): void {
    const failover = this.#deps.failover;
    if (failover === undefined || this.#stopped) return;
    const acks = this.#core
      .matchIds()
      .map(({ matchId }) => ({ epoch: failover.epoch, ackedId: matchId }));
    const next = commitIdOf(
      failover.epoch,
      this.#core.lastId,
      acks,
      this.clusterSize,
      this.#commitId,
    );
    if (next === this.#commitId) return;
    this.#commitId = next;
    this.#visible.notify(next);
  }

  #handleEvents(): void {
    this.#advanceCommit();
    for (const event of this.#core.takeEvents()) {
      this.#deps.observer?.coreEvent?.(event);
      this.#handleEvent(event);
    }
  }

  #handleEvent(event: CoreEvent): void {
    switch (event.kind) {
      case 'released':
      case 'expired': {
        const pending = this.#pending.get(event.token);
        if (pending === undefined) return;
        this.#pending.delete(event.token);
        pending.resolve({ expired: event.kind === 'expired', acks: event.acks });
        return;
      }
      default:
        this.#logEvent(event);
    }
  }

  /** The log line of an event about the cluster's health or replication (not an append's). */
  #logEvent(event: LoggedEvent): void {
    switch (event.kind) {
      case 'health-changed': {
        const level = event.to === 'Healthy' ? 'info' : 'warn';
        this.#log[level](
          {
            event: 'health-changed',
            peer: event.peer,
            from: event.from,
            to: event.to,
            missedProbes: event.missedProbes,
          },
          `${event.peer} is ${event.to} (was ${event.from}, ${event.missedProbes} missed probes)`,
        );
        return;
      }
      case 'read-only-changed': {
        const { quorum } = event;
        if (event.readOnly) {
          this.#log.warn(
            { event: 'read-only', ...quorum },
            `read-only: ${quorum.healthy} of ${quorum.size} nodes healthy, ${quorum.required} needed; appends are refused`,
          );
        } else {
          this.#log.info(
            { event: 'writable', ...quorum },
            `writable again: ${quorum.healthy} of ${quorum.size} nodes healthy; appends are accepted`,
          );
        }
        return;
      }
      case 'replication-failing':
        this.#log.warn(
          {
            event: 'replication-failing',
            peer: event.peer,
            error: event.error,
            retryInMs: event.retryInMs,
          },
          `replication to ${event.peer} failed (${event.error}); retrying with backoff until it answers`,
        );
        return;
      case 'replication-recovered':
        this.#log.info(
          {
            event: 'replication-recovered',
            peer: event.peer,
            failedAttempts: event.failedAttempts,
          },
          `replication to ${event.peer} works again after ${event.failedAttempts} failed attempts`,
        );
        return;
      case 'peer-restarted':
        this.#log.info(
          {
            event: 'peer-restarted',
            peer: event.peer,
            hwm: event.hwm,
            incarnation: event.incarnation,
          },
          `${event.peer} restarted holding 1..${event.hwm}; sending it everything after that`,
        );
        return;
    }
  }

  #reschedule(): void {
    if (this.#stopped) return;
    const next = this.#core.nextWakeupMs();
    if (next === undefined || next >= this.#timerAtMs) return;
    this.#cancelTimer?.();
    this.#timerAtMs = next;
    const clock = this.#deps.clock;
    this.#cancelTimer = clock.schedule(next - clock.nowMs(), () => {
      this.#timerAtMs = Infinity;
      this.#cancelTimer = undefined;
      this.#pump();
    });
  }

  #fatal(error: unknown): void {
    // A bug in our own reply handling: the state may be inconsistent, so stop rather than guess.
    this.#stopped = true;
    this.#deps.fatal(error);
  }
}
