import type { Clock } from '../../adapters/clock.js';
import type { ElectionStateStore } from '../../adapters/election-state-store.js';
import type { Logger } from '../../adapters/logger.js';
import type { LogStore } from '../../adapters/log-store.js';
import type { PeerTransport, ReplicaAnswer } from '../../adapters/replication-transport.js';
import type { MasterConfig, SecondaryConfig } from '../../config/config.js';
import { assert, InvariantError } from '../../core/assert.js';
import type { ElectionAction, ElectionRole } from '../../core/election-actions.js';
import { Election } from '../../core/election.js';
import type { Entry } from '../../core/entry.js';
import type { PeerConfig } from '../../core/master-core.js';
import type {
  EpochEndAnswerBody,
  EpochEndRequestBody,
  FaultsBody,
  HeartbeatBody,
  VoteAnswerBody,
  VoteRequestBody,
} from '../../protocol/messages.js';
import { plainMessageJson } from '../../protocol/entry-json.js';
import type { ReplicateBatch } from '../../core/replica-log.js';
import type { AppendRequest, AppendResult } from '../append-outcome.js';
import { MasterNode } from '../master-node.js';
import type { MasterObserver } from '../master-metrics.js';
import {
  SecondaryNode,
  type Faults,
  type ReplicaOutcome,
  type ReplicaRefusal,
  type SecondaryObserver,
  type WhenGone,
} from '../secondary-node.js';
import { SharedStore } from '../shared-store.js';
import { VisibleEntries, type VisibleListener } from '../visible-entries.js';
import { masterEpochEnd, syncWithMaster, type SyncResult } from './follower-sync.js';
import { failoverHealth, type FailoverHealth } from './failover-health.js';
import {
  MAX_LISTED_ROLLBACK_ENTRIES,
  RollbackList,
  type Rollback,
  type RollbackStore,
} from './rollbacks.js';

/** What a failover node is built from (FAILOVER=true; see FailoverConfig in config.ts). */
export interface FailoverNodeConfig {
  readonly self: string;
  /** Every node, this one included (PEERS): majorities count over it. */
  readonly peers: readonly PeerConfig[];
  /** What clients are told to reach each node at (ADVERTISED_URL), by name. */
  readonly advertisedUrls: ReadonlyMap<string, string>;
  readonly electionTimeoutMs: number;
  /** The cluster's log identity (failoverLogId): a master starting a log gives it this id. */
  readonly logId: string;
  /** ROLE: `master` makes a node with no election state the master of epoch 1. */
  readonly preferredRole: 'master' | 'secondary';
  /** The options of the node's two roles; `master.secondaries` are the other peers. */
  readonly master: MasterConfig;
  readonly secondary: SecondaryConfig;
}

/** Told of elections, role changes and truncations (the metrics, the dashboard, the simulator). */
export interface FailoverObserver {
  roleChanged?(change: RoleChange): void;
  rolledBack?(rollback: Rollback): void;
  /** This node answered a vote or pre-vote request (the answer is on its way). */
  voteAnswered?(vote: {
    readonly candidate: string;
    readonly epoch: number;
    readonly preVote: boolean;
    readonly verdict: string;
  }): void;
}

export interface RoleChange {
  readonly from: ElectionRole;
  readonly to: ElectionRole;
  readonly epoch: number;
  readonly master: string | null;
  readonly reason: string;
}

/** Everything a failover node touches outside itself (production or the simulator). */
export interface FailoverDeps {
  readonly config: FailoverNodeConfig;
  readonly store: LogStore;
  readonly electionStore: ElectionStateStore;
  readonly rollbackStore: RollbackStore;
  readonly transport: PeerTransport;
  readonly clock: Clock;
  /** Wall-clock time (ms since the Unix epoch) for the records an operator reads: rollbacks. */
  readonly wallClockMs: () => number;
  readonly random: () => number;
  readonly newId: () => string;
  readonly logger: Logger;
  readonly fatal: (error: unknown) => void;
  readonly masterObserver?: MasterObserver;
  readonly secondaryObserver?: SecondaryObserver;
  readonly observer?: FailoverObserver;
}

export type VoteOutcome =
  | { readonly kind: 'replied'; readonly reply: VoteAnswerBody }
  | { readonly kind: 'refused'; readonly refusal: ReplicaRefusal };

export type EpochEndOutcome =
  | { readonly kind: 'replied'; readonly reply: EpochEndAnswerBody }
  | { readonly kind: 'refused'; readonly refusal: ReplicaRefusal };

/**
 * Election timeouts a node waits, on its very first start (no election state yet) and not
 * started as master, before it may start an election: the configured master leads epoch 1.
 */
const FIRST_START_GRACE_TIMEOUTS = 2;

/** No answer at all: the request's sender times out, as across a real partition. */
const ABANDONED = { kind: 'refused', refusal: { reason: 'abandoned' } } as const;

/** The node's current role object: the master of an epoch, or a follower (synced to one, or not yet). */
type Role =
  | {
      readonly kind: 'master';
      readonly epoch: number;
      node: MasterNode | undefined;
      ready: Promise<void>;
    }
  | {
      readonly kind: 'follower';
      node: SecondaryNode | undefined;
      syncedEpoch: number;
      syncing: boolean;
    };

/**
 * A node of a cluster with automatic failover (issue 14). It owns the store and the election
 * state, drives the pure Election (src/core/election.ts) with messages and time, executes its
 * actions in order (a persist is durable before anything after it is sent), and holds the role
 * object of the current epoch: a MasterNode while it leads one, a SecondaryNode while it follows
 * a master whose log it has taken (syncWithMaster: KIP-101's comparison, truncating the rest).
 * It shows only the committed prefix (F4) and reports every discarded entry (F3).
 */
export class FailoverNode {
  readonly incarnation: string;
  readonly #deps: FailoverDeps;
  readonly #config: FailoverNodeConfig;
  readonly #log: Logger;
  readonly #store: SharedStore;
  readonly #rollbacks = new RollbackList();
  readonly #visible = new VisibleEntries();
  /**
   * How this node reaches the others, in every role: the transport, cut while fault injection
   * partitions the node. A master's stop closes its transport; this one is shared by every
   * role, so its close does nothing (the node's stop closes the real one).
   */
  readonly #peers: PeerTransport;
  #election!: Election;
  #role: Role = { kind: 'follower', node: undefined, syncedEpoch: 0, syncing: false };
  /** Resolves once every SecondaryNode retired so far has finished what it was applying. */
  #retirements: Promise<void> = Promise.resolve();
  /** Bumped at every role change: async work of an older role stops when it sees the change. */
  #generation = 0;
  /** The tail of the election-state saves: whatever is sent after a persist waits for it. */
  #saved: Promise<void> = Promise.resolve();
  /** Entries up to here are committed (never goes down; a truncation below it is fatal). */
  #commitId = 0;
  #faults: Faults;
  /** ADVERTISED_URL of the other nodes, as each stamped its requests while master. */
  readonly #learnedUrls = new Map<string, string>();
  #cancelTimer: (() => void) | undefined;
  #timerAtMs = Infinity;
  #stopped = false;
  #elections = 0;
  /** On a first start, no election before this time (see FIRST_START_GRACE_TIMEOUTS). */
  #quietUntilMs = 0;

  constructor(deps: FailoverDeps) {
    this.#deps = deps;
    this.#config = deps.config;
    this.#log = deps.logger;
    this.incarnation = deps.newId();
    this.#store = new SharedStore(deps.store, deps.config.master.maxIdempotencyKeys);
    const secondary = deps.config.secondary;
    this.#faults = {
      delayMs:
        secondary.delay.minMs === secondary.delay.maxMs
          ? secondary.delay.minMs
          : [secondary.delay.minMs, secondary.delay.maxMs],
      errorRate: secondary.errorRate,
      partitioned: false,
    };
    this.#peers = this.#partitionable(deps.transport);
  }

  async start(): Promise<void> {
    const state = await this.#store.open();
    const initial = await this.#deps.electionStore.load();
    for (const rollback of await this.#deps.rollbackStore.load(MAX_LISTED_ROLLBACK_ENTRIES))
      this.#rollbacks.add(rollback);
    const { config } = this;
    this.#election = new Election({
      self: config.self,
      peers: config.peers.map((peer) => peer.name),
      electionTimeoutMs: config.electionTimeoutMs,
      random: this.#deps.random,
      initial,
      lastId: () => this.#store.lastId(),
      nowMs: this.#nowMs(),
    });
    this.#log.info(
      {
        event: 'failover-started',
        epoch: initial.epoch,
        acceptedEpoch: initial.acceptedEpoch,
        votedFor: initial.votedFor,
        lastId: state.lastId,
        peers: config.peers.map((peer) => peer.name),
      },
      `failover node holds entries 1..${state.lastId}, epoch ${initial.epoch}; ${config.peers.length} peers`,
    );
    if (initial.epoch === 0 && config.preferredRole === 'master') {
      this.#execute(this.#election.bootstrap(this.#nowMs()));
    } else if (initial.epoch === 0) {
      // A cluster's very first start: give the node started as master (ROLE=master) time to
      // come up and lead epoch 1, rather than race it with an election of our own.
      this.#quietUntilMs = this.#nowMs() + FIRST_START_GRACE_TIMEOUTS * config.electionTimeoutMs;
    }
    this.#scheduleTick();
  }

  get config(): FailoverNodeConfig {
    return this.#config;
  }

  /** PEERS: every node counts towards w and majorities. */
  get clusterSize(): number {
    return this.#config.peers.length;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation += 1;
    this.#cancelTimer?.();
    const role = this.#role;
    if (role.kind === 'master') await role.node?.stop();
    else if (role.node !== undefined) this.#retire(role.node);
    await this.#retirements;
    await this.#saved.catch(() => undefined);
    await this.#deps.transport.close();
  }

  // ---- Client requests -------------------------------------------------------------------

  async append(request: AppendRequest): Promise<AppendResult> {
    const role = this.#role;
    if (role.kind === 'master') {
      await role.ready;
      const node = role.node;
      if (node !== undefined && this.#role === role) return node.append(request);
    }
    const master = this.#election.masterName;
    const known = master !== null && master !== this.#config.self;
    // An election takes about one election timeout; clients ask again soon (the least header value).
    const retryAfterS = 1;
    return {
      kind: 'refused',
      refusal: {
        reason: 'not-master',
        master: known ? this.#advertised(master) : null,
        retryAfterS,
      },
    };
  }

  /** Entries up to here are shown: the committed prefix (F4). */
  lastVisibleId(): number {
    return this.#commitId;
  }

  get commitId(): number {
    return this.#commitId;
  }

  onVisible(listener: VisibleListener): () => void {
    return this.#visible.subscribe(listener);
  }

  read(sinceId: number, limit: number, maxBytes = Infinity): Entry[] {
    const shown = this.#commitId;
    if (sinceId >= shown) return [];
    return this.#store.read(sinceId + 1, Math.min(limit, shown - sinceId), maxBytes);
  }

  get(id: number): Entry | undefined {
    return id >= 1 && id <= this.#commitId ? this.#store.get(id) : undefined;
  }

  /** `JSON.stringify(entry.message)`, through the master's cache while this node leads. */
  readonly messageJson = (entry: Entry): string => {
    const role = this.#role;
    return role.kind === 'master' && role.node !== undefined
      ? role.node.messageJson(entry)
      : plainMessageJson(entry);
  };

  health(): FailoverHealth {
    return failoverHealth({
      self: this.#config.self,
      election: this.#election,
      masterUrl: (name: string) => this.#advertised(name),
      logId: this.#store.identity?.logId ?? null,
      lastId: this.#store.lastId(),
      commitId: this.#commitId,
      incarnation: this.incarnation,
      role: this.#role,
      faults: this.#faults,
      rolledBackEntries: this.#rollbacks.totalEntries,
    });
  }

  /** The role and epoch for this node's log lines (safe before `start`). */
  describe(): { role: string; epoch: number } {
    const election = this.#election as Election | undefined;
    if (election === undefined) return { role: 'starting', epoch: 0 };
    const role = election.role;
    return {
      role: role === 'follower' ? 'secondary' : role === 'master' ? 'master' : 'candidate',
      epoch: election.epoch,
    };
  }

  /** The master's role object while this node leads and has started it. */
  get master(): MasterNode | undefined {
    const role = this.#role;
    return role.kind === 'master' ? role.node : undefined;
  }

  get epoch(): number {
    return this.#election.epoch;
  }

  get electionRole(): ElectionRole {
    return this.#election.role;
  }

  /** As master, until when its lease holds (Election.leaseEndsAtMs); -Infinity otherwise. */
  leaseEndsAtMs(): number {
    return this.#election.leaseEndsAtMs();
  }

  /** Elections this process started (pre-votes won: it ran as a candidate). */
  get electionsStarted(): number {
    return this.#elections;
  }

  rollbacks(): readonly Rollback[] {
    return this.#rollbacks.list();
  }

  get rolledBackEntries(): number {
    return this.#rollbacks.totalEntries;
  }

  get faults(): Faults {
    return this.#faults;
  }

  /**
   * Fault injection. `partitioned` cuts this node from the other nodes in every role: requests
   * from them get no answer, its own requests to them fail (clients still reach it). `delayMs`
   * and `errorRate` act on its handling of a master's requests while it follows one.
   */
  setFaults(change: FaultsBody): Faults {
    const before = this.#faults;
    this.#faults = {
      delayMs: change.delayMs ?? before.delayMs,
      errorRate: change.errorRate ?? before.errorRate,
      partitioned: change.partitioned ?? before.partitioned,
    };
    const role = this.#role;
    if (role.kind === 'follower' && role.node !== undefined) {
      const { delayMs, errorRate } = change;
      role.node.setFaults({
        ...(delayMs === undefined ? {} : { delayMs }),
        ...(errorRate === undefined ? {} : { errorRate }),
      });
    }
    if (this.#faults.partitioned !== before.partitioned) {
      this.#log.warn(
        { event: 'faults-changed', faults: this.#faults },
        this.#faults.partitioned
          ? 'partitioned by fault injection: no answers to the other nodes, no requests to them'
          : 'partition by fault injection healed',
      );
    }
    return this.#faults;
  }

  /** The transport as this node uses it: failing at once while partitioned, never closed by a role. */
  #partitionable(transport: PeerTransport): PeerTransport {
    const cut = { ok: false as const, error: 'partitioned by fault injection: nothing is sent' };
    const open = (): boolean => !this.#faults.partitioned;
    return {
      replicate: (peer, batch, timeoutMs) =>
        open() ? transport.replicate(peer, batch, timeoutMs) : Promise.resolve(cut),
      heartbeat: (peer, body, timeoutMs) =>
        open() ? transport.heartbeat(peer, body, timeoutMs) : Promise.resolve(cut),
      vote: (peer, body, timeoutMs) =>
        open() ? transport.vote(peer, body, timeoutMs) : Promise.resolve(cut),
      epochEnd: (peer, body, timeoutMs) =>
        open() ? transport.epochEnd(peer, body, timeoutMs) : Promise.resolve(cut),
      close: () => Promise.resolve(),
    };
  }

  // ---- Requests from other nodes ---------------------------------------------------------

  async replicate(batch: ReplicateBatch, whenGone?: WhenGone): Promise<ReplicaOutcome> {
    if (this.#faults.partitioned) return ABANDONED;
    const stamp = batch.failover;
    if (stamp === undefined) return this.#unstamped();
    this.#learnUrl(stamp.from, stamp.url);
    const refused = this.#masterContact(stamp.from, batch.epoch);
    if (refused !== undefined) return refused;
    const follower = this.#followerFor(batch.epoch, stamp.from, batch.logId);
    if (follower === undefined) return this.#syncing(batch.epoch, stamp.from);
    return this.#answered(await follower.replicate(batch, whenGone), batch.epoch, stamp.startId);
  }

  async heartbeat(body: HeartbeatBody, whenGone?: WhenGone): Promise<ReplicaOutcome> {
    if (this.#faults.partitioned) return ABANDONED;
    if (body.from === undefined) return this.#unstamped();
    this.#learnUrl(body.from, body.url);
    const refused = this.#masterContact(body.from, body.epoch);
    if (refused !== undefined) return refused;
    const follower = this.#followerFor(body.epoch, body.from, body.logId);
    if (follower === undefined) return this.#syncing(body.epoch, body.from);
    return this.#answered(await follower.heartbeat(body, whenGone), body.epoch, body.startId ?? 0);
  }

  async vote(body: VoteRequestBody): Promise<VoteOutcome> {
    if (this.#faults.partitioned) return ABANDONED;
    if (!this.#isOtherPeer(body.candidate)) return this.#strangerRefusal(body.candidate);
    const request = {
      epoch: body.epoch,
      candidate: body.candidate,
      log: { acceptedEpoch: body.acceptedEpoch, lastId: body.lastId },
      preVote: body.preVote,
    };
    const actions = this.#election.onVoteRequest(this.#nowMs(), request);
    const answer = this.#execute(actions);
    assert(answer?.kind === 'answer-vote', 'a vote request is answered');
    // The vote (or the epoch it raised) is on disk before the candidate hears of it.
    await this.#saved;
    this.#deps.observer?.voteAnswered?.({
      candidate: body.candidate,
      epoch: body.epoch,
      preVote: body.preVote,
      verdict: answer.verdict,
    });
    this.#log.info(
      {
        event: 'vote-answered',
        candidate: body.candidate,
        epoch: body.epoch,
        preVote: body.preVote,
        verdict: answer.verdict,
      },
      `${body.preVote ? 'pre-vote' : 'vote'} for ${body.candidate} in epoch ${body.epoch}: ${answer.verdict}`,
    );
    return { kind: 'replied', reply: answer.answer };
  }

  epochEnd(body: EpochEndRequestBody): EpochEndOutcome {
    if (this.#faults.partitioned) return ABANDONED;
    const role = this.#role;
    const leads =
      role.kind === 'master' &&
      role.node !== undefined &&
      role.epoch === body.epoch &&
      this.#election.epoch === body.epoch;
    if (!leads || this.#store.identity?.logId !== body.logId) {
      return {
        kind: 'refused',
        refusal: this.#staleRefusal(`not the master of epoch ${body.epoch} of log ${body.logId}`),
      };
    }
    const written = { epoch: role.epoch, lastId: role.node?.writtenId ?? 0 };
    return { kind: 'replied', reply: masterEpochEnd(this.#store, body.lastEpoch, written) };
  }

  // ---- The election ----------------------------------------------------------------------

  /**
   * Executes the election's actions in order. Persists are chained on `#saved`; sends wait for
   * it. Returns the answer to a vote request or a stale master, if the actions hold one.
   */
  #execute(
    actions: readonly ElectionAction[],
  ): Extract<ElectionAction, { kind: 'answer-vote' | 'refuse-stale' }> | undefined {
    let answer: Extract<ElectionAction, { kind: 'answer-vote' | 'refuse-stale' }> | undefined;
    for (const action of actions) {
      switch (action.kind) {
        case 'persist': {
          const state = action.state;
          this.#saved = this.#saved.then(() => this.#deps.electionStore.save(state));
          this.#saved.catch((error: unknown) => {
            this.#deps.fatal(error);
          });
          break;
        }
        case 'request-vote':
          this.#requestVote(action.to, action.request);
          break;
        case 'answer-vote':
        case 'refuse-stale':
          answer = action;
          break;
        case 'role-changed':
          this.#roleChanged(action);
          break;
      }
    }
    this.#scheduleTick();
    return answer;
  }

  #requestVote(
    to: string,
    request: Extract<ElectionAction, { kind: 'request-vote' }>['request'],
  ): void {
    const peer = this.#peer(to);
    const body: VoteRequestBody = {
      epoch: request.epoch,
      candidate: request.candidate,
      acceptedEpoch: request.log.acceptedEpoch,
      lastId: request.log.lastId,
      preVote: request.preVote,
    };
    void this.#saved
      .then(() => {
        if (this.#stopped) return undefined;
        return this.#peers.vote(peer, body, this.#config.electionTimeoutMs);
      })
      .then((answer) => {
        if (answer === undefined || !answer.ok || this.#stopped) return;
        // An answer to an older campaign is fed in too: the election checks its epoch.
        this.#execute(this.#election.onVoteAnswer(this.#nowMs(), to, answer.body));
      })
      .catch(this.#deps.fatal);
  }

  #roleChanged(change: Extract<ElectionAction, { kind: 'role-changed' }>): void {
    this.#generation += 1;
    if (change.to === 'candidate') this.#elections += 1;
    this.#logRoleChange(change);
    this.#deps.observer?.roleChanged?.(change);
    const role = this.#role;
    if (change.to === 'master') {
      this.#becomeMaster(change.epoch);
      return;
    }
    if (role.kind === 'master') {
      this.#role = { kind: 'follower', node: undefined, syncedEpoch: 0, syncing: false };
      // Stopped now if started; a start under way sees the new generation and stops itself.
      void role.node?.stop().catch(this.#deps.fatal);
      return;
    }
    if (role.syncedEpoch !== change.epoch && role.node !== undefined) {
      const node = role.node;
      this.#role = { kind: 'follower', node: undefined, syncedEpoch: 0, syncing: false };
      this.#retire(node);
    }
  }

  #logRoleChange(change: Extract<ElectionAction, { kind: 'role-changed' }>): void {
    const { from, to, epoch, master, reason } = change;
    const level = from === 'master' ? 'warn' : 'info';
    const what =
      to === 'master'
        ? `elected master of epoch ${epoch}`
        : from === 'master'
          ? `stepped down in epoch ${epoch} (${reason})`
          : to === 'follower'
            ? `follows ${master ?? 'no master yet'} in epoch ${epoch}`
            : `${to} for epoch ${epoch + (to === 'pre-candidate' ? 1 : 0)}`;
    this.#log[level](
      { event: 'role-changed', from, to, epoch, master, reason, lastId: this.#store.lastId() },
      `${this.#config.self} ${what} (${reason}); holds 1..${this.#store.lastId()}, committed ${this.#commitId}`,
    );
  }

  #becomeMaster(epoch: number): void {
    const previous = this.#role;
    const generation = this.#generation;
    let node: MasterNode | undefined;
    const role: Role = { kind: 'master', epoch, node: undefined, ready: Promise.resolve() };
    const ready = (async () => {
      if (previous.kind === 'follower' && previous.node !== undefined) this.#retire(previous.node);
      else if (previous.kind === 'master') await previous.node?.stop();
      // Every follower of an earlier epoch has stored what it was storing, and stores nothing more.
      await this.#retirements;
      await this.#saved;
      await this.#store.idle();
      if (!this.#isCurrent(generation)) return;
      node = this.#newMaster(epoch);
      await node.start();
      if (!this.#isCurrent(generation)) {
        await node.stop();
        return;
      }
      role.node = node;
      node.onVisible(() => {
        this.#raiseCommit(node?.commitId ?? 0);
      });
    })();
    role.ready = ready;
    this.#role = role;
    ready.catch(this.#deps.fatal);
  }

  #newMaster(epoch: number): MasterNode {
    const deps = this.#deps;
    return new MasterNode({
      config: this.#config.master,
      store: this.#store,
      transport: this.#peers,
      clock: deps.clock,
      random: deps.random,
      // The only id a master makes is a new log's: a failover cluster has one, from PEERS.
      newId: () => this.#config.logId,
      logger: deps.logger,
      fatal: deps.fatal,
      ...(deps.masterObserver === undefined ? {} : { observer: deps.masterObserver }),
      failover: {
        self: this.#config.self,
        url: this.#advertised(this.#config.self),
        epoch,
        commitId: this.#commitId,
        keysStartingIn: (fromId, toId) => this.#store.keysStartingIn(fromId, toId),
        onAnswer: (peer, answer, sentAtMs) => {
          this.#peerAnswered(peer, answer, sentAtMs);
        },
        leaseEndsAtMs: () => this.#election.leaseEndsAtMs(),
      },
    });
  }

  /**
   * Every answer to a master's request: check-quorum counts it, a higher epoch deposes. Before it
   * counts (for check-quorum here, towards w in the master right after), check-quorum looks at
   * the time: an answer that arrives after this master went an election timeout without hearing
   * from a majority (its process was paused, its loop stalled) finds it deposed, since a new
   * master may have been elected and made the answering node drop what it acknowledged. The
   * timer would step down at the same moment; an answer handled first must not win that race
   * (simulator seed 70186: a paused master, resumed, acknowledged w=2 with one holder left).
   * The answer itself counts from `sentAtMs`, when its request left: however long it took to
   * arrive, it extends the master's lease only as far as the answering node's promise not to
   * vote reaches.
   */
  #peerAnswered(peer: string, answer: ReplicaAnswer, sentAtMs: number): void {
    if (this.#stopped) return;
    const nowMs = this.#nowMs();
    if (this.#election.role === 'master') this.#execute(this.#election.tick(nowMs));
    if (answer.epoch === undefined) return;
    this.#execute(this.#election.onPeerReply(nowMs, peer, answer.epoch, sentAtMs));
  }

  /** A request from `from`, master of `epoch`: refused if stale; otherwise it is followed. */
  #masterContact(from: string, epoch: number): ReplicaOutcome | undefined {
    if (!this.#isOtherPeer(from)) {
      return { kind: 'refused', refusal: this.#staleRefusal(`${from} is not one of PEERS`) };
    }
    const answer = this.#execute(this.#election.onMasterContact(this.#nowMs(), from, epoch));
    if (answer?.kind !== 'refuse-stale') return undefined;
    return {
      kind: 'refused',
      refusal: this.#staleRefusal(
        `${from} led epoch ${epoch}; this node is in epoch ${answer.epoch}`,
      ),
    };
  }

  // ---- Following ---------------------------------------------------------------------------

  /** The secondary following the master of `epoch`, once this log is a prefix of the master's. */
  #followerFor(epoch: number, master: string, logId: string): SecondaryNode | undefined {
    const role = this.#role;
    assert(role.kind === 'follower', `a request from master ${master} reached a node that leads`);
    if (role.syncedEpoch === epoch && role.node !== undefined) return role.node;
    if (!role.syncing) {
      role.syncing = true;
      void this.#sync(role, epoch, master, logId).catch(this.#deps.fatal);
    }
    return undefined;
  }

  async #sync(
    role: Extract<Role, { kind: 'follower' }>,
    epoch: number,
    master: string,
    logId: string,
  ): Promise<void> {
    const generation = this.#generation;
    const current = (): boolean => this.#isCurrent(generation) && this.#role === role;
    try {
      if (role.node !== undefined) this.#retire(role.node);
      role.node = undefined;
      await this.#retirements;
      await this.#store.idle();
      if (!current()) return;
      const result = await this.#compareLogs(epoch, master, logId, current);
      if (result.kind === 'failed') {
        this.#log.warn(
          { event: 'sync-failed', master, epoch, reason: result.reason },
          `could not compare logs with ${master} (epoch ${epoch}): ${result.reason}; retrying on its next request`,
        );
        return;
      }
      if (!current()) return;
      await this.#startFollowing(role, epoch, master);
    } finally {
      role.syncing = false;
    }
  }

  /** syncWithMaster; a storage error (a failed truncation) fails this attempt, not the node. */
  async #compareLogs(
    epoch: number,
    master: string,
    logId: string,
    current: () => boolean,
  ): Promise<SyncResult> {
    try {
      return await syncWithMaster(this.#store, this.#peers, {
        master: this.#peer(master),
        logId,
        epoch,
        commitId: this.#commitId,
        timeoutMs: this.#config.electionTimeoutMs,
        current,
        nowMs: () => this.#deps.wallClockMs(),
        report: (rollback) => this.#reportRollback(rollback),
      });
    } catch (error) {
      if (error instanceof InvariantError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      return { kind: 'failed', reason };
    }
  }

  /** This log is a prefix of the master's: follow it (its epoch is accepted once caught up). */
  async #startFollowing(
    role: Extract<Role, { kind: 'follower' }>,
    epoch: number,
    master: string,
  ): Promise<void> {
    if (this.#role !== role || this.#election.epoch !== epoch) return;
    const node = this.#newSecondary();
    await node.start();
    if (this.#role !== role || this.#election.epoch !== epoch) {
      await node.retire();
      return;
    }
    node.onVisible(() => {
      this.#raiseCommit(node.commitId);
    });
    role.node = node;
    role.syncedEpoch = epoch;
    this.#log.info(
      { event: 'log-accepted', master, epoch, lastId: this.#store.lastId() },
      `holds a prefix (1..${this.#store.lastId()}) of the log of ${master}, master of epoch ${epoch}`,
    );
  }

  /** Retires `node` (its epoch is over); the next role object waits for `#retirements`. */
  #retire(node: SecondaryNode): void {
    const retired = node.retire();
    retired.catch(this.#deps.fatal);
    this.#retirements = Promise.all([this.#retirements, retired]).then(() => undefined);
  }

  #newSecondary(): SecondaryNode {
    const deps = this.#deps;
    const faults = this.#faults;
    const node = new SecondaryNode({
      config: this.#config.secondary,
      store: this.#store,
      clock: deps.clock,
      random: deps.random,
      newId: deps.newId,
      logger: deps.logger,
      ...(deps.secondaryObserver === undefined ? {} : { observer: deps.secondaryObserver }),
      failover: { commitId: Math.min(this.#commitId, this.#store.lastId()) },
    });
    const delayMs: number | [number, number] =
      typeof faults.delayMs === 'number' ? faults.delayMs : [faults.delayMs[0], faults.delayMs[1]];
    node.setFaults({ delayMs, errorRate: faults.errorRate });
    return node;
  }

  async #reportRollback(rollback: Rollback): Promise<void> {
    this.#rollbacks.add(rollback);
    this.#deps.observer?.rolledBack?.(rollback);
    this.#log.warn(
      {
        event: 'rolled-back',
        epoch: rollback.epoch,
        master: rollback.master,
        fromId: rollback.fromId,
        toId: rollback.toId,
        count: rollback.entries.length,
        keys: rollback.keys.map(([key]) => key),
      },
      `discarding entries ${rollback.fromId}..${rollback.toId} (${rollback.entries.length}), which the master of epoch ${rollback.epoch} does not hold; listed at GET /admin/rollbacks`,
    );
    await this.#deps.rollbackStore.append(rollback);
  }

  #raiseCommit(commitId: number): void {
    if (commitId <= this.#commitId) return;
    assert(
      commitId <= this.#store.lastId(),
      `commit point ${commitId} beyond the log's end ${this.#store.lastId()}`,
    );
    this.#commitId = commitId;
    this.#log.debug({ event: 'committed', commitId }, `entries up to ${commitId} are committed`);
    this.#visible.notify(commitId);
  }

  // ---- Replies -----------------------------------------------------------------------------

  /** A secondary's reply, with this node's epoch and the epoch whose log it holds. */
  #stamped(outcome: ReplicaOutcome): ReplicaOutcome {
    if (outcome.kind === 'refused') {
      const refusal = outcome.refusal;
      return refusal.reason === 'rejected'
        ? { kind: 'refused', refusal: { ...refusal, epoch: this.#election.epoch } }
        : outcome;
    }
    return { kind: 'replied', reply: { ...outcome.reply, ...this.#epochs() } };
  }

  /** While this log is not a prefix of the master's yet: no report of what it holds. */
  #syncing(epoch: number, master: string): ReplicaOutcome {
    return { kind: 'refused', refusal: { reason: 'syncing', epoch, master } };
  }

  /**
   * A secondary's answer in `epoch`. Once it holds the master's log as the epoch began (up to
   * `startId`), the epoch becomes this node's accepted one - durably, before the answer goes out:
   * from then on the master counts this node's acknowledgements, and its votes protect them.
   */
  async #answered(
    outcome: ReplicaOutcome,
    epoch: number,
    startId: number,
  ): Promise<ReplicaOutcome> {
    const state = this.#election.state;
    if (
      outcome.kind === 'replied' &&
      outcome.reply.hwm >= startId &&
      state.acceptedEpoch < epoch &&
      state.epoch === epoch
    ) {
      this.#execute(this.#election.acceptMasterLog(epoch));
      await this.#saved;
    }
    return this.#stamped(outcome);
  }

  #epochs(): { epoch: number; acceptedEpoch: number } {
    const state = this.#election.state;
    return { epoch: state.epoch, acceptedEpoch: state.acceptedEpoch };
  }

  #unstamped(): ReplicaOutcome {
    return {
      kind: 'refused',
      refusal: {
        reason: 'rejected',
        code: 'INVALID_BATCH',
        message: 'this node runs with FAILOVER=true: its master must too (and send its name)',
        epoch: this.#election.epoch,
      },
    };
  }

  #staleRefusal(message: string): ReplicaRefusal {
    return { reason: 'rejected', code: 'STALE_EPOCH', message, epoch: this.#election.epoch };
  }

  #strangerRefusal(name: string): VoteOutcome {
    return { kind: 'refused', refusal: this.#staleRefusal(`${name} is not another node of PEERS`) };
  }

  // ---- Time and peers ----------------------------------------------------------------------

  #scheduleTick(): void {
    if (this.#stopped) return;
    const next = Math.max(this.#election.nextTickMs(), this.#quietUntilMs);
    if (next >= this.#timerAtMs) return;
    this.#cancelTimer?.();
    this.#timerAtMs = next;
    const clock = this.#deps.clock;
    this.#cancelTimer = clock.schedule(Math.max(0, next - clock.nowMs()), () => {
      this.#timerAtMs = Infinity;
      this.#cancelTimer = undefined;
      if (this.#stopped) return;
      this.#execute(this.#election.tick(this.#nowMs()));
    });
  }

  /** No role change happened since `generation` was read, and the node still runs. */
  #isCurrent(generation: number): boolean {
    return this.#generation === generation && !this.#stopped;
  }

  #nowMs(): number {
    return this.#deps.clock.nowMs();
  }

  #peer(name: string): PeerConfig {
    const peer = this.#config.peers.find((candidate) => candidate.name === name);
    assert(peer !== undefined, `${name} is not one of PEERS`);
    return peer;
  }

  #isOtherPeer(name: string): boolean {
    return name !== this.#config.self && this.#config.peers.some((peer) => peer.name === name);
  }

  /**
   * What clients are told to reach `name` at: its own ADVERTISED_URL as it sent it (a master
   * stamps every request with it), else the configured one, else its PEERS URL.
   */
  #advertised(name: string): string {
    return (
      this.#learnedUrls.get(name) ?? this.#config.advertisedUrls.get(name) ?? this.#peer(name).url
    );
  }

  #learnUrl(name: string, url: string | undefined): void {
    if (url !== undefined && this.#isOtherPeer(name)) this.#learnedUrls.set(name, url);
  }
}
