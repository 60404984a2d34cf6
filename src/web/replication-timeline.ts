import type { Clock } from '../adapters/clock.js';
import type { CoreEvent } from '../core/master-core.js';
import type { AppendOutcome, BatchSent, MasterObserver } from '../node/master-metrics.js';
import { BucketSeries } from './bucket-series.js';
import { Ring } from './ring.js';
import type { InflightBatch, TimelineEvent, TimelineView } from './client/dashboard-wire.js';

export interface TimelineOptions {
  /** How far back the diagram's events reach. */
  readonly windowMs: number;
  /** Events kept at most, however busy the master: the oldest go first. */
  readonly maxEvents: number;
  /**
   * Unanswered batches kept per secondary: the oldest go first (their replies still come, as
   * events). The master's window (MAX_INFLIGHT_BATCHES, 4 by default) keeps it that low.
   */
  readonly maxInflightPerPeer: number;
  /** Seconds of the chart. */
  readonly chartSeconds: number;
  /** Least time between two readings of the secondaries' lag. */
  readonly lagSampleMs: number;
}

export const DEFAULT_TIMELINE_OPTIONS: TimelineOptions = {
  windowMs: 10_000,
  maxEvents: 400,
  maxInflightPerPeer: 8,
  chartSeconds: 60,
  lagSampleMs: 250,
};

const BUCKET_MS = 1000;
/** Append outcomes that stored entries: what the chart counts. */
const STORED_OUTCOMES: ReadonlySet<AppendOutcome> = new Set(['created', 'timeout']);

/** What the timeline reads of the master: each secondary's lag, now. */
export type LagSource = () => readonly { readonly name: string; readonly lag: number }[];

/** The time an event ends: what its age in the window is measured by. */
function endOf(event: TimelineEvent): number {
  return event.kind === 'append' || event.kind === 'batch' ? event.endMs : event.atMs;
}

/**
 * The master's recent replication, as the dashboard draws it: a bounded list of what happened
 * (appends, batches and their replies, heartbeats, health changes) and of the batches still on
 * their way, for the space-time diagram, and per-second series (appends, each secondary's lag)
 * for the chart. It is one of the master's observers; it keeps no timer, and memory stays within
 * `maxEvents` events, `maxInflightPerPeer` batches per secondary and `chartSeconds` buckets per
 * series.
 */
export class ReplicationTimeline implements MasterObserver {
  readonly #options: TimelineOptions;
  /** The newest `maxEvents` events; those older than the window are dropped when viewed. */
  readonly #events: Ring<TimelineEvent>;
  readonly #appends: BucketSeries;
  readonly #lags = new Map<string, BucketSeries>();
  /** When the last failed batch to each secondary ended: the next one sent is a retry. */
  readonly #failedAtMs = new Map<string, number>();
  /** Each secondary's batches sent and not answered yet, oldest first. */
  readonly #inflight = new Map<string, InflightBatch[]>();
  #lagSampledAtMs = -Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly lags: LagSource,
    options: Partial<TimelineOptions> = {},
  ) {
    this.#options = { ...DEFAULT_TIMELINE_OPTIONS, ...options };
    const { maxEvents, maxInflightPerPeer, chartSeconds } = this.#options;
    if (!Number.isInteger(maxEvents) || maxEvents < 1) {
      throw new Error(`timeline maxEvents is ${maxEvents}; pass a whole number >= 1`);
    }
    if (!Number.isInteger(maxInflightPerPeer) || maxInflightPerPeer < 1) {
      throw new Error(
        `timeline maxInflightPerPeer is ${maxInflightPerPeer}; pass a whole number >= 1`,
      );
    }
    this.#events = new Ring(maxEvents);
    this.#appends = new BucketSeries(BUCKET_MS, chartSeconds, (held, sample) => held + sample);
  }

  appendEnded(outcome: AppendOutcome, w: number | undefined, durationMs: number): void {
    // Without a w the request was refused before anything happened (an invalid write concern).
    if (w === undefined) return;
    const nowMs = this.clock.nowMs();
    const startMs = nowMs - durationMs;
    if (STORED_OUTCOMES.has(outcome)) this.#appends.add(startMs, 1, nowMs);
    this.#push({ kind: 'append', startMs, endMs: nowMs, w, outcome });
  }

  replicationStarted(peer: string, batch: BatchSent): void {
    let sent = this.#inflight.get(peer);
    if (sent === undefined) {
      sent = [];
      this.#inflight.set(peer, sent);
    }
    const { sendNo, firstId, lastId, entries } = batch;
    const retry = this.#failedAtMs.has(peer);
    sent.push({ peer, sendNo, startMs: this.clock.nowMs(), retry, entries, firstId, lastId });
    const over = sent.length - this.#options.maxInflightPerPeer;
    if (over > 0) sent.splice(0, over);
  }

  replicationEnded(
    peer: string,
    ok: boolean,
    entries: number,
    durationMs: number,
    batch: BatchSent,
  ): void {
    const nowMs = this.clock.nowMs();
    const startMs = nowMs - durationMs;
    const failedAtMs = this.#failedAtMs.get(peer);
    const retry = failedAtMs !== undefined && startMs >= failedAtMs;
    if (!ok) this.#failedAtMs.set(peer, nowMs);
    else if (retry) this.#failedAtMs.delete(peer);
    this.#forget(peer, (sent) => sent.sendNo === batch.sendNo);
    const { firstId, lastId } = batch;
    this.#push({ kind: 'batch', peer, startMs, endMs: nowMs, ok, retry, entries, firstId, lastId });
  }

  probeEnded(peer: string, answered: boolean): void {
    this.#push({ kind: 'heartbeat', peer, atMs: this.clock.nowMs(), answered });
  }

  coreEvent(event: CoreEvent): void {
    // A new process answers: what was sent to the old one is not on its way to anyone any more.
    if (event.kind === 'peer-restarted') this.#forget(event.peer, () => true);
    else if (event.kind === 'health-changed')
      this.#push({ kind: 'health', peer: event.peer, atMs: this.clock.nowMs(), to: event.to });
  }

  /** The diagram's events of the last `windowMs` and the chart's last `chartSeconds`. */
  view(): TimelineView {
    const nowMs = this.clock.nowMs();
    this.#sampleLags(nowMs);
    this.#prune(nowMs);
    return {
      windowMs: this.#options.windowMs,
      events: this.#events.toArray(),
      inflight: [...this.#inflight.values()].flat(),
      chart: {
        bucketMs: BUCKET_MS,
        lastBucketStartMs: this.#appends.currentStartMs(nowMs),
        appends: this.#appends.values(nowMs, 'zero').map((value) => value ?? 0),
        lags: [...this.#lags].map(([name, series]) => ({
          name,
          values: series.values(nowMs, 'previous'),
        })),
      },
    };
  }

  /** Drops a secondary's unanswered batches that `which` picks. */
  #forget(peer: string, which: (sent: InflightBatch) => boolean): void {
    const sent = this.#inflight.get(peer);
    if (sent === undefined) return;
    // The list stays, empty: one per secondary (they come from the configuration), in the
    // order they were first sent to, so the view's order does not change with every reply.
    this.#inflight.set(
      peer,
      sent.filter((batch) => !which(batch)),
    );
  }

  /**
   * Once per append under load: the ring overwrites its oldest event, so nothing is copied or
   * scanned here; the window is applied when the view is built.
   */
  #push(event: TimelineEvent): void {
    this.#events.push(event);
    this.#sampleLags(this.clock.nowMs());
  }

  /** Events end in the order they are pushed (at the clock's now): the old ones are first. */
  #prune(nowMs: number): void {
    const oldestEndMs = nowMs - this.#options.windowMs;
    this.#events.dropOldestWhile((event) => endOf(event) < oldestEndMs);
  }

  /** Reads the lags at most every `lagSampleMs`: each event would be too often under load. */
  #sampleLags(nowMs: number): void {
    if (nowMs - this.#lagSampledAtMs < this.#options.lagSampleMs) return;
    this.#lagSampledAtMs = nowMs;
    for (const { name, lag } of this.lags()) {
      let series = this.#lags.get(name);
      if (series === undefined) {
        series = new BucketSeries(BUCKET_MS, this.#options.chartSeconds, Math.max);
        this.#lags.set(name, series);
      }
      series.add(nowMs, lag, nowMs);
    }
  }
}

/** One observer that tells two: the metrics and the dashboard's timeline. */
export function observeBoth(first: MasterObserver, second: MasterObserver): MasterObserver {
  return {
    appendEnded(outcome, w, durationMs) {
      first.appendEnded(outcome, w, durationMs);
      second.appendEnded(outcome, w, durationMs);
    },
    replicationStarted(peer, batch) {
      first.replicationStarted?.(peer, batch);
      second.replicationStarted?.(peer, batch);
    },
    replicationEnded(peer, ok, entries, durationMs, batch) {
      first.replicationEnded(peer, ok, entries, durationMs, batch);
      second.replicationEnded(peer, ok, entries, durationMs, batch);
    },
    probeEnded(peer, answered) {
      first.probeEnded(peer, answered);
      second.probeEnded(peer, answered);
    },
    coreEvent(event) {
      first.coreEvent?.(event);
      second.coreEvent?.(event);
    },
  };
}
