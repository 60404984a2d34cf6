import type { Clock } from '../adapters/clock.js';
import type { Logger } from '../adapters/logger.js';
import { repeatEvery } from '../adapters/repeat.js';
import type { Entry } from '../core/entry.js';
import { FAULTS_PATH } from '../protocol/paths.js';
import type { DashboardState, FaultInjection, TimelineView } from './client/dashboard-wire.js';
import {
  advance,
  initialState,
  keptTail,
  mergeTail,
  shouldAskFaults,
  tailRequest,
  toTailEntry,
  withFaults,
  withMaster,
  withSecondary,
  type MasterSample,
  type SecondarySample,
} from './dashboard-state.js';
import { readEntries, readFaults, readSecondaryHealth } from './secondary-answers.js';
import type { CallSecondary } from './secondary-client.js';

/** What the hub needs of the master: its health and its log. */
export interface DashboardMaster {
  health(): MasterSample;
  read(sinceId: number, limit: number): readonly Entry[];
}

export interface HubOptions {
  /** Pause between two polls of one node. */
  readonly pollIntervalMs: number;
  /** Deadline of one poll of a secondary (all its requests together). */
  readonly pollTimeoutMs: number;
  /** Entries kept per node. */
  readonly tailSize: number;
  /** Least time between two states sent to the pages. */
  readonly minBroadcastIntervalMs: number;
  /** Characters of a message shown; longer ones are cut. */
  readonly maxMessageChars: number;
  /** How often a secondary whose fault injection could not be told is asked again. */
  readonly faultsRecheckMs: number;
}

export const DEFAULT_HUB_OPTIONS: HubOptions = {
  pollIntervalMs: 300,
  pollTimeoutMs: 1000,
  tailSize: 30,
  minBroadcastIntervalMs: 250,
  maxMessageChars: 240,
  faultsRecheckMs: 5000,
};

/** Cap on a `/health` or `/admin/faults` answer: a few hundred bytes in practice. */
const SMALL_ANSWER_BYTES = 64 * 1024;

export interface DashboardHubDeps {
  readonly master: DashboardMaster;
  readonly call: CallSecondary;
  readonly logger: Logger;
  /** Every wait and every reading of the time: the poll schedule, deadlines and broadcasts. */
  readonly clock: Clock;
  /** The cluster's MAX_MESSAGE_BYTES, to bound what a log tail answer may weigh. */
  readonly maxMessageBytes: number;
  /** Whether the master runs with API_TOKEN; fixed for its life, so told once here. */
  readonly appendsNeedToken: boolean;
  /** Whether the cluster runs with CLUSTER_TOKEN (the fault buttons need it); fixed likewise. */
  readonly faultsNeedToken?: boolean;
  /** The master's recent replication (see replication-timeline.ts); none: no pictures. */
  readonly timeline?: { view(): TimelineView };
  readonly options?: Partial<HubOptions>;
}

/** A state, stamped with the clock, and its JSON, serialized once however many pages receive it. */
export interface HubSnapshot {
  readonly state: DashboardState;
  readonly json: string;
}

type Listener = (snapshot: HubSnapshot) => void;

interface Track {
  readonly name: string;
  readonly url: string;
  /** The log the kept tail was read from (see `readSecondaryHealth`). */
  logKey: string | undefined;
  /** The incarnation the fault settings were last asked of, and when. */
  faultsIncarnation: string | undefined;
  faultsAskedAtMs: number;
  inflight: Promise<void> | undefined;
  /** Cancels the wait before its next poll. */
  cancelTimer: (() => void) | undefined;
}

/**
 * The dashboard's view of the cluster, one per master. It polls only while at least one page
 * listens: the master's own health and log in process, each secondary over HTTP on its own
 * schedule, so that a secondary that answers nothing delays nobody else's updates. Listeners get
 * the state at once, then at every change, at most every `minBroadcastIntervalMs`.
 */
export class DashboardHub {
  readonly #deps: DashboardHubDeps;
  readonly #options: HubOptions;
  readonly #tracks: Track[];
  readonly #listeners = new Map<Listener, { sentVersion: number }>();
  #state: DashboardState;
  /** Bumped at every stop, so that polls of an earlier run schedule no further polls. */
  #generation = 0;
  #cancelMasterPolls: (() => void) | undefined;
  #cancelBroadcast: (() => void) | undefined;
  #lastBroadcastAtMs = -Infinity;
  #closed = false;

  constructor(deps: DashboardHubDeps) {
    this.#deps = deps;
    this.#options = { ...DEFAULT_HUB_OPTIONS, ...deps.options };
    const master = deps.master.health();
    this.#state = initialState(master, this.#options.tailSize, {
      appendsNeedToken: deps.appendsNeedToken,
      faultsNeedToken: deps.faultsNeedToken ?? false,
    });
    this.#tracks = master.secondaries.map((peer) => ({
      name: peer.name,
      url: peer.url,
      logKey: undefined,
      faultsIncarnation: undefined,
      faultsAskedAtMs: -Infinity,
      inflight: undefined,
      cancelTimer: undefined,
    }));
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** The current state, stamped with the clock's time now (the timeline's times are on it). */
  get snapshot(): HubSnapshot {
    const state = { ...this.#state, nowMs: this.#deps.clock.nowMs() };
    return { state, json: JSON.stringify(state) };
  }

  /**
   * Calls `listener` with the state now (the master's part fresh), then at every change until
   * the returned function is called. The first listener starts the polling, the last one to
   * leave stops it.
   */
  subscribe(listener: Listener): () => void {
    if (this.#closed) throw new Error('the dashboard hub is closed');
    this.#pollMaster();
    const snapshot = this.snapshot;
    this.#listeners.set(listener, { sentVersion: snapshot.state.version });
    if (this.#listeners.size === 1) this.#start();
    listener(snapshot);
    return () => {
      if (!this.#listeners.delete(listener)) return;
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /**
   * A fresh state for a one-off request: while pages listen, the polled one (at most a poll
   * interval old); otherwise one round of polls, each bounded by its deadline.
   */
  async refresh(): Promise<HubSnapshot> {
    if (this.#listeners.size === 0) {
      this.#pollMaster();
      await Promise.all(this.#tracks.map((track) => this.#pollOnce(track)));
    }
    return this.snapshot;
  }

  /** Records fault settings a secondary just answered to a change made through the master. */
  noteFaults(name: string, faults: FaultInjection): void {
    this.#update(withFaults(this.#state, name, faults));
  }

  /** Stops polling and forgets every listener; for the server's shutdown. */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#stop();
  }

  #start(): void {
    const generation = this.#generation;
    this.#cancelMasterPolls = repeatEvery(this.#deps.clock, this.#options.pollIntervalMs, () => {
      this.#pollMaster();
    });
    for (const track of this.#tracks) this.#loop(track, generation);
  }

  #stop(): void {
    this.#generation += 1;
    this.#cancelMasterPolls?.();
    this.#cancelBroadcast?.();
    this.#cancelMasterPolls = undefined;
    this.#cancelBroadcast = undefined;
    for (const track of this.#tracks) {
      track.cancelTimer?.();
      track.cancelTimer = undefined;
    }
  }

  #loop(track: Track, generation: number): void {
    void this.#pollOnce(track).then(() => {
      if (generation !== this.#generation) return;
      track.cancelTimer = this.#deps.clock.schedule(this.#options.pollIntervalMs, () => {
        track.cancelTimer = undefined;
        this.#loop(track, generation);
      });
    });
  }

  /** One poll of a secondary; a poll already under way is joined rather than doubled. */
  #pollOnce(track: Track): Promise<void> {
    track.inflight ??= this.#pollSecondary(track)
      .catch((error: unknown) => {
        // Only a bug of ours lands here (every failure of the secondary is a sample).
        this.#deps.logger.error(
          { event: 'dashboard-poll-failed', peer: track.name, err: error },
          `dashboard poll of ${track.name} failed`,
        );
      })
      .finally(() => {
        track.inflight = undefined;
      });
    return track.inflight;
  }

  #pollMaster(): void {
    const { master } = this.#deps;
    const health = master.health();
    const tail = this.#state.master.tail;
    const wanted = tailRequest(tail, health.log.lastId, this.#options.tailSize);
    const read =
      wanted === undefined
        ? []
        : master
            .read(wanted.sinceId, wanted.limit)
            .map((entry) => toTailEntry(entry, this.#options.maxMessageChars));
    const next = withMaster(this.#state, health, mergeTail(tail, read, this.#options.tailSize));
    this.#update({ ...next, timeline: this.#deps.timeline?.view() ?? null });
  }

  async #pollSecondary(track: Track): Promise<void> {
    const sample = await this.#sampleSecondary(track).catch((error: unknown): SecondarySample => ({
      kind: 'unreachable',
      error: error instanceof Error ? error.message : String(error),
    }));
    const before = this.#viewOf(track.name).reach;
    if (sample.kind === 'unreachable' && before !== 'unreachable') {
      this.#deps.logger.debug(
        { event: 'dashboard-peer-unreachable', peer: track.name, error: sample.error },
        `dashboard cannot reach ${track.name}: ${sample.error}`,
      );
    }
    this.#update(withSecondary(this.#state, track.name, sample));
  }

  async #sampleSecondary(track: Track): Promise<SecondarySample> {
    const { tailSize, maxMessageChars, pollTimeoutMs, faultsRecheckMs } = this.#options;
    const { clock } = this.#deps;
    const deadlineMs = clock.nowMs() + pollTimeoutMs;
    const get = async (path: string, maxBytes: number) =>
      this.#deps.call(track.url, {
        method: 'GET',
        path,
        // Whole milliseconds: the clock's are fractional, AbortSignal.timeout takes integers.
        timeoutMs: Math.max(1, Math.ceil(deadlineMs - clock.nowMs())),
        deadlineMs: pollTimeoutMs,
        maxBytes,
      });
    const ok = async (path: string, maxBytes: number): Promise<string> => {
      const answer = await get(path, maxBytes);
      if (answer.status !== 200)
        throw new Error(`GET ${path.split('?')[0]} answered ${answer.status}`);
      return answer.text;
    };

    const health = readSecondaryHealth(await ok('/health', SMALL_ANSWER_BYTES));
    const view = this.#viewOf(track.name);
    let tail = keptTail(view.tail, track.logKey === health.logKey, health.lastId);
    track.logKey = health.logKey;
    const wanted = tailRequest(tail, health.lastId, tailSize);
    if (wanted !== undefined) {
      const text = await ok(
        `/logs?since=${wanted.sinceId}&limit=${wanted.limit}`,
        this.#maxTailBytes(wanted.limit),
      );
      tail = mergeTail(tail, readEntries(text, maxMessageChars), tailSize);
    }

    let faults = view.faults;
    const nowMs = clock.nowMs();
    const sameIncarnation = track.faultsIncarnation === health.incarnation;
    if (shouldAskFaults(faults, sameIncarnation, nowMs - track.faultsAskedAtMs, faultsRecheckMs)) {
      const answer = await get(FAULTS_PATH, SMALL_ANSWER_BYTES);
      faults = readFaults(answer.status, answer.text);
      track.faultsIncarnation = health.incarnation;
      track.faultsAskedAtMs = nowMs;
    }
    return { kind: 'reachable', lastId: health.lastId, pending: health.pending, tail, faults };
  }

  /** The most a `limit`-entry read can weigh: every byte of every message escaped as \u00XX. */
  #maxTailBytes(limit: number): number {
    return limit * (6 * this.#deps.maxMessageBytes + 64) + 2;
  }

  #viewOf(name: string): DashboardState['secondaries'][number] {
    const view = this.#state.secondaries.find((candidate) => candidate.name === name);
    if (view === undefined) throw new Error(`the dashboard has no secondary ${name}`);
    return view;
  }

  #update(next: DashboardState): void {
    const advanced = advance(this.#state, next);
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
