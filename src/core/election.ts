import { assert } from './assert.js';
import type {
  ElectionAction,
  ElectionConfig,
  ElectionRole,
  RoleChangeReason,
  VoteAnswer,
} from './election-actions.js';
import {
  checkElectionState,
  checkTransition,
  MAX_EPOCH,
  type ElectionState,
} from './election-state.js';
import { majorityOf } from './quorum.js';
import { decideVote, randomElectionTimeoutMs, type LogPosition, type VoteRequest } from './vote.js';

/**
 * Epoch 1 belongs to the master named by configuration on a cluster's very first start
 * (`bootstrap`, ROLE=master), which holds no votes: elections start at epoch 2, so that an
 * elected master never shares an epoch with it.
 */
export const FIRST_ELECTED_EPOCH = 2;

/**
 * Who this node is in the failover election (issue 14), and when it acts: the election half of
 * etcd-io/raft (stepFollower, stepCandidate, campaign), with pre-vote and check-quorum from the
 * Raft dissertation's §9.6. It performs no I/O and reads no clock: every input carries `nowMs`,
 * randomness comes from `config.random`, and every method returns the actions to execute, in
 * order (election-actions.ts). Every change of the stored state goes through checkTransition.
 *
 * - A follower that hears no master until its randomized deadline (1x-2x electionTimeoutMs)
 *   becomes a pre-candidate: it asks everyone whether they would vote for it in the next epoch,
 *   changing nothing; a majority of yeses makes it a candidate (epoch + 1, its own vote, both
 *   persisted before any request goes out); a majority of votes makes it master, and the master
 *   accepts its own log (acceptedEpoch = epoch). A deadline passing restarts the pre-vote.
 * - A node that heard from a master within electionTimeoutMs refuses votes and pre-votes, so a
 *   node returning from a partition cannot depose a master that still has its majority (F7). A
 *   node also refuses them for electionTimeoutMs after it starts: it may have heard from a master
 *   just before a crash, and that promise must outlive the process.
 * - A master that has not heard from a majority (itself included) within electionTimeoutMs steps
 *   down (check-quorum: F2's bound on a cut-off master); a new master has one timeout from its
 *   election to hear from them.
 * - The master's lease (`leaseEndsAtMs`) runs a timeout from the send time of the request by
 *   which a majority last answered (the dissertation's §6.4.1), not from the answers' arrival:
 *   each of those nodes refuses votes until a timeout after it received the request, so no newer
 *   master can be elected before the lease ends, however late the answers arrive. While the lease
 *   holds, what the others said they hold is still true (no newer master made them drop it).
 * - Any higher epoch, in a request or an answer, makes the node a follower of that epoch.
 */
export class Election {
  readonly #config: ElectionConfig;
  readonly #others: readonly string[];
  readonly #majority: number;
  #state: ElectionState;
  #role: ElectionRole = 'follower';
  #master: string | null = null;
  #deadlineMs: number;
  #masterHeardAtMs: number | undefined;
  /** When this Election was made: no vote is granted for a timeout after (see #masterAlive). */
  readonly #startedAtMs: number;
  #lastNowMs: number;
  /** The epoch of the last `role-changed` (a new epoch is news even in the same role). */
  #toldEpoch: number;
  /** Pre-votes (as a pre-candidate) or votes (as a candidate) granted, this node's included. */
  readonly #granted = new Set<string>();
  /**
   * As master: for each other node, the send time of the latest request it answered in this epoch
   * (check-quorum and the lease; that node refuses votes until a timeout after it received it).
   */
  readonly #peerHeardAtMs = new Map<string, number>();
  /** As master: when it became master (check-quorum gives it a timeout from then). */
  #masterSinceMs = Number.NEGATIVE_INFINITY;

  constructor(config: ElectionConfig) {
    const { self, peers, electionTimeoutMs, initial, nowMs } = config;
    assert(
      peers.includes(self),
      `the node ${JSON.stringify(self)} is not in its peers ${JSON.stringify(peers)}: PEERS lists every node, this one included`,
    );
    assert(
      new Set(peers).size === peers.length,
      `peers ${JSON.stringify(peers)} name a node twice: give each node one name`,
    );
    assert(
      Number.isFinite(electionTimeoutMs) && electionTimeoutMs > 0,
      `electionTimeoutMs must be > 0, got ${electionTimeoutMs}`,
    );
    checkElectionState(initial, 'the election state to start from');
    this.#config = config;
    this.#others = peers.filter((name) => name !== self);
    this.#majority = majorityOf(peers.length);
    this.#state = initial;
    this.#toldEpoch = initial.epoch;
    this.#lastNowMs = nowMs;
    this.#startedAtMs = nowMs;
    // Alone, no other node can be master: no reason to wait for one.
    this.#deadlineMs = this.#others.length === 0 ? nowMs : this.#randomDeadline(nowMs);
  }

  get role(): ElectionRole {
    return this.#role;
  }

  get epoch(): number {
    return this.#state.epoch;
  }

  /** The master of the current epoch as far as this node knows (itself when master), or null. */
  get masterName(): string | null {
    return this.#master;
  }

  /** The state as last persisted (or as loaded). */
  get state(): ElectionState {
    return this.#state;
  }

  /** This node's log as votes compare it: its accepted epoch, then its last id. */
  get ownLog(): LogPosition {
    return { acceptedEpoch: this.#state.acceptedEpoch, lastId: this.#config.lastId() };
  }

  /** The next time at which `tick` may act, for the driver's timer. */
  nextTickMs(): number {
    if (this.#role !== 'master') return this.#deadlineMs;
    return Math.max(this.#masterSinceMs, this.#quorumHeardAtMs()) + this.#config.electionTimeoutMs;
  }

  /**
   * As master, until when it holds its lease: a timeout after the send time of the latest
   * request a majority (itself included) answered in this epoch; -Infinity before a majority
   * answered, and for any other role. Until then, no newer master can be elected.
   */
  leaseEndsAtMs(): number {
    if (this.#role !== 'master') return Number.NEGATIVE_INFINITY;
    return this.#quorumHeardAtMs() + this.#config.electionTimeoutMs;
  }

  /** Time passed: start or restart a pre-vote when the deadline passed; check-quorum as master. */
  tick(nowMs: number): ElectionAction[] {
    this.#advance(nowMs);
    const actions: ElectionAction[] = [];
    if (this.#role === 'master') {
      if (nowMs >= this.nextTickMs()) {
        this.#becomeFollower(nowMs, null, 'lost-quorum', actions);
      }
    } else if (nowMs >= this.#deadlineMs) {
      this.#startPreVote(nowMs, actions);
    }
    return actions;
  }

  /**
   * On a cluster's first start, the node configured as master (ROLE=master) becomes master of
   * epoch 1 without an election. Only from a state that never stored anything.
   */
  bootstrap(nowMs: number): ElectionAction[] {
    this.#advance(nowMs);
    const { epoch, votedFor } = this.#state;
    assert(
      epoch === 0 && votedFor === null,
      `bootstrap as master needs a fresh election state, found epoch ${epoch}: only a cluster's first start has no election`,
    );
    const actions: ElectionAction[] = [];
    this.#save({ epoch: 1, votedFor: this.#config.self, acceptedEpoch: 1 }, actions);
    this.#enterMaster(nowMs, 'bootstrap', actions);
    return actions;
  }

  /** A candidate's request (vote or pre-vote); the caller checked that it comes from a peer. */
  onVoteRequest(nowMs: number, request: VoteRequest): ElectionAction[] {
    this.#advance(nowMs);
    this.#assertPeer(request.candidate, 'a vote request');
    const actions: ElectionAction[] = [];
    const alive = this.#masterAlive(nowMs);
    const decision = decideVote(this.#state, this.ownLog, alive, request);
    const granted = decision.verdict === 'granted';
    const higher = decision.next.epoch > this.#state.epoch;
    this.#save(decision.next, actions);
    if (higher) this.#becomeFollower(nowMs, null, 'higher-epoch', actions);
    // Raft §5.2: a follower that granted a vote waits a whole timeout for that candidate.
    if (granted && !request.preVote) this.#deadlineMs = this.#randomDeadline(nowMs);
    const answer: VoteAnswer = {
      epoch: granted && request.preVote ? request.epoch : this.#state.epoch,
      granted,
      preVote: request.preVote,
    };
    actions.push({ kind: 'answer-vote', to: request.candidate, answer, verdict: decision.verdict });
    return actions;
  }

  /** The answer of `from` to this node's vote or pre-vote request. */
  onVoteAnswer(nowMs: number, from: string, answer: VoteAnswer): ElectionAction[] {
    this.#advance(nowMs);
    this.#assertPeer(from, 'a vote answer');
    const actions: ElectionAction[] = [];
    if (answer.epoch > this.#state.epoch && !(answer.preVote && answer.granted)) {
      this.#adoptEpoch(nowMs, answer.epoch, actions);
      return actions;
    }
    if (!answer.granted) return actions;
    const counts = answer.preVote
      ? this.#role === 'pre-candidate' && answer.epoch === this.#campaignEpoch()
      : this.#role === 'candidate' && answer.epoch === this.#state.epoch;
    if (counts) {
      this.#granted.add(from);
      this.#countGranted(nowMs, actions);
    }
    return actions;
  }

  /**
   * A replication request or heartbeat from `from`, master of `epoch`. An older epoch is refused
   * with ours (the caller then refuses the request); otherwise this node follows `from` and its
   * election deadline starts over.
   */
  onMasterContact(nowMs: number, from: string, epoch: number): ElectionAction[] {
    this.#advance(nowMs);
    this.#assertPeer(from, 'a master contact');
    const actions: ElectionAction[] = [];
    if (epoch < this.#state.epoch) {
      actions.push({ kind: 'refuse-stale', to: from, epoch: this.#state.epoch });
      return actions;
    }
    assert(
      !(epoch === this.#state.epoch && this.#role === 'master'),
      `two masters in epoch ${epoch}: ${this.#config.self} and ${from} (F2 broken)`,
    );
    if (epoch > this.#state.epoch) {
      this.#save({ ...this.#state, epoch, votedFor: null }, actions);
    }
    this.#masterHeardAtMs = nowMs;
    this.#becomeFollower(nowMs, from, 'master-contact', actions);
    return actions;
  }

  /**
   * A peer's answer, in `epoch`, to this node's replication request or heartbeat sent at
   * `sentAtMs`: a master counts it for check-quorum as heard at `sentAtMs` (the peer's promise
   * not to vote runs from when it received the request, which is no earlier); a higher epoch
   * makes any node a follower of it.
   */
  onPeerReply(nowMs: number, from: string, epoch: number, sentAtMs: number): ElectionAction[] {
    this.#advance(nowMs);
    this.#assertPeer(from, 'a peer reply');
    assert(
      Number.isFinite(sentAtMs) && sentAtMs <= nowMs,
      `a reply from ${from} to a request sent at ${sentAtMs} ms arrived at ${nowMs} ms: a request is sent before its answer arrives`,
    );
    const actions: ElectionAction[] = [];
    if (epoch > this.#state.epoch) {
      this.#adoptEpoch(nowMs, epoch, actions);
    } else if (epoch === this.#state.epoch && this.#role === 'master') {
      // Answers overtake each other: an older request's answer never moves the time back.
      const heardAtMs = this.#peerHeardAtMs.get(from) ?? Number.NEGATIVE_INFINITY;
      this.#peerHeardAtMs.set(from, Math.max(heardAtMs, sentAtMs));
    }
    return actions;
  }

  /**
   * This follower's log now matches the log of the master of `epoch` (it truncated whatever
   * differed): votes compare it from there on. Raises acceptedEpoch only; never past the epoch.
   */
  acceptMasterLog(epoch: number): ElectionAction[] {
    assert(
      epoch <= this.#state.epoch,
      `accepting the log of the master of epoch ${epoch} beyond this node's epoch ${this.#state.epoch}`,
    );
    const actions: ElectionAction[] = [];
    if (epoch > this.#state.acceptedEpoch) {
      this.#save({ ...this.#state, acceptedEpoch: epoch }, actions);
    }
    return actions;
  }

  #startPreVote(nowMs: number, actions: ElectionAction[]): void {
    this.#deadlineMs = this.#randomDeadline(nowMs);
    this.#setRole('pre-candidate', null, 'election-timeout', actions);
    this.#granted.clear();
    this.#granted.add(this.#config.self);
    this.#askAll(this.#campaignEpoch(), true, actions);
    this.#countGranted(nowMs, actions);
  }

  #startCandidacy(nowMs: number, actions: ElectionAction[]): void {
    const epoch = this.#campaignEpoch();
    this.#save({ ...this.#state, epoch, votedFor: this.#config.self }, actions);
    this.#deadlineMs = this.#randomDeadline(nowMs);
    this.#setRole('candidate', null, 'pre-vote-won', actions);
    this.#granted.clear();
    this.#granted.add(this.#config.self);
    this.#askAll(epoch, false, actions);
    this.#countGranted(nowMs, actions);
  }

  #askAll(epoch: number, preVote: boolean, actions: ElectionAction[]): void {
    const request: VoteRequest = { epoch, candidate: this.#config.self, log: this.ownLog, preVote };
    for (const to of this.#others) actions.push({ kind: 'request-vote', to, request });
  }

  #countGranted(nowMs: number, actions: ElectionAction[]): void {
    if (this.#granted.size < this.#majority) return;
    if (this.#role === 'pre-candidate') {
      this.#startCandidacy(nowMs, actions);
    } else if (this.#role === 'candidate') {
      // The new master's log is the one it accepts: votes compare it from epoch on.
      this.#save({ ...this.#state, acceptedEpoch: this.#state.epoch }, actions);
      this.#enterMaster(nowMs, 'vote-won', actions);
    }
  }

  #enterMaster(nowMs: number, reason: RoleChangeReason, actions: ElectionAction[]): void {
    this.#peerHeardAtMs.clear();
    this.#masterSinceMs = nowMs;
    this.#setRole('master', this.#config.self, reason, actions);
  }

  #adoptEpoch(nowMs: number, epoch: number, actions: ElectionAction[]): void {
    this.#save({ ...this.#state, epoch, votedFor: null }, actions);
    this.#becomeFollower(nowMs, null, 'higher-epoch', actions);
  }

  #becomeFollower(
    nowMs: number,
    master: string | null,
    reason: RoleChangeReason,
    actions: ElectionAction[],
  ): void {
    this.#deadlineMs = this.#randomDeadline(nowMs);
    this.#peerHeardAtMs.clear();
    this.#granted.clear();
    this.#setRole('follower', master, reason, actions);
  }

  /** Emits `role-changed` when the role, the master or the epoch differs from the last one told. */
  #setRole(
    to: ElectionRole,
    master: string | null,
    reason: RoleChangeReason,
    actions: ElectionAction[],
  ): void {
    const from = this.#role;
    const changed = from !== to || this.#master !== master || this.#toldEpoch !== this.epoch;
    this.#role = to;
    this.#master = master;
    if (!changed) return;
    this.#toldEpoch = this.epoch;
    actions.push({ kind: 'role-changed', from, to, epoch: this.epoch, master, reason });
  }

  #save(next: ElectionState, actions: ElectionAction[]): void {
    const before = this.#state;
    if (
      next.epoch === before.epoch &&
      next.votedFor === before.votedFor &&
      next.acceptedEpoch === before.acceptedEpoch
    ) {
      return;
    }
    checkTransition(before, next);
    this.#state = { epoch: next.epoch, votedFor: next.votedFor, acceptedEpoch: next.acceptedEpoch };
    actions.push({ kind: 'persist', state: this.#state });
  }

  #campaignEpoch(): number {
    const epoch = Math.max(this.#state.epoch + 1, FIRST_ELECTED_EPOCH);
    assert(
      epoch <= MAX_EPOCH,
      `epoch ${this.#state.epoch} is the last one entries can carry (${MAX_EPOCH}): no further election is possible`,
    );
    return epoch;
  }

  /**
   * True when this node promised a master not to vote: it is master, or heard from one within a
   * timeout, or started within a timeout (it may have heard from one just before a crash, and
   * the promise is not stored; a first election waits a timeout anyway, see the deadline).
   */
  #masterAlive(nowMs: number): boolean {
    if (this.#role === 'master') return true;
    const timeoutMs = this.#config.electionTimeoutMs;
    if (nowMs - this.#startedAtMs < timeoutMs) return true;
    const heard = this.#masterHeardAtMs;
    return heard !== undefined && nowMs - heard < timeoutMs;
  }

  /** The latest time by which a majority (this master included) had been heard from. */
  #quorumHeardAtMs(): number {
    const times = [this.#lastNowMs, ...this.#peerHeardAtMs.values()].sort((a, b) => b - a);
    return times[this.#majority - 1] ?? Number.NEGATIVE_INFINITY;
  }

  #randomDeadline(nowMs: number): number {
    return nowMs + randomElectionTimeoutMs(this.#config.electionTimeoutMs, this.#config.random);
  }

  #advance(nowMs: number): void {
    assert(
      Number.isFinite(nowMs) && nowMs >= this.#lastNowMs,
      `time went back from ${this.#lastNowMs} to ${nowMs}: nowMs must not decrease`,
    );
    this.#lastNowMs = nowMs;
  }

  #assertPeer(name: string, what: string): void {
    assert(
      name !== this.#config.self && this.#others.includes(name),
      `${what} from ${JSON.stringify(name)}, which is not another node of ${JSON.stringify(this.#config.peers)}`,
    );
  }
}
