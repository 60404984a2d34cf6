import type { Clock } from '../adapters/clock.js';
import type { Logger } from '../adapters/logger.js';
import { repeatEvery } from '../adapters/repeat.js';
import type { ClusterState } from './client/cluster-wire.js';
import {
  advanceCluster,
  initialClusterState,
  withNode,
  withRoleChange,
  type NodeSample,
} from './cluster-state.js';
import type { RoleChangeFeed } from './role-change-feed.js';
import { readFailoverHealth } from './secondary-answers.js';
import type { CallSecondary } from './secondary-client.js';

/** What the hub needs of the failover node that serves the page. */
export interface ClusterNode {
  readonly config: {
    readonly self: string;
    readonly peers: readonly { readonly name: string; readonly url: string }[];
  };
  health(): {
    readonly role: 'master' | 'secondary' | 'candidate';
    readonly epoch: number;
    readonly master: { readonly name: string } | null;
    readonly log: { readonly lastId: number; readonly commitId: number };
  };
}

export interface ClusterHubOptions {
  /** Pause between two polls of one node. */
  readonly pollIntervalMs: number;
  /** Deadline of one poll of a node. */
  readonly pollTimeoutMs: number;
  /** Least time between two states sent to the pages. */
  readonly minBroadcastIntervalMs: number;
  /** Election events kept (newest first). */
  readonly maxEvents: number;
}

export const DEFAULT_CLUSTER_HUB_OPTIONS: ClusterHubOptions = {
  pollIntervalMs: 300,
  pollTimeoutMs: 1000,
  minBroadcastIntervalMs: 250,
  maxEvents: 40,
};

/** Cap on a `/health` answer: a few hundred bytes in practice (a master lists its peers). */
const HEALTH_ANSWER_BYTES = 64 * 1024;

export interface ClusterHubDeps {
  readonly node: ClusterNode;
  readonly feed: RoleChangeFeed;
  readonly call: CallSecondary;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly faultsNeedToken: boolean;
  readonly options?: Partial<ClusterHubOptions>;
}

export interface ClusterSnapshot {
  readonly state: ClusterState;
  readonly json: string;
}

type Listener = (snapshot: ClusterSnapshot) => void;

interface Peer {
  readonly name: string;
  readonly url: string;
  inflight: Promise<void> | undefined;
  cancelTimer: (() => void) | undefined;
}

/**
 * A failover node's view of the whole cluster for its dashboard: every node's `GET /health`
 * (its own read in process, the others' over HTTP, each on its own schedule so that a dead node
 * delays nobody's updates) and this node's role changes. It polls only while a page listens;
 * listeners get the state at once, then at every change, at most every `minBroadcastIntervalMs`.
 */
export class ClusterHub {
  readonly #deps: ClusterHubDeps;
  readonly #options: ClusterHubOptions;
  readonly #peers: Peer[];
  readonly #listeners = new Map<Listener, { sentVersion: number }>();
  readonly #unsubscribeFeed: () => void;
  #state: ClusterState;
  #generation = 0;
  #cancelSelfPolls: (() => void) | undefined;
  #cancelBroadcast: (() => void) | undefined;
  #lastBroadcastAtMs = -Infinity;
  #closed = false;

  constructor(deps: ClusterHubDeps) {
    this.#deps = deps;
    this.#options = { ...DEFAULT_CLUSTER_HUB_OPTIONS, ...deps.options };
    const { self, peers } = deps.node.config;
    this.#state = initialClusterState(peers, self, deps.faultsNeedToken);
    this.#peers = peers
      .filter((peer) => peer.name !== self)
      .map((peer) => ({ ...peer, inflight: undefined, cancelTimer: undefined }));
    this.#unsubscribeFeed = deps.feed.subscribe(({ atMs, change }) => {
      this.#update(withRoleChange(this.#state, change, atMs, this.#options.maxEvents));
    });
    this.#pollSelf();
  }

  /** The current state, stamped with the clock's time now (the events' times are on it). */
  get snapshot(): ClusterSnapshot {
    const state = { ...this.#state, nowMs: this.#deps.clock.nowMs() };
    return { state, json: JSON.stringify(state) };
  }

  subscribe(listener: Listener): () => void {
    if (this.#closed) throw new Error('the dashboard hub is closed');
    this.#pollSelf();
    const snapshot = this.snapshot;
    this.#listeners.set(listener, { sentVersion: snapshot.state.version });
    if (this.#listeners.size === 1) this.#start();
    listener(snapshot);
    return () => {
      if (!this.#listeners.delete(listener)) return;
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /** While pages listen, the polled state; otherwise one round of polls, each bounded. */
  async refresh(): Promise<ClusterSnapshot> {
    if (this.#listeners.size === 0) {
      this.#pollSelf();
      await Promise.all(this.#peers.map((peer) => this.#pollOnce(peer)));
    }
    return this.snapshot;
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#unsubscribeFeed();
    this.#stop();
  }

  #start(): void {
    const generation = this.#generation;
    this.#cancelSelfPolls = repeatEvery(this.#deps.clock, this.#options.pollIntervalMs, () => {
      this.#pollSelf();
    });
    for (const peer of this.#peers) this.#loop(peer, generation);
  }

  #stop(): void {
    this.#generation += 1;
    this.#cancelSelfPolls?.();
    this.#cancelBroadcast?.();
    this.#cancelSelfPolls = undefined;
    this.#cancelBroadcast = undefined;
    for (const peer of this.#peers) {
      peer.cancelTimer?.();
      peer.cancelTimer = undefined;
    }
  }

  #loop(peer: Peer, generation: number): void {
    void this.#pollOnce(peer).then(() => {
      if (generation !== this.#generation) return;
      peer.cancelTimer = this.#deps.clock.schedule(this.#options.pollIntervalMs, () => {
        peer.cancelTimer = undefined;
        this.#loop(peer, generation);
      });
    });
  }

  #pollOnce(peer: Peer): Promise<void> {
    peer.inflight ??= this.#samplePeer(peer)
      .then((sample) => {
        this.#record(peer.name, sample);
      })
      .finally(() => {
        peer.inflight = undefined;
      });
    return peer.inflight;
  }

  async #samplePeer(peer: Peer): Promise<NodeSample> {
    const { pollTimeoutMs } = this.#options;
    try {
      const answer = await this.#deps.call(peer.url, {
        method: 'GET',
        path: '/health',
        timeoutMs: pollTimeoutMs,
        maxBytes: HEALTH_ANSWER_BYTES,
      });
      if (answer.status !== 200) throw new Error(`GET /health answered ${answer.status}`);
      return readFailoverHealth(answer.text);
    } catch (error) {
      return { kind: 'unreachable', error: error instanceof Error ? error.message : String(error) };
    }
  }

  #pollSelf(): void {
    const health = this.#deps.node.health();
    this.#record(this.#state.self, {
      kind: 'reachable',
      role: health.role,
      epoch: health.epoch,
      masterName: health.master?.name ?? null,
      lastId: health.log.lastId,
      commitId: health.log.commitId,
    });
  }

  #record(name: string, sample: NodeSample): void {
    const { clock, logger } = this.#deps;
    const before = this.#state.nodes.find((view) => view.name === name)?.reach;
    if (sample.kind === 'unreachable' && before !== 'unreachable') {
      logger.debug(
        { event: 'dashboard-peer-unreachable', peer: name, error: sample.error },
        `dashboard cannot reach ${name}: ${sample.error}`,
      );
    }
    this.#update(withNode(this.#state, name, sample, clock.nowMs(), this.#options.maxEvents));
  }

  #update(next: ClusterState): void {
    const advanced = advanceCluster(this.#state, next);
    if (advanced === this.#state) return;
    this.#state = advanced;
    this.#scheduleBroadcast();
  }

  #scheduleBroadcast(): void {
    if (this.#listeners.size === 0 || this.#cancelBroadcast !== undefined) return;
    const { clock } = this.#deps;
    const waitMs = Math.max(
      0,
      this.#lastBroadcastAtMs + this.#options.minBroadcastIntervalMs - clock.nowMs(),
    );
    this.#cancelBroadcast = clock.schedule(waitMs, () => {
      this.#cancelBroadcast = undefined;
      this.#lastBroadcastAtMs = clock.nowMs();
      const snapshot = this.snapshot;
      for (const [listener, sent] of this.#listeners) {
        if (sent.sentVersion === snapshot.state.version) continue;
        sent.sentVersion = snapshot.state.version;
        listener(snapshot);
      }
    });
  }
}
