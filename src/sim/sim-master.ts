import type { ReplicaAnswer } from '../adapters/replication-transport.js';
import { assert } from '../core/assert.js';
import type { Entry, LogIdentity } from '../core/entry.js';
import { IdempotencyTable } from '../core/idempotency.js';
import {
  MasterCore,
  type CoreEvent,
  type PeerSnapshot,
  type SendOrder,
} from '../core/master-core.js';
import { masterCoreConfig, type MasterTuning } from '../core/master-tuning.js';
import { resolveWriteConcern, type WriteConcern } from '../core/write-concern.js';
import type { Prng } from './prng.js';
import type { Scheduler } from './scheduler.js';
import type { SimDisk } from './sim-disk.js';
import type { ReplicateRequest } from './sim-secondary.js';

/**
 * Deliberately broken masters, for tests that prove the simulator catches them.
 * `stored-before-durable`: counts its own copy (and answers) once written, before the fsync.
 * `release-before-w`: waits for one node fewer than the client asked for.
 */
export type MasterBug = 'stored-before-durable' | 'release-before-w';

/** The real master's tuning (so the core gets the same policies), plus what the driver needs. */
export interface SimMasterConfig extends MasterTuning {
  readonly peers: readonly string[];
  readonly replicationTimeoutMs: number;
  readonly maxIdempotencyKeys: number;
  readonly bug: MasterBug | undefined;
}

export interface AppendRequest {
  readonly messages: readonly string[];
  /** May be out of range on purpose: the master must refuse it (INVALID_REQUEST). */
  readonly w: WriteConcern | undefined;
  readonly timeoutMs: number | undefined;
  readonly idempotencyKey: string | undefined;
}

export type AppendAnswer =
  | {
      readonly kind: 'ok';
      /** 201 created, 200 replayed by key, 504 stored but w not reached in time. */
      readonly statusCode: 200 | 201 | 504;
      readonly ids: readonly number[];
      readonly w: number;
      readonly acks: number;
    }
  | { readonly kind: 'refused'; readonly code: string };

/** How the master reaches its secondaries (ReplicationTransport, with callbacks). */
export interface SimTransport {
  replicate(
    peer: string,
    body: ReplicateRequest,
    timeoutMs: number,
    settle: (answer: ReplicaAnswer) => void,
  ): void;
  heartbeat(peer: string, timeoutMs: number, settle: (answer: ReplicaAnswer) => void): void;
}

/** What the invariant checker learns from inside the master, at the moment it happens. */
export interface MasterObserver {
  /** An append was accepted (ids assigned) while the core's own view said `readOnly`. */
  accepted(readOnly: boolean): void;
  /** A waiter was answered: released (`expired` false) or timed out. */
  answered(lastId: number, w: number, acks: number, expired: boolean): void;
  coreEvent(event: CoreEvent): void;
}

interface Waiting {
  readonly lastId: number;
  readonly w: number;
  readonly resolve: (expired: boolean, acks: number) => void;
}

/**
 * The master in simulation: MasterNode's driving of MasterCore, step for step, over a SimDisk, a
 * SimTransport and the fake clock. Store writes take simulated time; `core.stored` is called when
 * the write is durable, the pump runs after every reply, after stores and at `nextWakeupMs`.
 */
export class SimMaster {
  #up = false;
  #core: MasterCore | undefined;
  #identity: LogIdentity = { logId: '', epoch: 1 };
  #keys = new IdempotencyTable(1);
  readonly #waiting = new Map<number, Waiting>();
  readonly #keyedWrites = new Map<string, (() => void)[]>();
  #nextToken = 1;
  #diskFreeAtMs = 0;
  #timerAtMs = Infinity;
  #timerGeneration = 0;
  #pumpQueued = false;

  constructor(
    readonly name: string,
    readonly disk: SimDisk,
    private readonly config: SimMasterConfig,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly transport: SimTransport,
    private readonly observer: MasterObserver,
  ) {}

  get up(): boolean {
    return this.#up;
  }

  get clusterSize(): number {
    return this.config.peers.length + 1;
  }

  get core(): MasterCore | undefined {
    return this.#core;
  }

  /** Appends answered by no event yet (the driver's pending table). */
  get waitingAnswers(): number {
    return this.#waiting.size;
  }

  /**
   * A waiting append whose write concern is already met: there must be none after any step, or
   * one client's append is held up by something other than its own w (head-of-line blocking).
   */
  answerableWaiters(): { token: number; lastId: number; w: number; acks: number }[] {
    const core = this.#core;
    const found = [];
    if (core === undefined) return [];
    for (const [token, waiting] of this.#waiting) {
      const acks = core.acksFor(waiting.lastId);
      if (acks >= waiting.w) found.push({ token, lastId: waiting.lastId, w: waiting.w, acks });
    }
    return found;
  }

  peers(): PeerSnapshot[] {
    return this.#core?.peers(this.scheduler.nowMs) ?? [];
  }

  /** A new process: identity, idempotency keys and last id from disk, a fresh core. */
  start(): void {
    const config = this.config;
    const state = this.disk.recover();
    this.#identity = state.identity ?? { logId: `log-${this.prng.hex(16)}`, epoch: 1 };
    if (state.identity === undefined) this.disk.setIdentity(this.#identity);
    this.#keys = new IdempotencyTable(config.maxIdempotencyKeys);
    for (const [key, append] of state.keys) {
      if (this.#keys.get(key) === undefined) this.#keys.put(key, append);
    }
    this.#core = new MasterCore(
      masterCoreConfig(
        config.peers.map((name) => ({ name, url: `sim://${name}` })),
        config,
      ),
      state.lastId,
      this.scheduler.nowMs,
    );
    this.#waiting.clear();
    this.#keyedWrites.clear();
    this.#nextToken = 1;
    this.#diskFreeAtMs = this.scheduler.nowMs;
    this.#timerAtMs = Infinity;
    this.#pumpQueued = false;
    this.#up = true;
    this.#pump();
  }

  /** kill -9: memory, timers and unanswered requests are gone; the disk keeps what it keeps. */
  crash(): void {
    this.#up = false;
    this.#core = undefined;
    this.#waiting.clear();
    this.#keyedWrites.clear();
    this.scheduler.endLifetime(this.name);
  }

  /** Visible log, as GET /logs shows it. */
  shownLength(): number {
    return this.disk.lastId;
  }

  shownEntry(index: number): Entry | undefined {
    return this.disk.get(index + 1);
  }

  /** POST /logs. Returns false when no process listens (connection refused). */
  serveAppend(request: AppendRequest, respond: (answer: AppendAnswer) => void): boolean {
    if (!this.#up) return false;
    const size = this.clusterSize;
    const w = resolveWriteConcern(request.w ?? 'all', size);
    if (!Number.isInteger(w) || w < 1 || w > size) {
      respond({ kind: 'refused', code: 'INVALID_REQUEST' });
      return true;
    }
    const deadlineMs =
      request.timeoutMs === undefined ? undefined : this.scheduler.nowMs + request.timeoutMs;
    const key = request.idempotencyKey;
    const inProgress = key === undefined ? undefined : this.#keyedWrites.get(key);
    // A retry while the first request is still being written waits for it.
    if (inProgress !== undefined) {
      inProgress.push(() => {
        this.#appendAfterKeyCheck(request, w, deadlineMs, respond);
      });
    } else {
      this.#appendAfterKeyCheck(request, w, deadlineMs, respond);
    }
    return true;
  }

  #appendAfterKeyCheck(
    request: AppendRequest,
    w: number,
    deadlineMs: number | undefined,
    respond: (answer: AppendAnswer) => void,
  ): void {
    const core = this.#core!;
    const key = request.idempotencyKey;
    if (key !== undefined) {
      const known = this.#keys.get(key);
      if (known !== undefined) {
        this.#answer(200, known.firstId, known.firstId + known.count - 1, w, deadlineMs, respond);
        return;
      }
    }
    if (core.readOnly) {
      respond({ kind: 'refused', code: 'READ_ONLY' });
      return;
    }
    if (core.waitingAppends >= this.config.maxWaitingAppends) {
      respond({ kind: 'refused', code: 'OVERLOADED' });
      return;
    }
    this.observer.accepted(core.readOnly);
    const count = request.messages.length;
    const firstId = core.assign(count);
    const epoch = this.#identity.epoch;
    const entries = request.messages.map((message, index): Entry => ({
      id: firstId + index,
      epoch,
      message,
    }));
    const lastId = firstId + count - 1;
    if (key !== undefined) {
      this.#keys.put(key, { firstId, count });
      this.#keyedWrites.set(key, []);
    }
    this.disk.append(entries, key);
    const latencyMs = this.prng.int(1, 3) + this.prng.int(1, 8);
    const completeAtMs = Math.max(this.#diskFreeAtMs, this.scheduler.nowMs + latencyMs);
    this.#diskFreeAtMs = completeAtMs;
    const flushAtMs = completeAtMs + this.prng.int(0, 200);
    this.scheduler.at(completeAtMs, this.name, () => {
      this.disk.completeNext(flushAtMs);
      const waiters = key === undefined ? undefined : this.#keyedWrites.get(key);
      if (key !== undefined) this.#keyedWrites.delete(key);
      core.stored(lastId);
      this.#requestPump();
      this.#answer(201, firstId, lastId, w, deadlineMs, respond);
      for (const resume of waiters ?? []) resume();
    });
  }

  #answer(
    statusCode: 200 | 201,
    firstId: number,
    lastId: number,
    w: number,
    deadlineMs: number | undefined,
    respond: (answer: AppendAnswer) => void,
  ): void {
    this.#waitFor(lastId, w, deadlineMs, (expired, acks) => {
      const entries = this.disk.read(firstId, lastId - firstId + 1);
      assert(entries.length === lastId - firstId + 1, `entries ${firstId}..${lastId} stored`);
      respond({
        kind: 'ok',
        statusCode: expired ? 504 : statusCode,
        ids: entries.map((entry) => entry.id),
        w,
        acks,
      });
    });
  }

  #waitFor(
    lastId: number,
    w: number,
    deadlineMs: number | undefined,
    resolve: (expired: boolean, acks: number) => void,
  ): void {
    const core = this.#core!;
    const token = this.#nextToken++;
    this.#waiting.set(token, { lastId, w, resolve });
    const waitW = this.config.bug === 'release-before-w' ? Math.max(1, w - 1) : w;
    if (!core.waitFor(token, lastId, waitW, deadlineMs)) {
      this.#waiting.delete(token);
      const acks = core.acksFor(lastId);
      this.observer.answered(lastId, w, acks, true);
      resolve(true, acks);
      return;
    }
    this.#handleEvents();
    this.#reschedule();
  }

  /** Coalesces the pumps of appends stored at one instant (setImmediate in MasterNode). */
  #requestPump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    this.scheduler.at(this.scheduler.nowMs, this.name, () => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #pump(): void {
    const core = this.#core!;
    const nowMs = this.scheduler.nowMs;
    core.tick(nowMs);
    for (const probe of core.pollProbes(nowMs)) this.#sendProbe(probe.peer, probe.probeNo);
    const batchEnd = (fromId: number): number => {
      const entries = this.disk.read(fromId, this.config.maxBatchEntries);
      const last = entries[entries.length - 1];
      assert(last !== undefined, `batch from ${fromId} must hold an entry`);
      return last.id;
    };
    for (const order of core.pollSends(nowMs, batchEnd)) this.#sendBatch(order);
    this.#handleEvents();
    this.#reschedule();
  }

  #sendBatch(order: SendOrder): void {
    const { fromId, toId, requestId } = order.batch;
    const entries = toId < fromId ? [] : this.disk.read(fromId, toId - fromId + 1);
    const body = { logId: this.#identity.logId, epoch: this.#identity.epoch, entries };
    this.transport.replicate(order.peer, body, this.config.replicationTimeoutMs, (answer) => {
      const core = this.#core!;
      const nowMs = this.scheduler.nowMs;
      if (answer.ok) core.replicated(order.peer, requestId, answer.report, nowMs);
      else core.replicationFailed(order.peer, requestId, answer.error, nowMs, this.prng.float());
      this.#pump();
    });
  }

  #sendProbe(peer: string, probeNo: number): void {
    this.transport.heartbeat(peer, this.config.heartbeatIntervalMs, (answer) => {
      const core = this.#core!;
      if (answer.ok) core.probeAnswered(peer, probeNo, answer.report, this.scheduler.nowMs);
      else core.probeFailed(peer, probeNo);
      this.#pump();
    });
  }

  #handleEvents(): void {
    for (const event of this.#core!.takeEvents()) {
      this.observer.coreEvent(event);
      if (event.kind !== 'released' && event.kind !== 'expired') continue;
      const waiting = this.#waiting.get(event.token);
      if (waiting === undefined) continue;
      this.#waiting.delete(event.token);
      const expired = event.kind === 'expired';
      this.observer.answered(waiting.lastId, waiting.w, event.acks, expired);
      waiting.resolve(expired, event.acks);
    }
  }

  #reschedule(): void {
    const next = this.#core!.nextWakeupMs();
    if (next === undefined || next >= this.#timerAtMs) return;
    this.#timerGeneration += 1;
    const generation = this.#timerGeneration;
    this.#timerAtMs = next;
    this.scheduler.at(next, this.name, () => {
      if (generation !== this.#timerGeneration) return;
      this.#timerAtMs = Infinity;
      this.#pump();
    });
  }
}
