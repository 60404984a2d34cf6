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
    },
    maxWaiters: tuning.maxWaitingAppends,
  };
}
