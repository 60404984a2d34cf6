import { assert } from './assert.js';
import type { Entry, LogIdentity } from './entry.js';

export type ReplicateOutcome =
  | { readonly kind: 'accepted'; readonly append: readonly Entry[] }
  | { readonly kind: 'rejected'; readonly code: RejectCode; readonly message: string };

export type RejectCode = 'LOG_ID_MISMATCH' | 'STALE_EPOCH' | 'ENTRY_CONFLICT' | 'INVALID_BATCH';

export interface ReplicateBatch {
  readonly logId: string;
  readonly epoch: number;
  readonly entries: readonly Entry[];
  /** With failover: the sending master's name and commit point, and the keys of its appends. */
  readonly failover?: FailoverStamp;
}

/** What a failover master adds to a batch or heartbeat (absent with the fixed master). */
export interface FailoverStamp {
  readonly from: string;
  readonly commitId: number;
  /**
   * The master's last id when its epoch began: a follower takes the epoch as its accepted one
   * (and its acknowledgements count) only once it holds at least this much of the master's log.
   */
  readonly startId: number;
  /** The URL clients reach the master at (its ADVERTISED_URL), for 421 answers elsewhere. */
  readonly url?: string;
  /** `[key, firstId, count]` of the keyed appends that start in the batch. */
  readonly keys?: readonly (readonly [string, number, number])[];
}

/**
 * The secondary's side of replication: which log it belongs to, its gap-free prefix (1..hwm) and
 * entries that arrived after a gap, held back until the gap is filled. Deciding what to store is
 * pure; the caller stores `append` and then calls `stored`.
 */
export class ReplicaLog {
  #identity: LogIdentity | undefined;
  #hwm: number;
  /** Entries beyond hwm + 1, by id; never shown, never counted as held. */
  readonly #pending = new Map<number, Entry>();
  /** The last id `receive` handed out to be stored; `stored` may not go beyond it. */
  #acceptedUpTo: number;

  constructor(
    identity: LogIdentity | undefined,
    hwm: number,
    private readonly maxPendingEntries: number,
  ) {
    assert(hwm === 0 || identity !== undefined, 'a non-empty replica log has an identity');
    this.#identity = identity;
    this.#hwm = hwm;
    this.#acceptedUpTo = hwm;
  }

  get identity(): LogIdentity | undefined {
    return this.#identity;
  }

  get hwm(): number {
    return this.#hwm;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Decides what a replication batch changes. `existing(id)` reads an entry already held, to check
   * that a duplicate is really the same entry (agreement) rather than silently dropping it.
   */
  receive(batch: ReplicateBatch, existing: (id: number) => Entry | undefined): ReplicateOutcome {
    const identity = this.#identity;
    if (identity !== undefined && identity.logId !== batch.logId) {
      if (this.#hwm > 0) {
        return {
          kind: 'rejected',
          code: 'LOG_ID_MISMATCH',
          message: `this secondary holds entries 1..${this.#hwm} of log ${identity.logId}, not of log ${batch.logId}; restart it with an empty log to join log ${batch.logId}`,
        };
      }
      // Nothing was ever shown from the old log, so joining the new one hides nothing.
    }
    if (identity?.logId === batch.logId && batch.epoch < identity.epoch) {
      return {
        kind: 'rejected',
        code: 'STALE_EPOCH',
        message: `replication from epoch ${batch.epoch} refused: this secondary follows epoch ${identity.epoch}`,
      };
    }
    // Pending entries of the log being left behind are dropped below, so they are not compared.
    const joining = identity !== undefined && identity.logId !== batch.logId;
    // Check every entry before changing anything, so that a rejected batch leaves no trace.
    for (const entry of batch.entries) {
      const held =
        entry.id <= this.#hwm
          ? existing(entry.id)
          : joining
            ? undefined
            : this.#pending.get(entry.id);
      if (held !== undefined && held.message !== entry.message) {
        return {
          kind: 'rejected',
          code: 'ENTRY_CONFLICT',
          message: `entry ${entry.id} differs from the one this secondary holds; the logs diverged`,
        };
      }
    }
    if (joining) this.#pending.clear();
    if (identity?.logId !== batch.logId || batch.epoch > identity.epoch) {
      this.#identity = { logId: batch.logId, epoch: batch.epoch };
    }
    const inOrder = this.#inOrderTail(batch.entries);
    if (inOrder !== undefined) {
      this.#acceptedUpTo = Math.max(this.#acceptedUpTo, inOrder[inOrder.length - 1]?.id ?? 0);
      return { kind: 'accepted', append: inOrder };
    }
    for (const entry of batch.entries) {
      if (entry.id <= this.#hwm || entry.id > this.#hwm + this.maxPendingEntries) continue;
      this.#pending.set(entry.id, entry);
    }

    // What now continues the prefix is handed to the caller to store; it is no longer pending.
    const append: Entry[] = [];
    for (let id = this.#hwm + 1; ; id++) {
      const entry = this.#pending.get(id);
      if (entry === undefined) break;
      this.#pending.delete(id);
      append.push(entry);
    }
    this.#acceptedUpTo = Math.max(this.#acceptedUpTo, append[append.length - 1]?.id ?? 0);
    return { kind: 'accepted', append };
  }

  /**
   * The common case, without a detour through the pending map: nothing is pending and the batch
   * is consecutive and continues the gap-free prefix. Then what to store is the batch's tail past
   * hwm. Undefined when the general path must decide.
   */
  #inOrderTail(entries: readonly Entry[]): readonly Entry[] | undefined {
    const first = entries[0];
    if (this.#pending.size > 0 || first === undefined || first.id > this.#hwm + 1) return undefined;
    for (let index = 1; index < entries.length; index++) {
      if (entries[index]!.id !== first.id + index) return undefined;
    }
    const skip = this.#hwm + 1 - first.id;
    return skip === 0 ? entries : entries.slice(skip);
  }

  /** The entries `receive` returned are now stored: the visible prefix grows to `toId`. */
  stored(toId: number): void {
    assert(toId >= this.#hwm, `stored up to ${toId} below hwm ${this.#hwm}`);
    assert(
      toId <= this.#acceptedUpTo,
      `stored up to ${toId}, but only ${this.#acceptedUpTo} was accepted`,
    );
    if (this.#pending.size > 0) {
      for (let id = this.#hwm + 1; id <= toId; id++) this.#pending.delete(id);
    }
    this.#hwm = toId;
  }
}
