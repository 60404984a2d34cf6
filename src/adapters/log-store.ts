import { assert } from '../core/assert.js';
import type { Entry, LogIdentity } from '../core/entry.js';
import type { KeyedAppend } from '../core/idempotency.js';

/** What a store holds when it is opened. */
export interface StoredState {
  readonly identity: LogIdentity | undefined;
  readonly lastId: number;
  /** Idempotency keys of the appends held, oldest first. */
  readonly keys: readonly (readonly [string, KeyedAppend])[];
}

/**
 * Where a node keeps its log. Reads are synchronous (served from memory or an index of the
 * file), appends resolve once the entries are as durable as the store promises. Appends and
 * truncations are applied in call order: appends always extend the log by consecutive ids, a
 * truncation cuts it back.
 */
export interface LogStore {
  open(): Promise<StoredState>;
  setIdentity(identity: LogIdentity): Promise<void>;
  /**
   * `onWritten`, when given, is called once the entries are written and in order, before the
   * promise resolves: from then on a process crash keeps them, and only the durability the store
   * promises (the fsync, with `FSYNC=always`) is still to come. It is never called for an append
   * that fails before that point; an append that fails after it (a failed fsync) leaves the
   * entries' fate on this node unknown. A failover master replicates from this point on, in
   * parallel with its own fsync.
   */
  append(entries: readonly Entry[], idempotencyKey?: string, onWritten?: () => void): Promise<void>;
  /**
   * Removes every entry with id > `lastKeptId` (a divergent tail, KIP-101) and resolves with the
   * removed entries, oldest first (`[]` when `lastKeptId` is already the end).
   *
   * - Ordering: queued behind every append (and truncation) called before it, as appends are;
   *   appends called after it continue at `lastKeptId + 1`, with any epoch.
   * - Preconditions (InvariantError, nothing changed): `lastKeptId` is an integer with
   *   `0 <= lastKeptId <=` the end of the log once everything called before is applied (that is
   *   `lastId()` when nothing is in flight). Resolved, `lastId() === lastKeptId`.
   * - Durability: resolved, the removal is at least as durable as an append; a crash during it
   *   leaves the old log or the new one, never a mix. A failed truncation fails every call queued
   *   behind it, as a failed append does.
   * - Idempotency keys naming a removed id (even one of a batch cut in the middle) are gone:
   *   `open()` never reports them again, and a later append may use the key anew.
   * - Never below the commit point: the store cannot know it, so checking that `lastKeptId` is at
   *   least the committed id is the caller's job, before calling.
   */
  truncateAfter(lastKeptId: number): Promise<Entry[]>;
  lastId(): number;
  get(id: number): Entry | undefined;
  /** Entries with id >= fromId: at most `maxCount`, and at most `maxBytes` of messages (at least one entry). */
  read(fromId: number, maxCount: number, maxBytes?: number): Entry[];
  /**
   * The entries `read` returns, for a replication frame: the same ids, epochs and messages, but a
   * store that keeps messages as bytes hands them out undecoded (PackedEntry, whose bytes it must
   * never rewrite afterwards), and the frame copies them. Any other store returns `read`'s.
   */
  readForReplication(fromId: number, maxCount: number, maxBytes?: number): Entry[];
  close(): Promise<void>;
}

/**
 * The preconditions of `truncateAfter` (InvariantError if broken): `lastKeptId` is an integer in
 * 0..`endId`, where `endId` is the end of the log once every call before it is applied.
 */
export function assertTruncation(lastKeptId: number, endId: number): void {
  assert(
    Number.isSafeInteger(lastKeptId) && lastKeptId >= 0 && lastKeptId <= endId,
    `truncateAfter(${lastKeptId}): lastKeptId must be an integer in 0..${endId} (the log's end); truncate only what the log holds`,
  );
}
