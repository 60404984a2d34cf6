import type { Clock } from '../adapters/clock.js';
import type { CoreEvent } from '../core/master-core.js';
import type { AppendOutcome, MasterObserver } from '../node/master-metrics.js';
import { BucketSeries } from './bucket-series.js';
import type { TimelineEvent, TimelineView } from './client/dashboard-wire.js';

export interface TimelineOptions {
  /** How far back the diagram's events reach. */
  readonly windowMs: number;
  /** Events kept at most, however busy the master: the oldest go first. */
  readonly maxEvents: number;
  /** Seconds of the chart. */
  readonly chartSeconds: number;
  /** Least time between two readings of the secondaries' lag. */
  readonly lagSampleMs: number;
}

export const DEFAULT_TIMELINE_OPTIONS: TimelineOptions = {
  windowMs: 10_000,
  maxEvents: 400,
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
 * (appends, batches and their replies, heartbeats, health changes) for the space-time diagram,
 * and per-second series (appends, each secondary's lag) for the chart. It is one of the master's
 * observers; it keeps no timer, and memory stays within `maxEvents` events and `chartSeconds`
 * buckets per series.
 */
export class ReplicationTimeline implements MasterObserver {
  readonly #options: TimelineOptions;
  readonly #events: TimelineEvent[] = [];
  readonly #appends: BucketSeries;
  readonly #lags = new Map<string, BucketSeries>();
  /** When the last failed batch to each secondary ended: the next one sent is a retry. */
  readonly #failedAtMs = new Map<string, number>();
  #lagSampledAtMs = -Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly lags: LagSource,
    options: Partial<TimelineOptions> = {},
  ) {
    this.#options = { ...DEFAULT_TIMELINE_OPTIONS, ...options };
    const { maxEvents, chartSeconds } = this.#options;
    if (!Number.isInteger(maxEvents) || maxEvents < 1) {
      throw new Error(`timeline maxEvents is ${maxEvents}; pass a whole number >= 1`);
    }
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

  replicationEnded(peer: string, ok: boolean, entries: number, durationMs: number): void {
    const nowMs = this.clock.nowMs();
    const startMs = nowMs - durationMs;
    const failedAtMs = this.#failedAtMs.get(peer);
    const retry = failedAtMs !== undefined && startMs >= failedAtMs;
    if (!ok) this.#failedAtMs.set(peer, nowMs);
    else if (retry) this.#failedAtMs.delete(peer);
    this.#push({ kind: 'batch', peer, startMs, endMs: nowMs, ok, retry, entries });
  }

  probeEnded(peer: string, answered: boolean): void {
    this.#push({ kind: 'heartbeat', peer, atMs: this.clock.nowMs(), answered });
  }

  coreEvent(event: CoreEvent): void {
    if (event.kind !== 'health-changed') return;
    this.#push({ kind: 'health', peer: event.peer, atMs: this.clock.nowMs(), to: event.to });
  }

  /** The diagram's events of the last `windowMs` and the chart's last `chartSeconds`. */
  view(): TimelineView {
    const nowMs = this.clock.nowMs();
    this.#sampleLags(nowMs);
    this.#prune(nowMs);
    return {
      windowMs: this.#options.windowMs,
      events: [...this.#events],
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

  #push(event: TimelineEvent): void {
    const nowMs = this.clock.nowMs();
    this.#events.push(event);
    this.#prune(nowMs);
    this.#sampleLags(nowMs);
  }

  #prune(nowMs: number): void {
    const { windowMs, maxEvents } = this.#options;
    let drop = Math.max(0, this.#events.length - maxEvents);
    while (drop < this.#events.length) {
      const event = this.#events[drop];
      if (event === undefined || endOf(event) >= nowMs - windowMs) break;
      drop += 1;
    }
    if (drop > 0) this.#events.splice(0, drop);
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
    replicationEnded(peer, ok, entries, durationMs) {
      first.replicationEnded(peer, ok, entries, durationMs);
      second.replicationEnded(peer, ok, entries, durationMs);
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
