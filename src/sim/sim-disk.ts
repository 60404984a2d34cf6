import type { Entry, LogIdentity } from '../core/entry.js';
import type { KeyedAppend } from '../core/idempotency.js';
import type { Prng } from '../core/prng.js';

/**
 * `always`: an append completes once fsynced, so what was answered survives a crash.
 * `never`: an append completes once written; the OS flushes it later, a crash may lose it.
 */
export type FsyncPolicy = 'always' | 'never';

/** One append call: one record on disk, durable whole or not at all (as in FileLogStore). */
interface DiskRecord {
  readonly entries: readonly Entry[];
  readonly key: string | undefined;
  /** With `never`, when the OS will have flushed it (drawn when it completes). */
  flushAtMs: number;
}

export interface RecoveredState {
  readonly identity: LogIdentity | undefined;
  readonly lastId: number;
  readonly keys: readonly (readonly [string, KeyedAppend])[];
}

export interface CrashOutcome {
  /** Records appended but not durable that the crash threw away. */
  readonly lostRecords: number;
  /** The last record was cut short: recovery dropped it (a torn tail). */
  readonly torn: boolean;
  /** A truncation was under way: whether its commit reached the disk (recovery finished it). */
  readonly truncation: 'none' | 'undone' | 'finished';
}

/**
 * The store of one node. Appends are applied in call order and complete one after the other; an
 * entry is visible (readable) once its append completed, durable once synced. A crash keeps what
 * was durable plus a random prefix of the records written after it (the OS may have flushed some,
 * the last may be torn and is then dropped whole by the checksum), never anything not written.
 */
export class SimDisk {
  #identity: LogIdentity | undefined;
  readonly #records: DiskRecord[] = [];
  /** Records whose append completed. */
  #completed = 0;
  /** With `always`: records synced (completion is the sync). */
  #synced = 0;
  /** Visible entries, by id - 1. */
  #visible: Entry[] = [];
  /** The lastKeptId of a truncation started and not completed. */
  #truncating: number | undefined;

  constructor(readonly fsync: FsyncPolicy) {}

  get identity(): LogIdentity | undefined {
    return this.#identity;
  }

  /** Write-then-rename with fsyncs, as the real store does: durable at once, whole. */
  setIdentity(identity: LogIdentity): void {
    this.#identity = identity;
  }

  /** Starts an append; it completes with `completeNext`, in call order. */
  append(entries: readonly Entry[], key: string | undefined): void {
    const last = this.#records[this.#records.length - 1]?.entries;
    const expected = (last?.[last.length - 1]?.id ?? 0) + 1;
    if (entries[0]?.id !== expected)
      throw new Error(`disk append of id ${entries[0]?.id} where ${expected} comes next`);
    this.#records.push({ entries, key, flushAtMs: Infinity });
  }

  /**
   * Starts a truncation after every append completed; it completes with `completeTruncation`.
   * Until then the disk holds the old log, and a crash keeps either the old or the new one (the
   * real store commits an intent somewhere in between).
   */
  beginTruncation(lastKeptId: number): void {
    if (this.#truncating !== undefined || this.uncompleted > 0)
      throw new Error('a truncation starts only when every write before it is complete');
    if (lastKeptId > this.lastId) throw new Error(`truncation after ${lastKeptId} past the end`);
    this.#truncating = lastKeptId;
  }

  /**
   * The truncation completes: fsynced whatever the policy, as FileLogStore does (appends after
   * it overwrite the same bytes, so an unsynced cut could let a crash mix old and new records).
   * The kept part of a record cut in the middle becomes a record without its key.
   */
  completeTruncation(): Entry[] {
    const lastKeptId = this.#truncating;
    if (lastKeptId === undefined) throw new Error('no truncation to complete');
    this.#truncating = undefined;
    return this.#cut(lastKeptId);
  }

  /** The truncation failed before its commit: the old log stays. */
  abortTruncation(): void {
    this.#truncating = undefined;
  }

  #cut(lastKeptId: number): Entry[] {
    const removed = this.#visible.slice(lastKeptId);
    const kept: DiskRecord[] = [];
    for (const record of this.#records) {
      const entries = record.entries.filter((entry) => entry.id <= lastKeptId);
      if (entries.length === record.entries.length) kept.push(record);
      else if (entries.length > 0) kept.push({ entries, key: undefined, flushAtMs: 0 });
    }
    this.#records.length = 0;
    this.#records.push(...kept);
    for (const record of this.#records) record.flushAtMs = 0;
    this.#completed = this.#records.length;
    this.#synced = this.#records.length;
    this.#visible.length = lastKeptId;
    return removed;
  }

  get uncompleted(): number {
    return this.#records.length - this.#completed;
  }

  /** The oldest uncompleted append completes now; with `never`, the OS flushes it by `flushAtMs`. */
  completeNext(flushAtMs: number): readonly Entry[] {
    const record = this.#records[this.#completed];
    if (record === undefined) throw new Error('no append to complete');
    this.#completed += 1;
    if (this.fsync === 'always') this.#synced = this.#completed;
    const previous = this.#records[this.#completed - 2];
    // The page cache is flushed in order: a record is never durable before the one ahead of it.
    record.flushAtMs = Math.max(flushAtMs, previous?.flushAtMs ?? 0);
    for (const entry of record.entries) this.#visible.push(entry);
    return record.entries;
  }

  /** A failed write was cut back off the file: the appends not completed are gone. */
  undoUncompleted(): void {
    this.#records.length = this.#completed;
  }

  /** The last visible id: what reads show. */
  get lastId(): number {
    return this.#visible.length;
  }

  /** The last id that a crash now would keep for sure. */
  durableLastId(nowMs: number): number {
    const entries = this.#records[this.#durableRecords(nowMs) - 1]?.entries;
    return entries?.[entries.length - 1]?.id ?? 0;
  }

  /** Records durable now: synced (`always`), or already flushed by the OS (`never`). */
  #durableRecords(nowMs: number): number {
    if (this.fsync === 'always') return this.#synced;
    let count = 0;
    while (count < this.#completed && this.#records[count]!.flushAtMs <= nowMs) count += 1;
    return count;
  }

  get(id: number): Entry | undefined {
    return this.#visible[id - 1];
  }

  read(fromId: number, maxCount: number): Entry[] {
    const start = Math.max(0, fromId - 1);
    return this.#visible.slice(start, start + maxCount);
  }

  /** The process died: keep the durable records and a random prefix of the rest. */
  crash(nowMs: number, prng: Prng): CrashOutcome {
    let truncation: CrashOutcome['truncation'] = 'none';
    if (this.#truncating !== undefined) {
      // Every write before it had been fsynced by then; once its intent was committed, recovery
      // finishes it. Before that, the old log stays.
      truncation = prng.chance(0.5) ? 'finished' : 'undone';
      if (truncation === 'finished') this.#cut(this.#truncating);
      this.#truncating = undefined;
    }
    const durable = this.#durableRecords(nowMs);
    const unsynced = this.#records.length - durable;
    const kept = durable + prng.int(0, unsynced);
    const torn = kept < this.#records.length && prng.chance(0.5);
    this.#records.length = kept;
    this.#completed = kept;
    // What recovery read back from the file is on disk now: a second crash keeps it.
    this.#synced = kept;
    for (const record of this.#records) record.flushAtMs = 0;
    this.#visible = this.#records.flatMap((record) => record.entries);
    return { lostRecords: unsynced - (kept - durable), torn, truncation };
  }

  /** What `open()` finds. */
  recover(): RecoveredState {
    const keys: [string, KeyedAppend][] = [];
    for (const record of this.#records) {
      const first = record.entries[0];
      if (record.key !== undefined && first !== undefined)
        keys.push([record.key, { firstId: first.id, count: record.entries.length }]);
    }
    return { identity: this.#identity, lastId: this.#visible.length, keys };
  }
}
