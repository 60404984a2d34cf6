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
  /**
   * Entries beyond hwm + 1, never shown, never counted as held: runs of consecutive ids, keyed by
   * their first id, none overlapping another. A batch that arrives out of order is kept as one
   * run, not entry by entry: catch-up batches of thousands arrive out of order half the time.
   */
  readonly #pending = new Map<number, readonly Entry[]>();
  #pendingCount = 0;
  /** The last id `receive` handed out to be stored; `stored` may not go beyond it. */
  #acceptedUpTo: number;

  /**
   * `hold` makes the copy of a run that stays pending: the caller's entries may be views of a
   * larger buffer (a secondary's are slices of the frame they came in), which a few held entries
   * must not keep alive whole. The identity by default.
   */
  constructor(
    identity: LogIdentity | undefined,
    hwm: number,
    private readonly maxPendingEntries: number,
    private readonly hold: (run: readonly Entry[]) => readonly Entry[] = (run) => run,
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
    return this.#pendingCount;
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
    const conflict = this.#conflictIn(batch.entries, existing, joining);
    if (conflict !== undefined) {
      return {
        kind: 'rejected',
        code: 'ENTRY_CONFLICT',
        message: `entry ${conflict} differs from the one this secondary holds; the logs diverged`,
      };
    }
    if (joining) {
      this.#pending.clear();
      this.#pendingCount = 0;
    }
    if (identity?.logId !== batch.logId || batch.epoch > identity.epoch) {
      this.#identity = { logId: batch.logId, epoch: batch.epoch };
    }
    const inOrder = this.#inOrderTail(batch.entries);
    if (inOrder !== undefined) {
      this.#acceptedUpTo = Math.max(this.#acceptedUpTo, inOrder[inOrder.length - 1]?.id ?? 0);
      return { kind: 'accepted', append: inOrder };
    }
    for (const run of consecutiveRuns(batch.entries)) this.#keep(run);

    // What now continues the prefix is handed to the caller to store; it is no longer pending.
    const append: Entry[] = [];
    for (let next = this.#hwm + 1; ;) {
      const run = this.#pending.get(next);
      if (run === undefined) break;
      this.#pending.delete(next);
      this.#pendingCount -= run.length;
      for (const entry of run) append.push(entry);
      next += run.length;
    }
    this.#acceptedUpTo = Math.max(this.#acceptedUpTo, append[append.length - 1]?.id ?? 0);
    return { kind: 'accepted', append };
  }

  /**
   * The first id in `entries` whose entry differs from the one held (read with `existing`) or
   * pending (unless the log is being left behind), or undefined.
   */
  #conflictIn(
    entries: readonly Entry[],
    existing: (id: number) => Entry | undefined,
    joining: boolean,
  ): number | undefined {
    for (const entry of entries) {
      const held = entry.id <= this.#hwm ? existing(entry.id) : undefined;
      if (held !== undefined && held.message !== entry.message) return entry.id;
    }
    if (joining || this.#pending.size === 0) return undefined;
    for (const run of consecutiveRuns(entries)) {
      for (const [firstId, kept] of this.#pending) {
        const fromId = Math.max(firstId, run[0]!.id);
        const toId = Math.min(firstId + kept.length - 1, run[run.length - 1]!.id);
        for (let id = fromId; id <= toId; id++) {
          if (kept[id - firstId]!.message !== run[id - run[0]!.id]!.message) return id;
        }
      }
    }
    return undefined;
  }

  /**
   * Keeps the part of a run of consecutive entries that is past hwm and within the pending
   * window (hwm + maxPendingEntries). Where it overlaps runs kept before, its copies replace
   * theirs (equal messages, checked before): the latest copy of an entry is the one kept.
   */
  #keep(run: readonly Entry[]): void {
    const firstId = run[0]!.id;
    const fromId = Math.max(firstId, this.#hwm + 1);
    const toId = Math.min(firstId + run.length - 1, this.#hwm + this.maxPendingEntries);
    if (fromId > toId) return;
    this.#drop(fromId, toId);
    this.#add(run, fromId, toId);
  }

  /** Removes ids fromId..toId from the pending runs; the parts of a run outside stay, re-keyed. */
  #drop(fromId: number, toId: number): void {
    if (this.#pending.size === 0) return;
    for (const [keptFirstId, kept] of [...this.#pending]) {
      const keptLastId = keptFirstId + kept.length - 1;
      if (keptLastId < fromId || keptFirstId > toId) continue;
      this.#pending.delete(keptFirstId);
      this.#pendingCount -= kept.length;
      if (keptFirstId < fromId) this.#add(kept, keptFirstId, fromId - 1);
      if (keptLastId > toId) this.#add(kept, toId + 1, keptLastId);
    }
  }

  #add(run: readonly Entry[], fromId: number, toId: number): void {
    const offset = run[0]!.id;
    const part =
      fromId === offset && toId === offset + run.length - 1
        ? run
        : run.slice(fromId - offset, toId - offset + 1);
    const held = this.hold(part);
    assert(
      held.length === part.length && held[0]?.id === fromId,
      `hold kept ${held.length} entries from id ${held[0]?.id}, given ${part.length} from ${fromId}`,
    );
    this.#pending.set(fromId, held);
    this.#pendingCount += held.length;
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
    // Pending copies of what is now stored (the caller stored entries it was handed before) go.
    this.#drop(this.#hwm + 1, toId);
    this.#hwm = toId;
  }
}

/** `entries` cut into runs of consecutive ids (a batch from a master is one run). */
function consecutiveRuns(entries: readonly Entry[]): (readonly Entry[])[] {
  const runs: (readonly Entry[])[] = [];
  let start = 0;
  for (let index = 1; index <= entries.length; index++) {
    if (index < entries.length && entries[index]!.id === entries[index - 1]!.id + 1) continue;
    if (index > start)
      runs.push(start === 0 && index === entries.length ? entries : entries.slice(start, index));
    start = index;
  }
  return runs;
}
