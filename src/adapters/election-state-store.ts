import type { ElectionState } from '../core/election-state.js';

export type { ElectionState };

/**
 * The durable election state of one failover node (core/election-state.ts says what it holds).
 *
 * - `load()` returns what the node stored, or the fresh state (epoch 0, no vote, acceptedEpoch 0)
 *   when it never stored anything. It refuses (StorageError `STORAGE_CORRUPT`, or InvariantError
 *   for a well-formed state that breaks an invariant) rather than start from a state it cannot
 *   trust: never a silent reset to epoch 0. Call it once before the first `save`.
 * - `save(state)` resolves once `state` is durable: a crash after that finds it. That is what
 *   makes a vote safe to send. A crash before that finds the previous state or this one, whole,
 *   never a mix. Saves are applied in call order. Each is checked (checkTransition) against the
 *   last state loaded or passed to `save` - even one whose save failed, since it may be on disk -
 *   and rejected with InvariantError, storing nothing, if it lowers an epoch or changes a vote.
 */
export interface ElectionStateStore {
  load(): Promise<ElectionState>;
  save(state: ElectionState): Promise<void>;
}
