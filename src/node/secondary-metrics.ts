import { Counter, Gauge } from 'prom-client';
import type { NodeMetrics } from './metrics.js';
import type { SecondaryHealth, SecondaryObserver } from './secondary-node.js';

export interface SecondaryMetricsSource {
  health(): SecondaryHealth;
  readonly replicateRequestsInFlight: number;
}

/**
 * A secondary's metrics: replication requests by result and entries stored as they happen; its
 * log, the entries held behind a gap, the master's last contact and the request queue read from
 * the node at scrape time.
 */
export class SecondaryMetrics implements SecondaryObserver {
  readonly #requests: Counter<'result'>;
  readonly #storedEntries: Counter;

  constructor(metrics: NodeMetrics, source: () => SecondaryMetricsSource) {
    const registers = [metrics.registry];
    this.#requests = new Counter({
      name: 'rlog_replicate_requests_total',
      help: 'Replication batches received from the master, by result (ok; abandoned when the master stopped waiting during a partition; or the refusal’s error code such as log_id_mismatch, injected_error).',
      labelNames: ['result'],
      registers,
    });
    this.#storedEntries = new Counter({
      name: 'rlog_stored_entries_total',
      help: 'Replicated entries written to this node’s store.',
      registers,
    });
    const gauge = (name: string, help: string, read: (node: SecondaryMetricsSource) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(source()));
        },
      });
    gauge('rlog_log_last_id', 'Id of the last entry in this node’s log.', (node) => {
      return node.health().log.lastId;
    });
    gauge(
      'rlog_pending_entries',
      'Entries received ahead of a gap and held back until it is filled (bounded by MAX_PENDING_ENTRIES).',
      (node) => node.health().log.pending,
    );
    gauge(
      'rlog_replicate_requests_in_flight',
      'Requests from the master (replication, heartbeats) not answered yet: held by a partition, delayed, queued or being applied (at most 1024).',
      (node) => node.replicateRequestsInFlight,
    );
    gauge(
      'rlog_master_last_contact_seconds',
      'Time since the master last replicated or probed (-1 before its first contact).',
      (node) => {
        const lastContactMs = node.health().master.lastContactMs;
        return lastContactMs === null ? -1 : lastContactMs / 1000;
      },
    );
    gauge(
      'rlog_fault_partitioned',
      '1 while fault injection holds the master’s requests as a partition would.',
      (node) => (node.health().faults.partitioned ? 1 : 0),
    );
  }

  replicateEnded(result: string): void {
    this.#requests.inc({ result });
  }

  entriesStored(count: number): void {
    this.#storedEntries.inc(count);
  }
}
