import type { Entry } from '../../core/entry.js';
import type { KeyedRange } from '../shared-store.js';

/**
 * One truncation of a node's log (F3): the entries it discarded because a new master's log does
 * not hold them, with the idempotency keys they were appended with, for an operator to replay.
 */
export interface Rollback {
  /** When it happened (the node's clock, ms since the Unix epoch in production). */
  readonly atMs: number;
  /** The epoch of the master whose log the node took instead. */
  readonly epoch: number;
  readonly master: string;
  readonly fromId: number;
  readonly toId: number;
  readonly entries: readonly Entry[];
  readonly keys: readonly KeyedRange[];
}

/** Where rollbacks are kept beyond the process: DATA_DIR/rollbacks.jsonl in production. */
export interface RollbackStore {
  /**
   * The newest kept, oldest first, at most `limit` entries' worth, as RollbackList bounds them:
   * the newest is listed even when it alone is over `limit`.
   */
  load(limit: number): Promise<Rollback[]>;
  /** Resolves once `rollback` is durable. */
  append(rollback: Rollback): Promise<void>;
}

/** The most discarded entries `GET /admin/rollbacks` lists (the oldest are dropped first). */
export const MAX_LISTED_ROLLBACK_ENTRIES = 10_000;

/** The rollbacks a node lists: bounded by their entries, oldest dropped first. */
export class RollbackList {
  #rollbacks: Rollback[] = [];
  #entries = 0;
  #total = 0;

  constructor(private readonly maxEntries: number = MAX_LISTED_ROLLBACK_ENTRIES) {}

  /** Entries discarded by this process and those before it (as far as the list remembers). */
  get totalEntries(): number {
    return this.#total;
  }

  add(rollback: Rollback): void {
    this.#rollbacks.push(rollback);
    this.#entries += rollback.entries.length;
    this.#total += rollback.entries.length;
    while (this.#entries > this.maxEntries && this.#rollbacks.length > 1) {
      const oldest = this.#rollbacks.shift();
      this.#entries -= oldest?.entries.length ?? 0;
    }
  }

  list(): readonly Rollback[] {
    return this.#rollbacks;
  }
}

/** A store that keeps nothing (the simulator keeps its own record). */
export const MEMORY_ROLLBACKS: RollbackStore = {
  load: () => Promise.resolve([]),
  append: () => Promise.resolve(),
};
