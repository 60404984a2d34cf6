import { assert } from './assert.js';
import { backoffDelayMs, type BackoffPolicy } from './backoff.js';

export interface ReplicationPolicy {
  /** Replication requests a secondary may have in flight at once while it keeps up. */
  readonly maxInflightBatches: number;
  /**
   * While a batch is in flight, another is sent only once this many entries wait (Nagle's rule):
   * small appends then ride together in the next batch instead of each costing a request on
   * every node. With nothing in flight, whatever waits is sent at once, so latency stays low.
   */
  readonly pipelineMinEntries: number;
  readonly backoff: BackoffPolicy;
  /** Backoff towards an Unhealthy secondary: retries slow down to about this cap. */
  readonly unhealthyBackoff: BackoffPolicy;
  /**
   * With failover, how long after its last request a secondary that has every entry is sent a
   * commit point it lacks on its own (an empty batch). Under load the next batch carries it
   * first, so no request is added; once appends stop, followers show them this long after.
   */
  readonly commitAloneAfterMs: number;
}

/** What the secondary said about itself in a reply. */
export interface ReplicaReport {
  /** Random per process start: a change means the secondary restarted (maybe empty). */
  readonly incarnation: string;
  /** The secondary's gap-free high-water mark: it holds exactly 1..hwm. */
  readonly hwm: number;
}

export interface BatchToSend {
  readonly requestId: number;
  readonly fromId: number;
  readonly toId: number;
}

/**
 * `probe`: the secondary's high-water mark is unknown (start, restart, after a failure), so one
 * request at a time finds it. `replicate`: the mark is known and batches are pipelined within
 * the window. This is etcd-raft's Progress state machine without snapshots.
 */
export type ProgressMode = 'probe' | 'replicate';

interface InflightBatch {
  readonly requestId: number;
  readonly fromId: number;
  readonly toId: number;
}

/**
 * Per-secondary replication progress on the master: what the secondary is known to hold
 * (`matchId`), what to send next (`nextId`), the window of batches in flight and the retry
 * schedule. Pure: time and randomness come in as arguments.
 */
export class ReplicationProgress {
  #mode: ProgressMode = 'probe';
  #matchId = 0;
  #nextId = 1;
  #incarnation: string | undefined;
  /**
   * The send number of the request whose answer first came from the current incarnation. Every
   * request an older process answered was sent before it (see `isFromOlderProcess`).
   */
  #incarnationSince = 0;
  #inflight: InflightBatch[] = [];
  /** Numbers every request to this secondary, batches and probes alike, in the order sent. */
  #nextSendNo = 1;
  #failures = 0;
  #retryAtMs = 0;
  /**
   * With failover, the commit point the latest batch to this secondary carried (0: none known to
   * have reached its process). A follower shows what it holds only up to the commit point it was
   * told, so a secondary that holds everything is sent an empty batch when the commit point has
   * moved past this and nothing is in flight to carry it.
   */
  #commitSent = 0;
  /** When the latest batch was sent (see `commitAloneAfterMs`). */
  #lastSentAtMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly policy: ReplicationPolicy) {
    assert(policy.maxInflightBatches >= 1, 'maxInflightBatches must be >= 1');
    assert(policy.pipelineMinEntries >= 1, 'pipelineMinEntries must be >= 1');
  }

  get matchId(): number {
    return this.#matchId;
  }

  get nextId(): number {
    return this.#nextId;
  }

  get mode(): ProgressMode {
    return this.#mode;
  }

  get inflightCount(): number {
    return this.#inflight.length;
  }

  /** Consecutive failed requests; 0 while replication works. */
  get failures(): number {
    return this.#failures;
  }

  get retryAtMs(): number {
    return this.#retryAtMs;
  }

  get incarnation(): string | undefined {
    return this.#incarnation;
  }

  /**
   * The next batch to send, or undefined when the window is full, a retry is not due yet or the
   * secondary has everything up to `lastId`. In probe mode an empty batch (toId = fromId - 1) is
   * allowed: it asks the secondary for its high-water mark. `commitId` is the commit point the
   * batch will carry (failover; 0 without): a secondary that has everything gets an empty batch
   * when it has not been sent this commit point yet, from `commitDueAtMs` on.
   */
  nextBatch(
    nowMs: number,
    lastId: number,
    batchEnd: (fromId: number) => number,
    commitId = 0,
  ): BatchToSend | undefined {
    if (nowMs < this.#retryAtMs) return undefined;
    const window = this.#mode === 'probe' ? 1 : this.policy.maxInflightBatches;
    if (this.#inflight.length >= window) return undefined;
    const fromId = this.#nextId;
    // A secondary known to have everything (replicate mode implies a known incarnation) is sent
    // only a commit point it lacks.
    const known = this.#incarnation !== undefined;
    if (fromId > lastId && known && !this.#commitDue(commitId, nowMs)) return undefined;
    if (this.#entriesInFlight() && lastId - fromId + 1 < this.policy.pipelineMinEntries)
      return undefined;
    // Until the secondary's incarnation is known, its high-water mark is too: ask with an empty
    // batch rather than resend entries it may hold (a restarted master with a durable log).
    const toId = fromId > lastId || this.#incarnation === undefined ? fromId - 1 : batchEnd(fromId);
    assert(
      toId >= fromId - 1 && toId <= lastId,
      `batch end ${toId} outside ${fromId - 1}..${lastId}`,
    );
    const requestId = this.nextSendNo();
    this.#inflight.push({ requestId, fromId, toId });
    this.#nextId = toId + 1;
    this.#commitSent = Math.max(this.#commitSent, commitId);
    this.#lastSentAtMs = nowMs;
    return { requestId, fromId, toId };
  }

  /**
   * From when the commit point `commitId` is sent alone to a secondary that has every entry
   * (`nextBatch`): `commitAloneAfterMs` after the last request, once nothing is in flight to
   * carry it and a retry is due. Undefined when the secondary was sent it, or it is on its way.
   */
  commitDueAtMs(commitId: number): number | undefined {
    if (commitId <= this.#commitSent || this.#inflight.length > 0) return undefined;
    return Math.max(this.#lastSentAtMs + this.policy.commitAloneAfterMs, this.#retryAtMs);
  }

  #commitDue(commitId: number, nowMs: number): boolean {
    const dueAtMs = this.commitDueAtMs(commitId);
    return dueAtMs !== undefined && nowMs >= dueAtMs;
  }

  /** An empty batch in flight (a commit point alone) does not hold back the next entries. */
  #entriesInFlight(): boolean {
    return this.#inflight.some((batch) => batch.toId >= batch.fromId);
  }

  /** The number of the next request to this secondary (a probe or a batch). */
  nextSendNo(): number {
    return this.#nextSendNo++;
  }

  /**
   * Whether an answer from `incarnation` to request `sendNo` comes from a process older than the
   * current one. Requests go over connections, and a connection reaches one process: a request
   * the current process answered was sent after it started, so after every request an older
   * process could answer. Such late answers (sent before that process died, to a batch or even
   * the newest probe) are never used: what the old process held may be gone.
   */
  isFromOlderProcess(sendNo: number, incarnation: string): boolean {
    return (
      this.#incarnation !== undefined &&
      incarnation !== this.#incarnation &&
      sendNo < this.#incarnationSince
    );
  }

  /**
   * A reply arrived. Returns true when `matchId` advanced. A reply to a request no longer tracked
   * (sent before a failure) still carries a true high-water mark and is used, unless it comes from
   * an incarnation other than the current one.
   */
  succeeded(requestId: number, report: ReplicaReport): boolean {
    if (this.isFromOlderProcess(requestId, report.incarnation)) return false;
    this.#inflight = this.#inflight.filter((batch) => batch.requestId !== requestId);
    this.#failures = 0;
    this.#retryAtMs = 0;
    const before = this.#matchId;
    if (this.#incarnation !== report.incarnation) {
      this.#startOver(report, requestId);
      return this.#matchId > before;
    }
    this.#matchId = Math.max(this.#matchId, report.hwm);
    if (this.#mode === 'probe') {
      // The probe's answer is exact: continue right after what the secondary holds.
      this.#mode = 'replicate';
      this.#nextId = Math.max(this.#matchId + 1, ...this.#inflight.map((batch) => batch.toId + 1));
    } else {
      this.#resendUncovered();
    }
    return this.#matchId > before;
  }

  /**
   * The secondary holds 1..matchId. If the next id after that is in no batch still in flight, the
   * secondary will never get it from what was sent (it was dropped: beyond its pending window, or
   * lost with a batch whose reply came but whose entries did not all stay), so send again from
   * there. Entries it does hold pending are recognised as duplicates, so resending is harmless.
   */
  #resendUncovered(): void {
    const next = this.#matchId + 1;
    if (next >= this.#nextId) {
      this.#nextId = next;
      return;
    }
    const covered = this.#inflight.some((batch) => batch.fromId <= next && next <= batch.toId);
    if (!covered) this.#nextId = next;
  }

  /**
   * A request failed (connection error, error status, timeout). Every batch in flight is now in
   * doubt, so the progress falls back to probing from what is known to be held, after a backoff.
   */
  failed(requestId: number, nowMs: number, random01: number, unhealthy: boolean): void {
    const tracked = this.#inflight.some((batch) => batch.requestId === requestId);
    if (!tracked) return;
    this.#inflight = [];
    this.#mode = 'probe';
    this.#nextId = this.#matchId + 1;
    this.#commitSent = 0;
    this.#failures += 1;
    const policy = unhealthy ? this.policy.unhealthyBackoff : this.policy.backoff;
    this.#retryAtMs = nowMs + backoffDelayMs(this.#failures, policy, random01);
  }

  /** The secondary was seen alive again after being Unhealthy: retry at once. */
  retryNow(nowMs: number): void {
    this.#retryAtMs = Math.min(this.#retryAtMs, nowMs);
  }

  /**
   * Heartbeat replies carry the same report; a restarted secondary is noticed without appends.
   * `probeNo` is the probe's send number: an answer from an older process changes nothing.
   */
  observe(report: ReplicaReport, probeNo: number): boolean {
    if (this.isFromOlderProcess(probeNo, report.incarnation)) return false;
    const before = this.#matchId;
    if (this.#incarnation === undefined || this.#incarnation === report.incarnation) {
      if (this.#incarnation === undefined) return false;
      this.#matchId = Math.max(this.#matchId, report.hwm);
      if (this.#mode === 'replicate') this.#resendUncovered();
      return this.#matchId > before;
    }
    this.#startOver(report, probeNo);
    // A restarted secondary may hold more than was known of its previous process (a reply lost
    // before the crash): waiters it now satisfies must be released.
    return this.#matchId > before;
  }

  /**
   * First contact, or the secondary restarted: what it holds now is exactly 1..hwm, which may be
   * less than before (an empty restart). Start over from there; batches in flight went to the
   * old process.
   */
  #startOver(report: ReplicaReport, sendNo: number): void {
    this.#incarnation = report.incarnation;
    this.#incarnationSince = sendNo;
    this.#matchId = report.hwm;
    this.#nextId = report.hwm + 1;
    this.#inflight = [];
    this.#mode = 'replicate';
    // A new process knows no commit point until a request tells it one.
    this.#commitSent = 0;
  }
}
