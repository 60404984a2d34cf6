import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { HEALTH_STATES } from '../core/health.js';
import type { CoreEvent, PeerSnapshot } from '../core/master-core.js';
import type { MasterHealth } from './master-node.js';
import { LATENCY_BUCKETS_S, type NodeMetrics } from './metrics.js';

/**
 * How an append ended: `created`, `replayed` (by idempotency key), `timeout` (stored, w not
 * reached within timeoutMs), or the error code of a refusal in lower case (`read_only`,
 * `overloaded`, `invalid_request`, `storage_unavailable`, ...).
 */
export type AppendOutcome = string;

/**
 * A replication request as the master sends it to one secondary: the entries `firstId..lastId`
 * (`entries` of them; none when `lastId` is `firstId - 1`: the request asks for the secondary's
 * high-water mark). `sendNo` numbers the requests to that secondary, in the order sent.
 */
export interface BatchSent {
  readonly sendNo: number;
  readonly firstId: number;
  readonly lastId: number;
  readonly entries: number;
}

/** What the master tells its observer; the metrics are one, tests may bring another. */
export interface MasterObserver {
  appendEnded(outcome: AppendOutcome, w: number | undefined, durationMs: number): void;
  /** A replication request sent; its `replicationEnded` follows with the same `batch`. */
  replicationStarted?(peer: string, batch: BatchSent): void;
  /** A replication request answered (`ok`) or failed (it will be sent again after a backoff). */
  replicationEnded(
    peer: string,
    ok: boolean,
    entries: number,
    durationMs: number,
    batch: BatchSent,
  ): void;
  probeEnded(peer: string, answered: boolean): void;
  /** Every event of the master's core, as the node handles it (the simulator checks them). */
  coreEvent?(event: CoreEvent): void;
}

export interface MasterMetricsSource {
  health(): MasterHealth;
  readonly storeWritesInFlight: number;
}

/** A gauge read from the master when scraped: `collect` sets its values from what it tells. */
interface GaugeSpec {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly collect: (gauge: Gauge, node: MasterMetricsSource) => void;
}

/** A gauge with one value per secondary, labelled with its name. */
function perSecondary(
  name: string,
  help: string,
  value: (peer: PeerSnapshot) => number,
): GaugeSpec {
  return {
    name,
    help,
    labelNames: ['secondary'],
    collect: (gauge, node) => {
      for (const peer of node.health().secondaries)
        gauge.set({ secondary: peer.name }, value(peer));
    },
  };
}

/** The master's gauges, registered (and so listed by `GET /metrics`) in this order. */
const GAUGES: readonly GaugeSpec[] = [
  {
    name: 'rlog_log_last_id',
    help: 'Id of the last entry in this node’s log.',
    labelNames: [],
    collect: (gauge, node) => {
      gauge.set(node.health().log.lastId);
    },
  },
  {
    name: 'rlog_read_only',
    help: '1 while the master refuses appends for lack of a quorum.',
    labelNames: [],
    collect: (gauge, node) => {
      gauge.set(node.health().readOnly ? 1 : 0);
    },
  },
  {
    name: 'rlog_quorum_nodes',
    help: 'Cluster size, nodes a quorum needs, and nodes counting towards it now (Healthy or Suspected, the master included).',
    labelNames: ['kind'],
    collect: (gauge, node) => {
      const { quorum } = node.health();
      gauge.set({ kind: 'size' }, quorum.size);
      gauge.set({ kind: 'required' }, quorum.required);
      gauge.set({ kind: 'healthy' }, quorum.healthy);
    },
  },
  {
    name: 'rlog_waiting_appends',
    help: 'Appends stored and waiting for their write concern (bounded by MAX_WAITING_APPENDS).',
    labelNames: [],
    collect: (gauge, node) => {
      gauge.set(node.health().waitingAppends);
    },
  },
  {
    name: 'rlog_store_writes_in_flight',
    help: 'Appends whose write to the master’s own store has not finished.',
    labelNames: [],
    collect: (gauge, node) => {
      gauge.set(node.storeWritesInFlight);
    },
  },
  perSecondary(
    'rlog_replication_lag_entries',
    'Entries the master holds that a secondary has not acknowledged.',
    (peer) => peer.lag,
  ),
  perSecondary(
    'rlog_secondary_acked_id',
    'Highest id up to which a secondary holds the log without gaps, as it last told the master.',
    (peer) => peer.ackedId,
  ),
  perSecondary(
    'rlog_replication_inflight_batches',
    'Replication batches sent to a secondary and not yet answered (the window).',
    (peer) => peer.inflightBatches,
  ),
  {
    name: 'rlog_secondary_health',
    help: 'The master’s view of each secondary: 1 for its current state, 0 for the others.',
    labelNames: ['secondary', 'state'],
    collect: (gauge, node) => {
      for (const peer of node.health().secondaries) {
        for (const state of HEALTH_STATES)
          gauge.set({ secondary: peer.name, state }, peer.status === state ? 1 : 0);
      }
    },
  },
  perSecondary(
    'rlog_secondary_last_contact_seconds',
    'Time since a secondary last answered (-1 until it first does).',
    (peer) => (peer.lastContactMs === null ? -1 : peer.lastContactMs / 1000),
  ),
];

/** Registers one of GAUGES, reset and set afresh from the master at each scrape. */
function registerGauge(
  spec: GaugeSpec,
  registers: Registry[],
  source: () => MasterMetricsSource,
): void {
  const { name, help, labelNames, collect } = spec;
  new Gauge({
    name,
    help,
    labelNames,
    registers,
    collect() {
      this.reset();
      collect(this, source());
    },
  });
}

/**
 * The master's metrics. Counters and histograms are updated as events happen; gauges (lag, health,
 * queue depths) are read from the master's health at scrape time, so they cost nothing between
 * scrapes and always agree with `GET /health`.
 */
export class MasterMetrics implements MasterObserver {
  readonly #appends: Counter<'outcome' | 'w'>;
  readonly #appendSeconds: Histogram<'w'>;
  readonly #batches: Counter<'secondary'>;
  readonly #retries: Counter<'secondary'>;
  readonly #replicatedEntries: Counter<'secondary'>;
  readonly #replicationSeconds: Histogram<'secondary'>;
  readonly #probes: Counter<'secondary' | 'result'>;
  // Label lookups hash their label set on every call; appends and batches are the hot path, so
  // each series is looked up once and kept. Both maps are bounded: outcomes and w values are a
  // small fixed set, secondaries come from the configuration.
  readonly #appendSeries = new Map<
    string,
    { count: Counter.Internal; seconds: Histogram.Internal<'w'> | undefined }
  >();
  readonly #peerSeries = new Map<
    string,
    {
      batches: Counter.Internal;
      retries: Counter.Internal;
      entries: Counter.Internal;
      seconds: Histogram.Internal<'secondary'>;
    }
  >();

  constructor(metrics: NodeMetrics, source: () => MasterMetricsSource) {
    const registers = [metrics.registry];
    this.#appends = new Counter({
      name: 'rlog_appends_total',
      help: 'Append requests that reached the master, by outcome (created, replayed, timeout, or the error code) and resolved w.',
      labelNames: ['outcome', 'w'],
      registers,
    });
    this.#appendSeconds = new Histogram({
      name: 'rlog_append_duration_seconds',
      help: 'Time from an append reaching the master to its answer, by resolved w.',
      labelNames: ['w'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.#batches = new Counter({
      name: 'rlog_replication_batches_total',
      help: 'Replication batches a secondary answered.',
      labelNames: ['secondary'],
      registers,
    });
    this.#retries = new Counter({
      name: 'rlog_replication_retries_total',
      help: 'Replication batches that failed (error, timeout, refused) and are sent again after a backoff.',
      labelNames: ['secondary'],
      registers,
    });
    this.#replicatedEntries = new Counter({
      name: 'rlog_replicated_entries_total',
      help: 'Entries carried by answered replication batches (a resent entry counts again).',
      labelNames: ['secondary'],
      registers,
    });
    this.#replicationSeconds = new Histogram({
      name: 'rlog_replication_duration_seconds',
      help: 'Round trip of a replication batch, sent to answered or failed.',
      labelNames: ['secondary'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.#probes = new Counter({
      name: 'rlog_heartbeats_total',
      help: 'Heartbeat probes, by result (answered, missed).',
      labelNames: ['secondary', 'result'],
      registers,
    });

    // Gauges are read from the node when scraped: nothing to keep up to date between scrapes.
    for (const spec of GAUGES) registerGauge(spec, registers, source);
  }

  appendEnded(outcome: AppendOutcome, w: number | undefined, durationMs: number): void {
    const key = `${outcome} ${w ?? 'none'}`;
    let series = this.#appendSeries.get(key);
    if (series === undefined) {
      const wLabel = w === undefined ? 'none' : String(w);
      series = {
        count: this.#appends.labels({ outcome, w: wLabel }),
        seconds: w === undefined ? undefined : this.#appendSeconds.labels({ w: wLabel }),
      };
      this.#appendSeries.set(key, series);
    }
    series.count.inc();
    series.seconds?.observe(durationMs / 1000);
  }

  replicationEnded(peer: string, ok: boolean, entries: number, durationMs: number): void {
    let series = this.#peerSeries.get(peer);
    if (series === undefined) {
      const labels = { secondary: peer };
      series = {
        batches: this.#batches.labels(labels),
        retries: this.#retries.labels(labels),
        entries: this.#replicatedEntries.labels(labels),
        seconds: this.#replicationSeconds.labels(labels),
      };
      this.#peerSeries.set(peer, series);
    }
    if (ok) {
      series.batches.inc();
      series.entries.inc(entries);
    } else {
      series.retries.inc();
    }
    series.seconds.observe(durationMs / 1000);
  }

  probeEnded(peer: string, answered: boolean): void {
    this.#probes.inc({ secondary: peer, result: answered ? 'answered' : 'missed' });
  }
}
