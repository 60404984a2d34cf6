import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { NodeConfig } from '../config/config.js';

/**
 * prom-client's gauges that end in `_total`, which Prometheus keeps for counters (`promtool check
 * metrics` refuses them). Each is the sum of the same name without the suffix, which is kept:
 * `sum(nodejs_active_handles)` and so on.
 */
const GAUGES_NAMED_AS_COUNTERS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * What every node exports at `GET /metrics`: its identity, the Node.js process metrics under
 * their usual names (`process_*`, `nodejs_*`, so that existing dashboards work; less the gauges
 * named as counters above) and the time each fsync of the log takes. Master and secondary add
 * their own metrics to the same registry.
 *
 * Each node has a registry of its own (never prom-client's global one), so that several nodes in
 * one process, as in tests, do not mix their figures.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly #fsyncSeconds: Histogram;

  /** `role`: master, secondary, or failover (a node that can be either). */
  constructor(name: string, role: NodeConfig['role']) {
    collectDefaultMetrics({ register: this.registry });
    for (const name of GAUGES_NAMED_AS_COUNTERS) this.registry.removeSingleMetric(name);
    const info = new Gauge({
      name: 'rlog_node_info',
      help: 'Always 1; the labels name this node and its role.',
      labelNames: ['node', 'role'],
      registers: [this.registry],
    });
    info.set({ node: name, role }, 1);
    this.#fsyncSeconds = new Histogram({
      name: 'rlog_fsync_duration_seconds',
      help: 'Time each fsync of the log file took (only with DATA_DIR and FSYNC other than never).',
      // From a fast NVMe flush to a struggling network disk.
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    });
  }

  /** For `FileLogStore`'s `onFsync`. */
  readonly fsyncObserved = (durationMs: number): void => {
    this.#fsyncSeconds.observe(durationMs / 1000);
  };

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Latency buckets for appends and replication round trips: sub-millisecond to a long w wait. */
export const LATENCY_BUCKETS_S = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
