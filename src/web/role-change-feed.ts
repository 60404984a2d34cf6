import type { Clock } from '../adapters/clock.js';
import type { FailoverObserver, RoleChange } from '../node/failover/failover-node.js';
import type { Rollback } from '../node/failover/rollbacks.js';
import type { SelfRoleChange } from './cluster-state.js';

/** A role change and when it happened, on the feed's clock. */
export interface TimedRoleChange {
  readonly atMs: number;
  readonly change: SelfRoleChange;
}

type Listener = (timed: TimedRoleChange) => void;

/**
 * A failover node's role changes for its dashboard. The node is built with its observers before
 * the dashboard exists, and its first change (leading epoch 1) can come at start: the feed keeps
 * the last `keep` changes, which a listener gets first, then each new one.
 */
export class RoleChangeFeed implements FailoverObserver {
  readonly #kept: TimedRoleChange[] = [];
  readonly #listeners = new Set<Listener>();

  constructor(
    private readonly clock: Clock,
    private readonly keep = 50,
  ) {}

  roleChanged(change: RoleChange): void {
    const timed = { atMs: this.clock.nowMs(), change };
    this.#kept.push(timed);
    if (this.#kept.length > this.keep) this.#kept.shift();
    for (const listener of this.#listeners) listener(timed);
  }

  /** Calls `listener` with each kept change, oldest first, then with every new one. */
  subscribe(listener: Listener): () => void {
    for (const timed of this.#kept) listener(timed);
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}

/** One observer that tells two: the metrics and the dashboard's feed. */
export function observeFailoverBoth(
  first: FailoverObserver,
  second: FailoverObserver,
): FailoverObserver {
  return {
    roleChanged(change: RoleChange) {
      first.roleChanged?.(change);
      second.roleChanged?.(change);
    },
    rolledBack(rollback: Rollback) {
      first.rolledBack?.(rollback);
      second.rolledBack?.(rollback);
    },
  };
}
