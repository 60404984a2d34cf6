import type { MasterCoreConfig, PeerConfig } from './master-core.js';

/** The master's settings the core's policies are derived from (a subset of its configuration). */
export interface MasterTuning {
  readonly heartbeatIntervalMs: number;
  readonly suspectAfterMisses: number;
  readonly unhealthyAfterMisses: number;
  readonly maxInflightBatches: number;
  readonly maxBatchEntries: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly maxWaitingAppends: number;
}

/**
 * With failover, how long after its last request a follower that has every entry is sent a
 * commit point it lacks on its own. Sent at once, it cost two requests per append at one client
 * (the first follower's answer moves the commit point, the second's answer comes after): three
 * alternating pairs of `--clients 1,64 --scenarios w1,wall --mode failover`, w=all at 1 client
 * p50 0.71-0.79 against 0.94-0.95 ms, the master 490-510 against 690-720 µs per append. A client
 * that appends again within this long sends the commit point with its entries.
 */
export const COMMIT_ALONE_AFTER_MS = 2;

/**
 * Derives the core's policies from the master's settings. One function for the real master and
 * the simulator, so that what is simulated is exactly what runs.
 */
export function masterCoreConfig(
  peers: readonly PeerConfig[],
  tuning: MasterTuning,
): MasterCoreConfig {
  return {
    peers,
    health: {
      heartbeatIntervalMs: tuning.heartbeatIntervalMs,
      suspectAfterMisses: tuning.suspectAfterMisses,
      unhealthyAfterMisses: tuning.unhealthyAfterMisses,
    },
    replication: {
      maxInflightBatches: tuning.maxInflightBatches,
      // A quarter of a full batch: enough entries that a pipelined request pays for itself.
      pipelineMinEntries: Math.max(1, Math.floor(tuning.maxBatchEntries / 4)),
      backoff: { baseMs: tuning.retryBaseMs, maxMs: tuning.retryMaxMs },
      // Towards an Unhealthy secondary, retries slow to about the time it takes to be declared
      // Unhealthy; an answered probe brings it back at once (MasterCore retries on recovery).
      unhealthyBackoff: {
        baseMs: tuning.retryBaseMs,
        maxMs: Math.max(
          tuning.retryMaxMs,
          tuning.heartbeatIntervalMs * tuning.unhealthyAfterMisses,
        ),
      },
      commitAloneAfterMs: COMMIT_ALONE_AFTER_MS,
    },
    maxWaiters: tuning.maxWaitingAppends,
  };
}
