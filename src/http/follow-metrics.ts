import { Counter, Gauge, type Registry } from 'prom-client';

/** What the gauges read at scrape time. */
export interface FollowCounts {
  readonly streams: number;
  readonly polls: number;
}

/**
 * The followers' metrics, on the node's registry: open streams and waiting reads (read at scrape
 * time) and the readers cut off for not keeping up.
 */
export class FollowMetrics {
  readonly #slowReaders: Counter;

  constructor(registry: Registry, counts: () => FollowCounts) {
    const registers = [registry];
    new Gauge({
      name: 'rlog_follow_streams',
      help: 'Log streams (GET /logs/stream) open now; with the waiting reads, bounded by MAX_FOLLOWERS.',
      registers,
      collect() {
        this.set(counts().streams);
      },
    });
    new Gauge({
      name: 'rlog_follow_waiting_reads',
      help: 'Reads waiting for new entries (GET /logs?waitMs=) now; with the streams, bounded by MAX_FOLLOWERS.',
      registers,
      collect() {
        this.set(counts().polls);
      },
    });
    this.#slowReaders = new Counter({
      name: 'rlog_follow_slow_readers_disconnected_total',
      help: 'Log streams cut off because their reader took nothing for STREAM_KEEP_ALIVE_MS while MAX_STREAM_BUFFER_BYTES waited for it.',
      registers,
    });
  }

  slowReaderDisconnected(): void {
    this.#slowReaders.inc();
  }
}
