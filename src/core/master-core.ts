import { assert } from './assert.js';
import { HealthDetector, type HealthPolicy, type HealthState } from './health.js';
import { hasQuorum, quorumView, type QuorumView } from './quorum.js';
import {
  ReplicationProgress,
  type BatchToSend,
  type ProgressMode,
  type ReplicaReport,
  type ReplicationPolicy,
} from './replication-progress.js';
import { heldUpToByW, WriteConcernWaiters } from './write-concern.js';

export interface PeerConfig {
  readonly name: string;
  readonly url: string;
}

export interface MasterCoreConfig {
  readonly peers: readonly PeerConfig[];
  readonly health: HealthPolicy;
  readonly replication: ReplicationPolicy;
  /** Appends that may wait for their write concern at once. */
  readonly maxWaiters: number;
}

/** What the core tells its driver; the driver answers clients and writes log lines from these. */
export type CoreEvent =
  | { readonly kind: 'released'; readonly token: number; readonly acks: number }
  | { readonly kind: 'expired'; readonly token: number; readonly acks: number }
  | {
      readonly kind: 'health-changed';
      readonly peer: string;
      readonly from: HealthState;
      readonly to: HealthState;
      readonly missedProbes: number;
    }
  | { readonly kind: 'read-only-changed'; readonly readOnly: boolean; readonly quorum: QuorumView }
  | {
      readonly kind: 'replication-failing';
      readonly peer: string;
      readonly error: string;
      readonly retryInMs: number;
    }
  | {
      readonly kind: 'replication-recovered';
      readonly peer: string;
      readonly failedAttempts: number;
    }
  | {
      readonly kind: 'peer-restarted';
      readonly peer: string;
      readonly hwm: number;
      /** The process now answering (its hwm is what it holds). */
      readonly incarnation: string;
    };

export interface PeerSnapshot {
  readonly name: string;
  readonly url: string;
  readonly status: HealthState;
  readonly ackedId: number;
  readonly lag: number;
  readonly lastContactMs: number | null;
  readonly missedProbes: number;
  readonly mode: ProgressMode;
  readonly inflightBatches: number;
  readonly failedAttempts: number;
  readonly lastError: string | null;
}

export interface SendOrder {
  readonly peer: string;
  readonly batch: BatchToSend;
}

export interface ProbeOrder {
  readonly peer: string;
  readonly probeNo: number;
}

interface Peer {
  readonly config: PeerConfig;
  readonly progress: ReplicationProgress;
  readonly health: HealthDetector;
  lastError: string | undefined;
}

/**
 * The master's protocol state machine: id assignment, what each secondary holds, what to send
 * next, health and quorum, and which appends have reached their write concern. It performs no
 * I/O and reads no clock: every input carries `nowMs`, every random choice comes in as a number,
 * and every output is either a return value or an event in `takeEvents()`.
 */
export class MasterCore {
  readonly #peers = new Map<string, Peer>();
  readonly #waiters: WriteConcernWaiters;
  readonly #events: CoreEvent[] = [];
  readonly clusterSize: number;
  #assignedId: number;
  /** Written on the master (a process crash keeps it), maybe not durable yet: may be sent. */
  #writtenId: number;
  #storedId: number;
  /** With failover, the commit point the latest `pollSends` was given (0 without). */
  #commitId = 0;
  #readOnly = false;
  /** Until when what the secondaries said they hold counts towards w (see renewLease). */
  #leaseEndsAtMs: number;

  /**
   * `countFromId` (failover): a secondary's acknowledgement counts towards w and the commit
   * point only once it holds at least this id - the master's log as its epoch began - for only
   * then has it taken the epoch as its own (its votes then protect what it holds). 0: always.
   * `leaseEndsAtMs`: with failover, -Infinity, so that nothing a secondary holds counts towards
   * w before the election's lease says it may (renewLease); a fixed master's lease never ends.
   */
  constructor(
    private readonly config: MasterCoreConfig,
    lastId: number,
    nowMs: number,
    private readonly countFromId = 0,
    leaseEndsAtMs = Number.POSITIVE_INFINITY,
  ) {
    this.#leaseEndsAtMs = leaseEndsAtMs;
    this.clusterSize = config.peers.length + 1;
    this.#assignedId = lastId;
    this.#writtenId = lastId;
    this.#storedId = lastId;
    for (const peerConfig of config.peers) {
      assert(!this.#peers.has(peerConfig.name), `duplicate secondary name ${peerConfig.name}`);
      this.#peers.set(peerConfig.name, {
        config: peerConfig,
        progress: new ReplicationProgress(config.replication),
        health: new HealthDetector(config.health, nowMs),
        lastError: undefined,
      });
    }
    this.#waiters = new WriteConcernWaiters(this.clusterSize, config.maxWaiters);
  }

  /** The last id the master itself holds (stored, durable as its store promises). */
  get lastId(): number {
    return this.#storedId;
  }

  /** The last id written on the master: with `written`, entries up to it may be sent. */
  get writtenId(): number {
    return this.#writtenId;
  }

  get readOnly(): boolean {
    return this.#readOnly;
  }

  get waitingAppends(): number {
    return this.#waiters.size;
  }

  quorum(): QuorumView {
    let healthy = 1;
    for (const peer of this.#peers.values()) if (peer.health.state !== 'Unhealthy') healthy += 1;
    return quorumView(this.clusterSize, healthy);
  }

  /** Reserves `count` consecutive ids and returns the first. The caller stores them in order. */
  assign(count: number): number {
    assert(Number.isInteger(count) && count >= 1, `assign count must be >= 1, got ${count}`);
    assert(!this.#readOnly, 'ids are never assigned while read-only');
    const firstId = this.#assignedId + 1;
    this.#assignedId += count;
    return firstId;
  }

  /**
   * Releases the ids assigned but never stored (their writes failed), so the next append gets
   * the id right after the last stored one and the log keeps no gap.
   */
  abandonUnstored(): void {
    // Ids of entries that may have been sent are never given again.
    assert(
      this.#writtenId === this.#storedId,
      `abandoning ids after ${this.#storedId} while ${this.#writtenId} may have been sent`,
    );
    this.#assignedId = this.#storedId;
  }

  /**
   * The master has written every entry up to `upToId` but not made it durable yet: from now on
   * it may be sent (a failover master replicates in parallel with its own fsync, as Raft's
   * leaders may). It counts for nobody until the master holds it (`stored`): a secondary's
   * acknowledgement counts only up to what the master itself holds.
   */
  written(upToId: number): void {
    assert(
      upToId >= this.#writtenId && upToId <= this.#assignedId,
      `written ${upToId} outside ${this.#writtenId}..${this.#assignedId}`,
    );
    this.#writtenId = upToId;
  }

  /**
   * Every entry up to this id is held by the master and by every secondary not `Unhealthy` (as
   * each last said; a secondary that restarts empty says less, and is then sent what it lacks
   * from the store). The master need not keep those entries at hand for replication any longer.
   */
  get heldByHealthyId(): number {
    let held = this.#storedId;
    for (const peer of this.#peers.values()) {
      if (peer.health.state !== 'Unhealthy') held = Math.min(held, peer.progress.matchId);
    }
    return held;
  }

  /** The master's store holds every entry up to `upToId`. */
  stored(upToId: number, nowMs: number): void {
    assert(
      upToId >= this.#storedId && upToId <= this.#assignedId,
      `stored ${upToId} outside ${this.#storedId}..${this.#assignedId}`,
    );
    this.#storedId = upToId;
    this.#writtenId = Math.max(this.#writtenId, upToId);
    this.#releaseWaiters(nowMs);
  }

  /**
   * With failover: the election says no newer master can be elected before `untilMs` (its
   * lease). Until then no secondary can have dropped what it said it holds, so that counts
   * towards w; after, it may have, and only the master's own copy counts (acks included) until a
   * renewal. A lease is a fact about time, so an earlier end (the election moved on) changes
   * nothing. Waiters whose w a renewal meets are released now.
   */
  renewLease(untilMs: number, nowMs: number): void {
    const before = this.#leaseEndsAtMs;
    if (untilMs <= before) return;
    this.#leaseEndsAtMs = untilMs;
    if (before <= nowMs && untilMs > nowMs) this.#releaseWaiters(nowMs);
  }

  /**
   * Nodes (the master included) known at `nowMs` to hold `id`: none until the master holds it,
   * and only the master while the lease has ended.
   */
  acksFor(id: number, nowMs: number): number {
    return holdersOf(id, this.#heldUpTo(nowMs));
  }

  /**
   * How far each node (the master first) is known at `nowMs` to hold the log, as w counts it:
   * the secondaries only under the lease (0 once it has ended).
   */
  #heldUpTo(nowMs: number): number[] {
    const held = [this.#storedId];
    const leased = nowMs < this.#leaseEndsAtMs;
    for (const peer of this.#peers.values()) held.push(leased ? this.#counted(peer) : 0);
    return held;
  }

  /**
   * What a secondary is known to hold, as w and the commit point count it: never past what the
   * master holds (the master is always one of the w nodes), and with failover only once it holds
   * the master's log as its epoch began.
   */
  #counted(peer: Peer): number {
    const matchId = Math.min(peer.progress.matchId, this.#storedId);
    return matchId >= this.countFromId ? matchId : 0;
  }

  /**
   * Waits until `lastId` is held by `w` nodes; the answer comes as a `released` or `expired`
   * event with `token`. Returns false when the waiter table is full.
   */
  waitFor(
    token: number,
    lastId: number,
    w: number,
    deadlineMs: number | undefined,
    nowMs: number,
  ): boolean {
    assert(lastId <= this.#assignedId, `waiting for unassigned id ${lastId}`);
    const acks = this.acksFor(lastId, nowMs);
    if (acks >= w) {
      // Already held by w nodes (an idempotent replay, or w=1 once stored): no need to queue.
      this.#events.push({ kind: 'released', token, acks });
      return true;
    }
    if (!this.#waiters.add({ token, lastId, w, deadlineMs })) return false;
    this.#releaseWaiters(nowMs);
    return true;
  }

  /** What each other node is known to hold (its acknowledged id), by name. */
  matchIds(): { readonly name: string; readonly matchId: number }[] {
    return [...this.#peers].map(([name, peer]) => ({ name, matchId: this.#counted(peer) }));
  }

  /**
   * Every request still waiting for its write concern ends now, as expired (the master is
   * stepping down: nothing it does from now on can reach the concern).
   */
  expireAll(nowMs: number): void {
    for (const waiter of this.#waiters.takeAll()) {
      this.#events.push({
        kind: 'expired',
        token: waiter.token,
        acks: this.acksFor(waiter.lastId, nowMs),
      });
    }
  }

  /**
   * Batches to send now, within each secondary's window and retry schedule, of entries up to
   * `upToId`: what the master has written (default), or only what it can read back now. With
   * failover, `commitId` is the commit point the batches carry: a secondary that has every entry
   * is sent an empty batch when it has not been sent this commit point yet.
   */
  pollSends(
    nowMs: number,
    batchEnd: (fromId: number, toLimitId: number) => number,
    upToId = this.#writtenId,
    commitId = 0,
  ): SendOrder[] {
    this.#commitId = commitId;
    assert(
      upToId >= this.#storedId && upToId <= this.#writtenId,
      `sending up to ${upToId} outside ${this.#storedId}..${this.#writtenId}`,
    );
    const orders: SendOrder[] = [];
    for (const [name, peer] of this.#peers) {
      for (;;) {
        const batch = peer.progress.nextBatch(
          nowMs,
          upToId,
          (fromId) => batchEnd(fromId, upToId),
          commitId,
        );
        if (batch === undefined) break;
        orders.push({ peer: name, batch });
      }
    }
    return orders;
  }

  replicated(peerName: string, requestId: number, report: ReplicaReport, nowMs: number): void {
    const peer = this.#peer(peerName);
    if (peer.progress.isFromOlderProcess(requestId, report.incarnation)) return;
    if (report.hwm > this.#writtenId) {
      this.replicationFailed(
        peerName,
        requestId,
        `secondary reports entries up to ${report.hwm} but the master holds only ${this.#writtenId}; it belongs to another history`,
        nowMs,
        0.5,
      );
      return;
    }
    const incarnationBefore = peer.progress.incarnation;
    const failedAttempts = peer.progress.failures;
    const advanced = peer.progress.succeeded(requestId, report);
    const restarted =
      incarnationBefore !== undefined && peer.progress.incarnation !== incarnationBefore;
    if (restarted) {
      const { hwm, incarnation } = report;
      this.#events.push({ kind: 'peer-restarted', peer: peerName, hwm, incarnation });
    }
    if (failedAttempts > 0)
      this.#events.push({ kind: 'replication-recovered', peer: peerName, failedAttempts });
    peer.lastError = undefined;
    this.#contact(peer, nowMs, undefined);
    if (advanced) this.#releaseWaiters(nowMs);
  }

  replicationFailed(
    peerName: string,
    requestId: number,
    error: string,
    nowMs: number,
    random01: number,
  ): void {
    const peer = this.#peer(peerName);
    const before = peer.progress.failures;
    peer.progress.failed(requestId, nowMs, random01, peer.health.state === 'Unhealthy');
    if (peer.progress.failures === 1 && before === 0) {
      this.#events.push({
        kind: 'replication-failing',
        peer: peerName,
        error,
        retryInMs: peer.progress.retryAtMs - nowMs,
      });
    }
    if (peer.progress.failures > before) peer.lastError = error;
  }

  /** Secondaries to probe now; each probe's outcome comes back with its `probeNo`. */
  pollProbes(nowMs: number): ProbeOrder[] {
    const orders: ProbeOrder[] = [];
    for (const [name, peer] of this.#peers) {
      if (peer.health.probeDue(nowMs))
        // Probes and batches share one numbering per secondary: it orders its processes.
        orders.push({
          peer: name,
          probeNo: peer.health.probeSent(nowMs, peer.progress.nextSendNo()),
        });
    }
    return orders;
  }

  probeAnswered(peerName: string, probeNo: number, report: ReplicaReport, nowMs: number): void {
    const peer = this.#peer(peerName);
    const incarnationBefore = peer.progress.incarnation;
    // A late answer from a replaced process proves nothing about the current one.
    if (peer.progress.isFromOlderProcess(probeNo, report.incarnation)) return;
    if (report.hwm <= this.#writtenId) {
      const advanced = peer.progress.observe(report, probeNo);
      const restarted =
        incarnationBefore !== undefined && peer.progress.incarnation !== incarnationBefore;
      if (restarted) {
        const { hwm, incarnation } = report;
        this.#events.push({ kind: 'peer-restarted', peer: peerName, hwm, incarnation });
      }
      if (advanced) this.#releaseWaiters(nowMs);
    }
    this.#contact(peer, nowMs, probeNo);
  }

  probeFailed(peerName: string, probeNo: number): void {
    const peer = this.#peer(peerName);
    this.#healthChanged(peer, peer.health.probeFailed(probeNo));
  }

  /** Lets time pass: probes unanswered for an interval count as missed, deadlines expire. */
  tick(nowMs: number): void {
    for (const peer of this.#peers.values()) this.#healthChanged(peer, peer.health.tick(nowMs));
    for (const waiter of this.#waiters.expire(nowMs)) {
      this.#events.push({
        kind: 'expired',
        token: waiter.token,
        acks: this.acksFor(waiter.lastId, nowMs),
      });
    }
  }

  /** The earliest time at which `tick`, `pollProbes` or `pollSends` may have something to do. */
  nextWakeupMs(): number | undefined {
    let next = this.#waiters.nextDeadlineMs();
    for (const peer of this.#peers.values()) {
      next = Math.min(next ?? Infinity, peer.health.nextWakeupMs());
      // A retry is a wake-up only if it would send something; otherwise the next append,
      // probe answer or deadline is what moves this secondary on.
      const progress = peer.progress;
      const hasWork = progress.nextId <= this.#writtenId || progress.incarnation === undefined;
      if (progress.failures > 0 && progress.inflightCount === 0 && hasWork) {
        next = Math.min(next, progress.retryAtMs);
      }
      next = Math.min(next, progress.commitDueAtMs(this.#commitId) ?? Infinity);
    }
    return next;
  }

  takeEvents(): CoreEvent[] {
    return this.#events.splice(0, this.#events.length);
  }

  peers(nowMs: number): PeerSnapshot[] {
    return [...this.#peers.values()].map((peer) => {
      const lastContact = peer.health.lastContactAtMs;
      return {
        name: peer.config.name,
        url: peer.config.url,
        status: peer.health.state,
        ackedId: peer.progress.matchId,
        lag: Math.max(0, this.#storedId - peer.progress.matchId),
        lastContactMs: lastContact === undefined ? null : Math.round(nowMs - lastContact),
        missedProbes: peer.health.missedProbes,
        mode: peer.progress.mode,
        inflightBatches: peer.progress.inflightCount,
        failedAttempts: peer.progress.failures,
        lastError: peer.lastError ?? null,
      };
    });
  }

  #peer(name: string): Peer {
    const peer = this.#peers.get(name);
    assert(peer !== undefined, `unknown secondary ${name}`);
    return peer;
  }

  #contact(peer: Peer, nowMs: number, probeNo: number | undefined): void {
    const wasUnhealthy = peer.health.state === 'Unhealthy';
    this.#healthChanged(peer, peer.health.contact(nowMs, probeNo));
    // Back from Unhealthy: the long backoff no longer applies, catch up at once.
    if (wasUnhealthy) peer.progress.retryNow(nowMs);
  }

  #healthChanged(peer: Peer, transition: ReturnType<HealthDetector['tick']>): void {
    if (transition === undefined) return;
    this.#events.push({ kind: 'health-changed', peer: peer.config.name, ...transition });
    const quorum = this.quorum();
    const readOnly = !hasQuorum(quorum);
    if (readOnly !== this.#readOnly) {
      this.#readOnly = readOnly;
      this.#events.push({ kind: 'read-only-changed', readOnly, quorum });
    }
  }

  #releaseWaiters(nowMs: number): void {
    const held = this.#heldUpTo(nowMs);
    for (const waiter of this.#waiters.release(heldUpToByW(held))) {
      this.#events.push({
        kind: 'released',
        token: waiter.token,
        acks: holdersOf(waiter.lastId, held),
      });
    }
  }
}

/** How many of the nodes holding the log up to `heldUpTo` (one id each) hold `id`. */
function holdersOf(id: number, heldUpTo: readonly number[]): number {
  let holders = 0;
  for (const heldId of heldUpTo) if (heldId >= id) holders += 1;
  return holders;
}
