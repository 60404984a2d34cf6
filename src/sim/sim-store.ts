import { StorageError } from '../adapters/file-store/file-log-store.js';
import { assertTruncation, type LogStore, type StoredState } from '../adapters/log-store.js';
import { assert } from '../core/assert.js';
import type { Entry, LogIdentity } from '../core/entry.js';
import type { Prng } from '../core/prng.js';
import type { Scheduler } from './scheduler.js';
import type { SimDisk } from './sim-disk.js';

/** What the nemesis does to a disk: failing writes (EIO, ENOSPC) and slow fsyncs. */
export interface DiskFaults {
  /** Chance that a write (with its fsync) fails; the store then fails every write queued behind it. */
  readonly writeErrorRate: number;
  readonly errorCode: 'EIO' | 'ENOSPC';
  /** Chance that one fsync takes 100-600 ms instead of a few. */
  readonly slowFsyncRate: number;
}

export const HEALTHY_DISK: DiskFaults = { writeErrorRate: 0, errorCode: 'EIO', slowFsyncRate: 0 };

interface QueuedAppend {
  readonly kind: 'append';
  readonly entries: readonly Entry[];
  readonly key: string | undefined;
  readonly onWritten: (() => void) | undefined;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface QueuedTruncation {
  readonly kind: 'truncate';
  readonly lastKeptId: number;
  readonly resolve: (removed: Entry[]) => void;
  readonly reject: (error: Error) => void;
}

/**
 * A LogStore over a SimDisk, with the contract of FileLogStore: appends are written one after
 * another in call order, each visible once written (and fsynced, with FSYNC=always); a failed
 * write is undone and fails every append queued behind it, and an append that does not continue
 * what the store accepted is refused. A truncation is one more write in that order (fsynced
 * whatever the policy, as in FileLogStore; a crash during it keeps the old log or the new one).
 * Write and fsync times come from the PRNG; the completion is an event of the node's lifetime,
 * so a crash loses what was not written yet.
 */
export class SimLogStore implements LogStore {
  readonly #queue: (QueuedAppend | QueuedTruncation)[] = [];
  #writing = false;
  #acceptedLastId = 0;
  #freeAtMs = 0;

  constructor(
    readonly disk: SimDisk,
    private readonly scheduler: Scheduler,
    private readonly owner: string,
    private readonly prng: Prng,
    private readonly faults: () => DiskFaults,
    /** Told of every failed write (the run's statistics). */
    private readonly onFailed: () => void,
  ) {}

  open(): Promise<StoredState> {
    const state = this.disk.recover();
    this.#acceptedLastId = state.lastId;
    this.#freeAtMs = this.scheduler.nowMs;
    return Promise.resolve(state);
  }

  /** Write-then-rename with fsyncs, as FileLogStore does: durable whole, at once. */
  setIdentity(identity: LogIdentity): Promise<void> {
    this.disk.setIdentity(identity);
    return Promise.resolve();
  }

  append(
    entries: readonly Entry[],
    idempotencyKey?: string,
    onWritten?: () => void,
  ): Promise<void> {
    const first = entries[0];
    if (first === undefined) {
      onWritten?.();
      return Promise.resolve();
    }
    for (let index = 1; index < entries.length; index++) {
      assert(entries[index]!.id === first.id + index, `append with a gap after id ${first.id}`);
    }
    if (first.id !== this.#acceptedLastId + 1) {
      return Promise.reject(
        new StorageError(
          'STORAGE_FAILED',
          `append of id ${first.id} refused: the log ends at ${this.#acceptedLastId}`,
        ),
      );
    }
    this.#acceptedLastId = first.id + entries.length - 1;
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({
        kind: 'append',
        entries,
        key: idempotencyKey,
        onWritten,
        resolve,
        reject,
      });
      this.#next();
    });
  }

  truncateAfter(lastKeptId: number): Promise<Entry[]> {
    try {
      assertTruncation(lastKeptId, this.#acceptedLastId);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.#acceptedLastId = lastKeptId;
    return new Promise<Entry[]>((resolve, reject) => {
      this.#queue.push({ kind: 'truncate', lastKeptId, resolve, reject });
      this.#next();
    });
  }

  lastId(): number {
    return this.disk.lastId;
  }

  get(id: number): Entry | undefined {
    return this.disk.get(id);
  }

  /** It keeps entries as objects, messages as strings: `read`'s. */
  readForReplication(fromId: number, maxCount: number, maxBytes?: number): Entry[] {
    return this.read(fromId, maxCount, maxBytes);
  }

  read(fromId: number, maxCount: number, maxBytes = Infinity): Entry[] {
    const entries = this.disk.read(Math.max(1, fromId), maxCount);
    if (maxBytes === Infinity) return entries;
    let bytes = 0;
    for (let index = 0; index < entries.length; index++) {
      bytes += Buffer.byteLength(entries[index]!.message, 'utf8');
      if (index > 0 && bytes > maxBytes) return entries.slice(0, index);
    }
    return entries;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Starts the oldest queued write: on the disk now, complete (or failed) after its latency. */
  #next(): void {
    const write = this.#queue[0];
    if (this.#writing || write === undefined) return;
    this.#writing = true;
    if (write.kind === 'append') this.disk.append(write.entries, write.key);
    else this.disk.beginTruncation(write.lastKeptId);
    const faults = this.faults();
    // A truncation is fsynced (several times) whatever the policy.
    const fsyncMs =
      write.kind === 'truncate'
        ? this.prng.int(3, 24)
        : this.disk.fsync === 'always'
          ? this.prng.int(1, 8)
          : 0;
    const slowMs = this.prng.chance(faults.slowFsyncRate) ? this.prng.int(100, 600) : 0;
    const writtenAtMs = this.scheduler.nowMs + this.prng.int(1, 3);
    const doneAtMs = Math.max(this.#freeAtMs, writtenAtMs + fsyncMs + slowMs);
    this.#freeAtMs = doneAtMs;
    const fails = this.prng.chance(faults.writeErrorRate);
    const flushAtMs = doneAtMs + this.prng.int(0, 200);
    // Written before the fsync: a failing write fails before this point, never after it (a
    // real failed fsync stops a failover master, which has replicated from here on). A crash
    // before `doneAtMs` still loses the write, as an operating-system crash would.
    const onWritten = write.kind === 'append' && !fails ? write.onWritten : undefined;
    if (onWritten !== undefined)
      this.scheduler.at(Math.min(writtenAtMs, doneAtMs), this.owner, onWritten);
    this.scheduler.at(doneAtMs, this.owner, () => {
      this.#writing = false;
      if (fails) {
        this.#fail(faults.errorCode);
        return;
      }
      this.#queue.shift();
      if (write.kind === 'append') {
        this.disk.completeNext(flushAtMs);
        write.resolve();
      } else {
        const removed = this.disk.completeTruncation();
        assert(
          this.disk.lastId === write.lastKeptId,
          `truncation ends the log at ${this.disk.lastId}, not ${write.lastKeptId}`,
        );
        write.resolve(removed);
      }
      this.#next();
    });
  }

  /** The write failed and was undone; every append queued behind it fails with it. */
  #fail(code: 'EIO' | 'ENOSPC'): void {
    this.onFailed();
    this.disk.undoUncompleted();
    // A failed truncation is one that failed before its commit: the old log stays.
    this.disk.abortTruncation();
    this.#acceptedLastId = this.disk.lastId;
    const failed = this.#queue.splice(0);
    const error =
      code === 'ENOSPC'
        ? new StorageError('STORAGE_FULL', 'no space left on the simulated disk (ENOSPC)')
        : new StorageError('STORAGE_FAILED', 'the simulated disk failed a write (EIO)');
    for (const append of failed) append.reject(error);
  }
}
