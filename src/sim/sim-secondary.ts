import type { ReplicaAnswer } from '../adapters/replication-transport.js';
import type { Entry, LogIdentity } from '../core/entry.js';
import { ReplicaLog } from '../core/replica-log.js';
import type { Prng } from './prng.js';
import type { Scheduler } from './scheduler.js';
import { SimDisk } from './sim-disk.js';

/** What the master sends in one replication request (the body of POST /replicate). */
export interface ReplicateRequest {
  readonly logId: string;
  readonly epoch: number;
  readonly entries: readonly Entry[];
}

/**
 * Deliberately broken secondaries, for tests that prove the simulator catches them.
 * `reply-before-store`: answers with the new high-water mark before the store write completed.
 * `count-pending-in-hwm`: reports and shows entries held back behind a gap as if held.
 */
export type SecondaryBug = 'reply-before-store' | 'count-pending-in-hwm';

export interface SimSecondaryConfig {
  readonly maxPendingEntries: number;
  readonly bug: SecondaryBug | undefined;
}

/**
 * A secondary in simulation: SecondaryNode's logic over a SimDisk. Batches are applied strictly
 * one after another through the real ReplicaLog (receive, store, then stored), the answer carries
 * {incarnation, hwm}, and an injected 500 comes after storing, as in SecondaryNode.
 */
export class SimSecondary {
  /** Probability of answering 500 after storing a batch (the fault-injection API's errorRate). */
  errorRate = 0;
  #up = false;
  #incarnation = '';
  #replica: ReplicaLog | undefined;
  #storedIdentity: LogIdentity | undefined;
  /** Batches wait here while one is applied: ReplicaLog decides from the current hwm. */
  readonly #applyQueue: (() => void)[] = [];
  #applying = false;
  #diskFreeAtMs = 0;
  /** Only with `count-pending-in-hwm`: entries received past a gap, wrongly shown. */
  readonly #exposed = new Map<number, Entry>();

  constructor(
    readonly name: string,
    private disk: SimDisk,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly config: SimSecondaryConfig,
  ) {}

  get up(): boolean {
    return this.#up;
  }

  get storage(): SimDisk {
    return this.disk;
  }

  /** An operator wiped the data directory while the node was down: it restarts empty. */
  wipe(): void {
    this.disk = new SimDisk(this.disk.fsync);
  }

  get incarnation(): string {
    return this.#incarnation;
  }

  get hwm(): number {
    return this.#replica?.hwm ?? 0;
  }

  get pendingCount(): number {
    return this.#replica?.pendingCount ?? 0;
  }

  /** A new process: a random incarnation, the log recovered from disk. */
  start(): void {
    const state = this.disk.recover();
    this.#incarnation = `${this.name}-${this.prng.hex(12)}`;
    this.#replica = new ReplicaLog(state.identity, state.lastId, this.config.maxPendingEntries);
    this.#storedIdentity = state.identity;
    this.#applyQueue.length = 0;
    this.#applying = false;
    this.#diskFreeAtMs = this.scheduler.nowMs;
    this.#exposed.clear();
    this.#up = true;
  }

  /** kill -9: the process and everything in memory are gone; the disk keeps what it keeps. */
  crash(): void {
    this.#up = false;
    this.#replica = undefined;
    this.#applyQueue.length = 0;
    this.#exposed.clear();
    this.scheduler.endLifetime(this.name);
  }

  /** The log GET /logs shows: entries 1..hwm. */
  shownLength(): number {
    return this.hwm + this.#exposed.size;
  }

  shownEntry(index: number): Entry | undefined {
    const hwm = this.hwm;
    if (index < hwm) return this.disk.get(index + 1);
    return [...this.#exposed.values()].sort((a, b) => a.id - b.id)[index - hwm];
  }

  serveHeartbeat(respond: (answer: ReplicaAnswer) => void): boolean {
    if (!this.#up) return false;
    respond(this.#reply());
    return true;
  }

  serveReplicate(body: ReplicateRequest, respond: (answer: ReplicaAnswer) => void): boolean {
    if (!this.#up) return false;
    this.#applyQueue.push(() => {
      this.#apply(body, (answer) => {
        // The injected error comes after storing: the entries are held, the master hears 500.
        if (answer.ok && this.prng.chance(this.errorRate)) {
          respond({ ok: false, error: 'HTTP 500 INJECTED_ERROR', code: 'INJECTED_ERROR' });
        } else {
          respond(answer);
        }
      });
    });
    this.#drain();
    return true;
  }

  #drain(): void {
    if (this.#applying) return;
    const next = this.#applyQueue.shift();
    if (next === undefined) return;
    this.#applying = true;
    next();
  }

  #done(): void {
    this.#applying = false;
    this.#drain();
  }

  #apply(body: ReplicateRequest, respond: (answer: ReplicaAnswer) => void): void {
    const replica = this.#replica!;
    const entries = body.entries;
    for (let index = 1; index < entries.length; index++) {
      if (entries[index]!.id !== entries[index - 1]!.id + 1) {
        respond({ ok: false, error: 'INVALID_BATCH', code: 'INVALID_BATCH' });
        this.#done();
        return;
      }
    }
    const outcome = replica.receive(body, (id) => this.disk.get(id));
    if (outcome.kind === 'rejected') {
      respond({ ok: false, error: `409 ${outcome.code}`, code: outcome.code });
      this.#done();
      return;
    }
    const identity = replica.identity;
    if (identity !== undefined && identity !== this.#storedIdentity) {
      this.disk.setIdentity(identity);
      this.#storedIdentity = identity;
    }
    if (this.config.bug === 'count-pending-in-hwm') {
      for (const entry of entries) {
        if (entry.id > replica.hwm && entry.id <= replica.hwm + this.config.maxPendingEntries)
          this.#exposed.set(entry.id, entry);
      }
    }
    const last = outcome.append[outcome.append.length - 1];
    if (last === undefined) {
      respond(this.#reply());
      this.#done();
      return;
    }
    this.disk.append(outcome.append, undefined);
    if (this.config.bug === 'reply-before-store') respond(this.#reply(last.id));
    const latencyMs =
      this.prng.int(1, 4) + (this.disk.fsync === 'always' ? this.prng.int(1, 8) : 0);
    const completeAtMs = Math.max(this.#diskFreeAtMs, this.scheduler.nowMs + latencyMs);
    this.#diskFreeAtMs = completeAtMs;
    const flushAtMs = completeAtMs + this.prng.int(0, 200);
    this.scheduler.at(completeAtMs, this.name, () => {
      this.disk.completeNext(flushAtMs);
      replica.stored(last.id);
      for (const id of [...this.#exposed.keys()]) if (id <= last.id) this.#exposed.delete(id);
      if (this.config.bug !== 'reply-before-store') respond(this.#reply());
      this.#done();
    });
  }

  #reply(claimedHwm?: number): ReplicaAnswer {
    let hwm = claimedHwm ?? this.hwm;
    for (const id of this.#exposed.keys()) hwm = Math.max(hwm, id);
    return { ok: true, report: { incarnation: this.#incarnation, hwm } };
  }
}
