import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  unlink,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { assert, fail } from '../../core/assert.js';
import type { Entry, LogIdentity } from '../../core/entry.js';
import type { KeyedAppend } from '../../core/idempotency.js';
import { PackedEntry } from '../../protocol/packed-entry.js';
import type { Logger } from '../logger.js';
import { assertTruncation, type LogStore, type StoredState } from '../log-store.js';
import { EntryIndex } from './entry-index.js';
import { decodeRecord, encodeBatch, HEADER_BYTES, type EncodedBatch } from './record-codec.js';
import {
  applySteps,
  commitSteps,
  finishTruncation,
  segmentName,
  syncDirectory,
  type TruncationPlan,
  type TruncationStep,
  type TruncationStepName,
} from './truncation.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface FileLogStoreOptions {
  readonly dataDir: string;
  /** `always`: an append resolves once fsynced (group commit); `interval`: fsync every `fsyncIntervalMs`; `never`: leave it to the OS. */
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  /** A new segment file starts once the current one is this large. */
  readonly segmentBytes: number;
  readonly logger: Logger;
  /** Told how long each fsync of the log took (for the fsync-time metric). */
  readonly onFsync?: (durationMs: number) => void;
  /**
   * Awaited before each step of a truncation (the crash tests copy the directory there: the copy
   * is what a crash at that point leaves, and throwing stops the truncation there).
   */
  readonly beforeTruncationStep?: (step: TruncationStepName) => Promise<void>;
  /**
   * Writes bytes at a position of an open file, as `fs.writeSync` (the default) does; the tests
   * pass one that fails part way, as a full or broken disk would.
   */
  readonly writeAt?: WriteAt;
}

/** `fs.writeSync(fd, buffer, offset, length, position)`: returns the bytes written. */
export type WriteAt = (
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
) => number;

export type StorageErrorCode =
  'STORAGE_FULL' | 'STORAGE_FAILED' | 'STORAGE_CORRUPT' | 'STORAGE_LOCKED';

/** A storage failure; the message names the file and what to do. */
export class StorageError extends Error {
  override readonly name = 'StorageError';

  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface Segment {
  readonly firstId: number;
  readonly path: string;
  readonly readFd: number;
  size: number;
}

interface QueuedAppend {
  readonly kind: 'append';
  readonly records: readonly EncodedBatch[];
  readonly onWritten: (() => void) | undefined;
  readonly resolve: () => void;
  readonly reject: (error: StorageError) => void;
}

interface QueuedTruncation {
  readonly kind: 'truncate';
  readonly lastKeptId: number;
  readonly resolve: (removed: Entry[]) => void;
  readonly reject: (error: StorageError) => void;
}

type QueuedWrite = QueuedAppend | QueuedTruncation;

/** A truncation's plan, with what the index needs once it is done. */
interface PlannedTruncation {
  readonly plan: TruncationPlan;
  /** The first id of the record cut into: the index keeps ids below it as they are. */
  readonly recordFirstId: number;
  readonly kept: EncodedBatch | undefined;
}

const SEGMENT_NAME = /^(\d{20})\.seg$/;
/** Data directories open in this process: the LOCK file holds our own pid, so it cannot tell. */
const OPEN_IN_THIS_PROCESS = new Set<string>();
/** Reads never take more than this in one buffer, whatever the range asked for. */
const READ_CHUNK_BYTES = 8 * 1024 * 1024;
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * The durable log: segment files of checksummed records under `DATA_DIR/log`, the identity in
 * `DATA_DIR/identity.json`, and an index in memory (12 bytes per entry, no messages). Appends are
 * written by one writer loop in call order; every append queued while a write and its fsync are
 * in progress shares the next one (group commit), and without FSYNC=always the appends of one
 * turn of the event loop share one write.
 */
export class FileLogStore implements LogStore {
  readonly #options: FileLogStoreOptions;
  readonly #log: Logger;
  readonly #logDir: string;
  readonly #index = new EntryIndex();
  readonly #segments: Segment[] = [];
  #identity: LogIdentity | undefined;
  #writer: FileHandle | undefined;
  #queue: QueuedWrite[] = [];
  #writing: Promise<void> | undefined;
  /** The end of the log once every append and truncation queued is applied. */
  #acceptedLastId = 0;
  #dirty = false;
  #syncTimer: NodeJS.Timeout | undefined;
  /** Set when a failed write could not be undone: every append fails until a restart. */
  #broken: StorageError | undefined;
  #locked = false;

  constructor(options: FileLogStoreOptions) {
    assert(options.segmentBytes >= 4096, 'segmentBytes must be >= 4096');
    this.#options = options;
    this.#log = options.logger;
    this.#logDir = join(options.dataDir, 'log');
  }

  async open(): Promise<StoredState> {
    await mkdir(this.#logDir, { recursive: true });
    await this.#lock();
    try {
      return await this.#recover();
    } catch (error) {
      // Leave the directory as found: no lock held, no file open.
      await this.close();
      throw error;
    }
  }

  async #recover(): Promise<StoredState> {
    const started = performance.now();
    this.#identity = await this.#readIdentity();
    const finished = await finishTruncation(this.#logDir, (reason) =>
      this.#corrupt(join(this.#logDir, 'TRUNCATE'), 0, reason),
    );
    const names = (await readdir(this.#logDir)).filter((name) => SEGMENT_NAME.test(name)).sort();
    const keys: [string, KeyedAppend][] = [];
    for (const [position, name] of names.entries()) {
      const firstId = Number(SEGMENT_NAME.exec(name)![1]);
      if (firstId !== this.#index.count + 1) {
        throw this.#corrupt(
          join(this.#logDir, name),
          0,
          `segment starts at id ${firstId} but the log before it ends at ${this.#index.count}`,
        );
      }
      await this.#scan(join(this.#logDir, name), firstId, position === names.length - 1, keys);
    }
    if (this.#index.count > 0 && this.#identity === undefined) {
      throw new StorageError(
        'STORAGE_CORRUPT',
        `${join(this.#options.dataDir, 'identity.json')} is missing but the log holds ${this.#index.count} entries; restore it or move ${this.#options.dataDir} aside to start empty`,
      );
    }
    this.#acceptedLastId = this.#index.count;
    this.#assertRecovered(keys);
    if (finished !== undefined) {
      assert(
        this.#index.count === finished.lastKeptId,
        `a truncation after id ${finished.lastKeptId} was finished at open, but the log ends at ${this.#index.count}`,
      );
      this.#log.warn(
        { event: 'truncation-finished', lastKeptId: finished.lastKeptId },
        `finished a truncation after id ${finished.lastKeptId} that a crash interrupted`,
      );
    }
    if (this.#options.fsync === 'interval') {
      this.#syncTimer = setInterval(() => {
        void this.#syncIfDirty();
      }, this.#options.fsyncIntervalMs);
      this.#syncTimer.unref();
    }
    this.#log.info(
      {
        event: 'store-opened',
        dataDir: this.#options.dataDir,
        lastId: this.#index.count,
        segments: this.#segments.length,
        fsync: this.#options.fsync,
        ms: Math.round(performance.now() - started),
      },
      `opened ${this.#options.dataDir}: ${this.#index.count} entries in ${this.#segments.length} segments in ${Math.round(performance.now() - started)} ms (fsync ${this.#options.fsync})`,
    );
    return { identity: this.#identity, lastId: this.#index.count, keys };
  }

  /**
   * After recovery: the segments cover ids 1..lastId in order without a gap, every key names
   * entries held, and the first and last entries read back through the index are themselves.
   */
  #assertRecovered(keys: readonly (readonly [string, KeyedAppend])[]): void {
    const lastId = this.#index.count;
    for (const [position, segment] of this.#segments.entries()) {
      const nextFirstId = this.#segments[position + 1]?.firstId ?? lastId + 1;
      assert(
        position === 0
          ? segment.firstId === 1
          : segment.firstId > this.#segments[position - 1]!.firstId,
        `segment ${segment.path} starts at id ${segment.firstId} after recovery`,
      );
      assert(
        nextFirstId >= segment.firstId && nextFirstId <= lastId + 1,
        `segment ${segment.path} ends at id ${nextFirstId - 1} but the log ends at ${lastId}`,
      );
    }
    assert(lastId === 0 || this.#segments.length > 0, `${lastId} entries and no segment`);
    for (const [key, append] of keys) {
      assert(
        append.firstId >= 1 && append.firstId + append.count - 1 <= lastId,
        `key ${key} names ids ${append.firstId}..${append.firstId + append.count - 1} past the log's end ${lastId}`,
      );
    }
    if (lastId === 0) return;
    assert(this.read(1, 1)[0]?.id === 1, 'entry 1 reads back after recovery');
    assert(this.read(lastId, 1)[0]?.id === lastId, `entry ${lastId} reads back after recovery`);
  }

  async setIdentity(identity: LogIdentity): Promise<void> {
    // Write-then-rename, with fsyncs, so that a crash leaves the old file or the new one, whole.
    const path = join(this.#options.dataDir, 'identity.json');
    const temporary = `${path}.tmp`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(`${JSON.stringify(identity)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    await syncDirectory(this.#options.dataDir);
    this.#identity = identity;
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
    if (first.id !== this.#acceptedLastId + 1) {
      // After a failed write every queued append fails too; an append assigned before the
      // caller saw that failure lands here and must fail as well, or the log would get a gap.
      return Promise.reject(
        new StorageError(
          'STORAGE_FAILED',
          `append of id ${first.id} refused: the log ends at ${this.#acceptedLastId} (after a failed write, every append queued behind it fails too)`,
        ),
      );
    }
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    for (let index = 1; index < entries.length; index++) {
      const id = entries[index]!.id;
      if (id !== first.id + index) fail(`append of ids ${first.id}.. has id ${id} at ${index}`);
    }
    // One record per run of one epoch: a master's batch is always one record, so it is durable
    // whole or not at all; a secondary may store entries of two epochs in one call.
    const records: EncodedBatch[] = [];
    try {
      let start = 0;
      for (let index = 1; index <= entries.length; index++) {
        if (index === entries.length || entries[index]!.epoch !== entries[start]!.epoch) {
          const run =
            start === 0 && index === entries.length ? entries : entries.slice(start, index);
          records.push(encodeBatch(run, start === 0 ? idempotencyKey : undefined));
          start = index;
        }
      }
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.#acceptedLastId = first.id + entries.length - 1;
    const promise = new Promise<void>((resolve, reject) => {
      this.#queue.push({ kind: 'append', records, onWritten, resolve, reject });
    });
    this.#startDrain();
    return promise;
  }

  /**
   * Queued behind the appends called before it. The cut is fsynced (whatever the FSYNC policy:
   * appends after it write over the same bytes, and a crash must not mix old and new records) and
   * goes through a committed intent (see truncation.ts), so a crash leaves the old log or the new.
   */
  truncateAfter(lastKeptId: number): Promise<Entry[]> {
    try {
      assertTruncation(lastKeptId, this.#acceptedLastId);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    this.#acceptedLastId = lastKeptId;
    const promise = new Promise<Entry[]>((resolve, reject) => {
      this.#queue.push({ kind: 'truncate', lastKeptId, resolve, reject });
    });
    this.#startDrain();
    return promise;
  }

  lastId(): number {
    return this.#index.count;
  }

  get(id: number): Entry | undefined {
    if (!Number.isInteger(id) || id < 1 || id > this.#index.count) return undefined;
    return this.read(id, 1)[0];
  }

  read(fromId: number, maxCount: number, maxBytes = Infinity): Entry[] {
    return this.#read(fromId, maxCount, maxBytes, (id, epoch, buffer, at, length) => ({
      id,
      epoch,
      message: buffer.toString('utf8', at, at + length),
    }));
  }

  /**
   * The same entries, packed over the buffers read from the files (each a fresh one), their
   * messages moved together first: a frame then copies each buffer's run in one call, where the
   * lengths and record headers between them made it copy message by message.
   */
  readForReplication(fromId: number, maxCount: number, maxBytes = Infinity): Entry[] {
    return this.#read(
      fromId,
      maxCount,
      maxBytes,
      (id, epoch, buffer, at, length) => new PackedEntry(id, epoch, buffer, at, length),
      true,
    );
  }

  /**
   * Entries from `fromId`, each made by `entry` from its message's bytes in a buffer read; with
   * `adjacent`, the messages of each buffer are first moved to its start, one after the other
   * (each moves back over the lengths and headers before it, never onto a message not yet moved).
   */
  #read(
    fromId: number,
    maxCount: number,
    maxBytes: number,
    entry: (id: number, epoch: number, buffer: Buffer, at: number, length: number) => Entry,
    adjacent = false,
  ): Entry[] {
    const lastId = this.#index.count;
    const startId = Math.max(1, fromId);
    if (startId > lastId || maxCount <= 0) return [];
    let toId = Math.min(lastId, startId + Math.min(maxCount, lastId) - 1);
    if (maxBytes !== Infinity) {
      let bytes = 0;
      for (let id = startId; id <= toId; id++) {
        bytes += this.#index.length(id - 1);
        if (id > startId && bytes > maxBytes) {
          toId = id - 1;
          break;
        }
      }
    }
    const out: Entry[] = [];
    let id = startId;
    while (id <= toId) {
      const segmentIndex = this.#segmentIndexOf(id);
      const segment = this.#segments[segmentIndex]!;
      const segmentLastId = (this.#segments[segmentIndex + 1]?.firstId ?? lastId + 1) - 1;
      // One read per run of entries, capped so a read of the whole log never takes one huge buffer.
      const start = this.#index.offset(id - 1);
      let endId = id;
      let end = start + 4 + this.#index.length(id - 1);
      while (endId < Math.min(toId, segmentLastId)) {
        const nextEnd = this.#index.offset(endId) + 4 + this.#index.length(endId);
        if (nextEnd - start > READ_CHUNK_BYTES) break;
        endId += 1;
        end = nextEnd;
      }
      const buffer = Buffer.allocUnsafe(end - start);
      const got = readSync(segment.readFd, buffer, 0, buffer.length, start);
      assert(
        got === buffer.length,
        `short read of ${segment.path} at ${start}: ${got} of ${buffer.length} bytes`,
      );
      let moved = 0;
      for (; id <= endId; id++) {
        const at = this.#index.offset(id - 1) - start;
        const length = this.#index.length(id - 1);
        // The entry's own length field: a file changed under the node (overwritten, zeroed,
        // truncated and grown again) no longer holds what the index says is there. The message
        // is made only when it does not: a read of a million entries checks a million.
        if (buffer.readUInt32LE(at) !== length) {
          fail(
            `entry ${id} in ${segment.path} at offset ${start + at} has length ${buffer.readUInt32LE(at)} on disk, ${length} in the index: the file changed under the node`,
          );
        }
        let messageAt = at + 4;
        if (adjacent) {
          buffer.copyWithin(moved, messageAt, messageAt + length);
          messageAt = moved;
          moved += length;
        }
        out.push(entry(id, this.#index.epoch(id - 1), buffer, messageAt, length));
      }
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.#syncTimer !== undefined) clearInterval(this.#syncTimer);
    await this.#writing;
    if (this.#writer !== undefined) {
      if (this.#options.fsync !== 'never') await this.#datasync(this.#writer);
      await this.#writer.close();
      this.#writer = undefined;
    }
    for (const segment of this.#segments.splice(0)) closeSync(segment.readFd);
    if (this.#locked) {
      await unlink(join(this.#options.dataDir, 'LOCK')).catch(() => undefined);
      OPEN_IN_THIS_PROCESS.delete(resolvePath(this.#options.dataDir));
      this.#locked = false;
    }
  }

  /**
   * Starts the writer loop unless it runs. Without FSYNC=always nothing holds the queue while a
   * write is made, so a loop started at once wrote every append alone (one write per append at
   * 64 clients); it starts on the next turn of the event loop instead, and the appends of every
   * request read in this turn share its first write. With FSYNC=always it starts at once: the
   * appends that arrive during a write and its fsync share the next one (group commit), and the
   * first append after a quiet spell is not held back.
   */
  #startDrain(): void {
    if (this.#writing !== undefined) return;
    this.#writing =
      this.#options.fsync === 'always'
        ? this.#drain()
        : new Promise<void>((resolve) => {
            setImmediate(resolve);
          }).then(() => this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        // Every append up to the next truncation shares one write; a truncation runs alone.
        const head = this.#queue[0]!;
        if (head.kind === 'truncate') {
          this.#queue.shift();
          await this.#truncate(head);
          continue;
        }
        const end = this.#queue.findIndex((queued) => queued.kind === 'truncate');
        const group = this.#queue.slice(0, end === -1 ? undefined : end) as QueuedAppend[];
        this.#queue = end === -1 ? [] : this.#queue.slice(end);
        await this.#writeGroup(group);
      }
    } finally {
      this.#writing = undefined;
    }
  }

  async #writeGroup(group: readonly QueuedAppend[]): Promise<void> {
    let segment: Segment;
    let writer: FileHandle;
    try {
      [segment, writer] = await this.#segmentForWrite();
    } catch (error) {
      this.#failAll(group, error);
      return;
    }
    const start = segment.size;
    const records = group.flatMap((queued) => queued.records);
    this.#assertExtendsLog(records);
    const buffer =
      records.length === 1
        ? records[0]!.record
        : Buffer.concat(records.map((encoded) => encoded.record));
    // A synchronous write: a group's bytes reach the page cache in microseconds, cheaper than a
    // round trip through libuv's thread pool (two wake-ups); only the fsync goes there.
    const writeAt = this.#options.writeAt ?? writeSync;
    const written = await this.#attempt(group, segment, writer, start, () => {
      let done = 0;
      while (done < buffer.length) {
        const bytes = writeAt(writer.fd, buffer, done, buffer.length - done, start + done);
        assert(bytes > 0, `a write to ${segment.path} at ${start + done} wrote nothing`);
        done += bytes;
      }
      return Promise.resolve();
    });
    if (!written) return;
    // Written, in order: a process crash keeps it from here; the fsync makes it durable.
    for (const queued of group) queued.onWritten?.();
    const synced = await this.#attempt(group, segment, writer, start, async () => {
      if (this.#options.fsync === 'always') await this.#datasync(writer);
      else this.#dirty = true;
    });
    if (!synced) return;
    let at = start;
    for (const encoded of records) {
      for (let index = 0; index < encoded.entryOffsets.length; index++) {
        this.#index.push(
          at + encoded.entryOffsets[index]!,
          encoded.messageLengths[index]!,
          encoded.epoch,
        );
      }
      at += encoded.record.length;
    }
    segment.size = at;
    for (const queued of group) queued.resolve();
  }

  /**
   * Runs one step of a group's write; if it fails, cuts the file back to the last whole record
   * (at `start`) and fails the group and everything queued behind it. If even the cut fails, the
   * bytes of a torn record may stay behind our last good one: the store stops taking appends,
   * since only a restart (which cuts a torn tail) can be sure of the file again.
   */
  async #attempt(
    group: readonly QueuedAppend[],
    segment: Segment,
    writer: FileHandle,
    start: number,
    step: () => Promise<void>,
  ): Promise<boolean> {
    try {
      await step();
      return true;
    } catch (error) {
      try {
        await writer.truncate(start);
      } catch (truncateError) {
        this.#broken = new StorageError(
          'STORAGE_FAILED',
          `a failed write to ${segment.path} could not be undone (${String(truncateError)}); restart the node to recover its log`,
        );
      }
      this.#failAll(group, error);
      return false;
    }
  }

  /** What is about to be written continues the log: ids lastId + 1, lastId + 2, ... */
  #assertExtendsLog(records: readonly EncodedBatch[]): void {
    let next = this.#index.count + 1;
    for (const encoded of records) {
      assert(
        encoded.firstId === next,
        `write of a record starting at id ${encoded.firstId} where id ${next} comes next`,
      );
      next += encoded.count;
    }
  }

  /**
   * Runs one truncation, every write before it done. A failure before the intent is committed
   * leaves the old log (the queue behind fails, as after a failed append); a failure after it
   * leaves a log only a restart can finish, so the store refuses every write until then.
   */
  async #truncate(queued: QueuedTruncation): Promise<void> {
    const { lastKeptId } = queued;
    if (this.#broken !== undefined) {
      this.#failAll([queued], this.#broken);
      return;
    }
    assert(
      this.#index.count >= lastKeptId,
      `truncation after id ${lastKeptId} runs on a log ending at ${this.#index.count}`,
    );
    if (this.#index.count === lastKeptId) {
      queued.resolve([]);
      return;
    }
    const removed = this.read(lastKeptId + 1, this.#index.count - lastKeptId);
    let planned: PlannedTruncation;
    try {
      planned = this.#planTruncation(lastKeptId);
      // The bytes before the cut must be on disk before the intent that a restart would redo.
      await this.#closeWriter();
      await this.#runSteps(commitSteps(this.#logDir, planned.plan));
    } catch (error) {
      this.#failAll([queued], error);
      return;
    }
    const refuse = (reason: string): StorageError => new StorageError('STORAGE_FAILED', reason);
    const firstIds = this.#segments.map((segment) => segment.firstId);
    try {
      await this.#runSteps(applySteps(this.#logDir, planned.plan, firstIds, refuse));
    } catch (error) {
      this.#broken = new StorageError(
        'STORAGE_FAILED',
        `the truncation after id ${lastKeptId} was committed but could not be finished (${String(error)}); restart the node: opening ${this.#options.dataDir} finishes it`,
      );
      this.#failAll([queued], this.#broken);
      return;
    }
    this.#applyToIndex(planned);
    assert(
      this.lastId() === lastKeptId,
      `truncation ends the log at ${this.lastId()}, not ${lastKeptId}`,
    );
    this.#log.info(
      {
        event: 'log-truncated',
        lastKeptId,
        removedFromId: lastKeptId + 1,
        removedToId: lastKeptId + removed.length,
      },
      `truncated the log after id ${lastKeptId}: removed ids ${lastKeptId + 1}..${lastKeptId + removed.length}`,
    );
    queued.resolve(removed);
  }

  async #runSteps(steps: readonly TruncationStep[]): Promise<void> {
    for (const step of steps) {
      await this.#options.beforeTruncationStep?.(step.name);
      await step.run();
    }
  }

  /**
   * Where to cut: at the start of the record holding id lastKeptId + 1. Entries of one record lie
   * back to back, and a record header (>= 25 bytes) separates records, so walking back while
   * entries touch finds the record's first id; the record read back from disk confirms it.
   */
  #planTruncation(lastKeptId: number): PlannedTruncation {
    const firstRemoved = lastKeptId + 1;
    const segment = this.#segments[this.#segmentIndexOf(firstRemoved)]!;
    let recordFirstId = firstRemoved;
    while (recordFirstId > segment.firstId && this.#touchesNext(recordFirstId - 1)) {
      recordFirstId -= 1;
    }
    const cutOffset =
      recordFirstId === segment.firstId
        ? 0
        : this.#index.offset(recordFirstId - 2) + 4 + this.#index.length(recordFirstId - 2);
    const header = Buffer.alloc(HEADER_BYTES);
    readSync(segment.readFd, header, 0, HEADER_BYTES, cutOffset);
    const record = Buffer.alloc(HEADER_BYTES + header.readUInt32LE(0));
    readSync(segment.readFd, record, 0, record.length, cutOffset);
    const decoded = decodeRecord(record, 0);
    assert(
      decoded.kind === 'record' &&
        decoded.batch.firstId === recordFirstId &&
        decoded.batch.firstId + decoded.batch.count > firstRemoved,
      `the record at offset ${cutOffset} of ${segment.path} should hold ids ${recordFirstId}..${firstRemoved}`,
    );
    const kept =
      recordFirstId <= lastKeptId
        ? encodeBatch(this.read(recordFirstId, lastKeptId - recordFirstId + 1), undefined)
        : undefined;
    return {
      plan: {
        lastKeptId,
        segmentFirstId: segment.firstId,
        cutOffset,
        keptRecord: kept?.record ?? Buffer.alloc(0),
      },
      recordFirstId,
      kept,
    };
  }

  /** True if entry `id + 1` starts right where entry `id` ends: both are in one record. */
  #touchesNext(id: number): boolean {
    return this.#index.offset(id) === this.#index.offset(id - 1) + 4 + this.#index.length(id - 1);
  }

  /** The files now hold the truncated log: drop the later segments and the removed index entries. */
  #applyToIndex({ plan, recordFirstId, kept }: PlannedTruncation): void {
    const position = this.#segments.findIndex((segment) => segment.firstId === plan.segmentFirstId);
    for (const dropped of this.#segments.splice(position + 1)) closeSync(dropped.readFd);
    this.#index.truncate(recordFirstId - 1);
    if (kept !== undefined) {
      for (let index = 0; index < kept.count; index++) {
        this.#index.push(
          plan.cutOffset + kept.entryOffsets[index]!,
          kept.messageLengths[index]!,
          kept.epoch,
        );
      }
    }
    this.#segments[position]!.size = plan.cutOffset + plan.keptRecord.length;
  }

  /** Makes what the writer wrote durable and closes it; the next write opens the last segment. */
  async #closeWriter(): Promise<void> {
    if (this.#writer === undefined) return;
    await this.#datasync(this.#writer);
    await this.#writer.close();
    this.#writer = undefined;
    this.#dirty = false;
  }

  #failAll(group: readonly QueuedWrite[], cause: unknown): void {
    const error = toStorageError(cause, this.#logDir);
    this.#log.error({ event: 'storage-failed', code: error.code, err: cause }, error.message);
    const failed = [...group, ...this.#queue];
    this.#queue = [];
    this.#acceptedLastId = this.#index.count;
    for (const queued of failed) queued.reject(error);
  }

  async #segmentForWrite(): Promise<[Segment, FileHandle]> {
    const current = this.#segments[this.#segments.length - 1];
    if (
      current !== undefined &&
      this.#writer !== undefined &&
      current.size < this.#options.segmentBytes
    ) {
      return [current, this.#writer];
    }
    if (current !== undefined && current.size < this.#options.segmentBytes) {
      // Writes go to explicit positions (segment.size), never "to the end of the file", so no
      // stray byte past the last good record can ever shift where the next record lands.
      this.#writer = await open(current.path, 'r+');
      return [current, this.#writer];
    }
    // Roll over: make the old segment durable, then start a new one named by its first id.
    if (this.#writer !== undefined) {
      await this.#datasync(this.#writer);
      await this.#writer.close();
      this.#writer = undefined;
    }
    const firstId = this.#index.count + 1;
    const path = join(this.#logDir, segmentName(firstId));
    this.#writer = await open(path, 'wx+');
    await syncDirectory(this.#logDir);
    const segment: Segment = { firstId, path, readFd: openSync(path, 'r'), size: 0 };
    this.#segments.push(segment);
    return [segment, this.#writer];
  }

  async #syncIfDirty(): Promise<void> {
    if (!this.#dirty || this.#writer === undefined) return;
    this.#dirty = false;
    await this.#datasync(this.#writer).catch((error: unknown) => {
      this.#log.error({ event: 'fsync-failed', err: error }, 'periodic fsync failed');
    });
  }

  async #datasync(writer: FileHandle): Promise<void> {
    const startedMs = performance.now();
    await writer.datasync();
    this.#options.onFsync?.(performance.now() - startedMs);
  }

  #segmentIndexOf(id: number): number {
    let low = 0;
    let high = this.#segments.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.#segments[mid]!.firstId <= id) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  /**
   * Reads one segment record by record, in bounded chunks. A bad record at the very end of the
   * last segment is a write torn by a crash: it was never acknowledged, so it is cut off. A bad
   * record anywhere else means the disk lost data we acknowledged: refuse to start.
   */
  async #scan(
    path: string,
    firstId: number,
    isLast: boolean,
    keys: [string, KeyedAppend][],
  ): Promise<void> {
    const handle = await open(path, 'r');
    let size: number;
    try {
      size = (await handle.stat()).size;
      let base = 0;
      let buffer = Buffer.alloc(0);
      let offset = 0;
      for (;;) {
        if (base + offset === size) break;
        const result = decodeRecord(buffer, offset);
        if (result.kind === 'incomplete') {
          if (base + buffer.length >= size) {
            await this.#tornTail(path, base + offset, size, 'an incomplete record', isLast);
            size = base + offset;
            break;
          }
          const want = Math.max(SCAN_CHUNK_BYTES, result.needBytes);
          const chunk = Buffer.allocUnsafe(Math.min(want, size - base - buffer.length));
          const { bytesRead } = await handle.read(chunk, 0, chunk.length, base + buffer.length);
          buffer = Buffer.concat([buffer.subarray(offset), chunk.subarray(0, bytesRead)]);
          base += offset;
          offset = 0;
          continue;
        }
        if (result.kind === 'corrupt') {
          const at = base + offset;
          // Torn only if nothing valid follows: a valid record after the bad one means the bad
          // one was acknowledged once, and cutting there would silently drop acknowledged data.
          if (isLast && !(await validRecordAfter(handle, at + 1, size))) {
            await this.#tornTail(path, at, size, result.reason, isLast);
            size = at;
            break;
          }
          throw this.#corrupt(path, at, result.reason);
        }
        const batch = result.batch;
        const at = base + offset;
        if (batch.firstId !== this.#index.count + 1) {
          throw this.#corrupt(
            path,
            at,
            `record holds id ${batch.firstId}, expected ${this.#index.count + 1}`,
          );
        }
        if (batch.idempotencyKey !== undefined)
          keys.push([batch.idempotencyKey, { firstId: batch.firstId, count: batch.count }]);
        for (let index = 0; index < batch.count; index++) {
          this.#index.push(
            at + batch.entryOffsets[index]!,
            batch.messageLengths[index]!,
            batch.epoch,
          );
        }
        offset += result.recordBytes;
      }
    } finally {
      await handle.close();
    }
    this.#segments.push({ firstId, path, readFd: openSync(path, 'r'), size });
  }

  async #tornTail(
    path: string,
    at: number,
    size: number,
    reason: string,
    isLast: boolean,
  ): Promise<void> {
    if (!isLast) throw this.#corrupt(path, at, reason);
    const writable = await open(path, 'r+');
    try {
      await writable.truncate(at);
      await writable.sync();
    } finally {
      await writable.close();
    }
    this.#log.warn(
      { event: 'torn-tail-truncated', file: path, offset: at, droppedBytes: size - at, reason },
      `dropped ${size - at} bytes at offset ${at} of ${path}: ${reason}, a write torn by a crash (never acknowledged); the ${this.#index.count} entries before it are intact`,
    );
  }

  #corrupt(path: string, offset: number, reason: string): StorageError {
    return new StorageError(
      'STORAGE_CORRUPT',
      `${path} is corrupt at offset ${offset} (${reason}) with valid data after it; the node will not start on a log with a hole. Restore the file from a backup, or move ${this.#options.dataDir} aside to start empty and let the node catch up from the master`,
    );
  }

  async #lock(): Promise<void> {
    const path = join(this.#options.dataDir, 'LOCK');
    const directory = resolvePath(this.#options.dataDir);
    if (OPEN_IN_THIS_PROCESS.has(directory)) {
      throw new StorageError(
        'STORAGE_LOCKED',
        `${this.#options.dataDir} is already open in this process`,
      );
    }
    try {
      await writeFile(path, String(process.pid), { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(path, 'utf8')).trim());
      // An empty or unreadable LOCK is what a crash between creating it and writing the pid
      // leaves: nobody holds it.
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new StorageError(
          'STORAGE_LOCKED',
          `${this.#options.dataDir} is in use by process ${holder}; stop it, or give this node its own DATA_DIR`,
        );
      }
      // The holder is gone (a crash): take the directory over.
      await writeFile(path, String(process.pid));
    }
    OPEN_IN_THIS_PROCESS.add(directory);
    this.#locked = true;
  }

  async #readIdentity(): Promise<LogIdentity | undefined> {
    const path = join(this.#options.dataDir, 'identity.json');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as Partial<LogIdentity>;
      if (typeof parsed.logId === 'string' && Number.isSafeInteger(parsed.epoch)) {
        return { logId: parsed.logId, epoch: parsed.epoch! };
      }
    } catch {
      // Reported below.
    }
    throw new StorageError(
      'STORAGE_CORRUPT',
      `${path} is not a valid identity file; restore it or move the data directory aside`,
    );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A process killed with -9 but not yet reaped by its parent is a zombie: it holds nothing.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * True if a record that passes its checksum starts anywhere in [from, size). Used only on the
 * rare recovery path after a bad record, so reading the rest of one segment is acceptable.
 */
async function validRecordAfter(handle: FileHandle, from: number, size: number): Promise<boolean> {
  if (from >= size) return false;
  const rest = Buffer.allocUnsafe(size - from);
  const { bytesRead } = await handle.read(rest, 0, rest.length, from);
  const bytes = rest.subarray(0, bytesRead);
  for (let offset = 0; offset + HEADER_BYTES <= bytes.length; offset++) {
    if (decodeRecord(bytes, offset).kind === 'record') return true;
  }
  return false;
}

function toStorageError(error: unknown, where: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StorageError(
      'STORAGE_FULL',
      `the disk holding ${where} is full; nothing was stored. Free space or grow the disk; appends resume by themselves`,
    );
  }
  return new StorageError(
    'STORAGE_FAILED',
    `writing to ${where} failed (${code ?? String(error)}); nothing was stored`,
  );
}
