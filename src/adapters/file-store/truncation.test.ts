import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, open, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Entry, LogIdentity } from '../../core/entry.js';
import type { KeyedAppend } from '../../core/idempotency.js';
import { entriesOf } from '../log-store-conformance.js';
import type { Logger } from '../logger.js';
import { FileLogStore, StorageError, type FileLogStoreOptions } from './file-log-store.js';
import { decodeIntent, encodeIntent, INTENT_NAME, type TruncationStepName } from './truncation.js';

const IDENTITY: LogIdentity = { logId: 'c0ffee00-0000-4000-8000-00000000000t', epoch: 1 };
/** 60 entries of 200-byte messages in batches of 6 (keyed), over 4 KiB segments: 3 segments. */
const BATCH = 6;
const LOG: Entry[] = entriesOf(1, 60, 1, 200);

function memoryLogger(): { logger: Logger; events: string[] } {
  const events: string[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        events.push(String((JSON.parse(line) as { event?: string }).event));
      },
    },
  );
  return { logger, events };
}

function storeIn(dataDir: string, options: Partial<FileLogStoreOptions> = {}): FileLogStore {
  return new FileLogStore({
    dataDir,
    fsync: 'always',
    fsyncIntervalMs: 10,
    segmentBytes: 4096,
    logger: memoryLogger().logger,
    ...options,
  });
}

function keysUpTo(lastKeptId: number): [string, KeyedAppend][] {
  const keys: [string, KeyedAppend][] = [];
  for (let first = 1; first + BATCH - 1 <= lastKeptId; first += BATCH) {
    keys.push([`k${first}`, { firstId: first, count: BATCH }]);
  }
  return keys;
}

function errno(code: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: simulated`);
  error.code = code;
  return error;
}

/** What a store opened over `dataDir` holds: the log and keys expected, no intent left behind. */
async function assertOpensAs(dataDir: string, lastKeptId: number, label: string): Promise<void> {
  const reader = storeIn(dataDir);
  try {
    const state = await reader.open();
    assert.equal(state.lastId, lastKeptId, label);
    assert.deepEqual(state.keys, keysUpTo(lastKeptId), label);
    assert.deepEqual(reader.read(1, 100), LOG.slice(0, lastKeptId), label);
    const names = await readdir(join(dataDir, 'log'));
    assert.ok(!names.some((name) => name.startsWith(INTENT_NAME)), `${label}: ${names.join()}`);
    // Appends continue the recovered log, and that survives a reopen too.
    const next = entriesOf(lastKeptId + 1, lastKeptId + 2, 2, 10);
    await reader.append(next, 'after');
    await reader.close();
    const again = storeIn(dataDir);
    await again.open();
    assert.deepEqual(again.read(1, 100), [...LOG.slice(0, lastKeptId), ...next], label);
    await again.close();
  } finally {
    await reader.close();
  }
}

void describe('FileLogStore truncation', () => {
  let root: string;
  let dataDir: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'rlog-truncation-'));
    dataDir = join(root, 'data');
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** An open store over `dataDir` holding LOG, in keyed batches of BATCH entries. */
  async function writeLog(options: Partial<FileLogStoreOptions> = {}): Promise<FileLogStore> {
    const writer = storeIn(dataDir, options);
    await writer.open();
    await writer.setIdentity(IDENTITY);
    for (let at = 0; at < LOG.length; at += BATCH) {
      await writer.append(LOG.slice(at, at + BATCH), `k${at + 1}`);
    }
    return writer;
  }

  void it('the intent round-trips, and a damaged one reads as damaged', () => {
    const plan = {
      lastKeptId: 2 ** 40,
      segmentFirstId: 7,
      cutOffset: 4095,
      keptRecord: Buffer.from('kept'),
    };
    const bytes = encodeIntent(plan);
    assert.deepEqual(decodeIntent(bytes), plan);
    assert.deepEqual(decodeIntent(encodeIntent({ ...plan, keptRecord: Buffer.alloc(0) })), {
      ...plan,
      keptRecord: Buffer.alloc(0),
    });
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1]! ^= 1;
    assert.equal(decodeIntent(flipped), 'checksum mismatch');
    assert.equal(decodeIntent(bytes.subarray(0, bytes.length - 1)), 'length mismatch');
    assert.equal(decodeIntent(bytes.subarray(0, 5)), 'too short');
  });

  // A crash is simulated by copying the data directory before each step (what a crash right there
  // leaves, page cache included): opened, each copy holds the old log up to the commit, the new one
  // from it on. Torn variants cut the file being written at that step in half.
  const cuts = [
    { what: 'inside a batch in a middle segment', lastKeptId: 27 },
    { what: 'at a batch boundary', lastKeptId: 30 },
    { what: 'inside the first batch', lastKeptId: 2 },
    { what: 'to 0', lastKeptId: 0 },
  ];
  for (const { what, lastKeptId } of cuts) {
    void it(`a crash at every step of a truncation ${what} leaves the old log or the new`, async () => {
      const copies: { step: TruncationStepName; dir: string }[] = [];
      const writer = await writeLog({
        beforeTruncationStep: async (step) => {
          const dir = join(root, `crash-${copies.length}-${step}`);
          await cp(dataDir, dir, { recursive: true });
          copies.push({ step, dir });
        },
      });
      assert.ok((await readdir(join(dataDir, 'log'))).length >= 3, 'the log spans segments');
      assert.deepEqual(await writer.truncateAfter(lastKeptId), LOG.slice(lastKeptId));
      await writer.close();
      const names = copies.map(({ step }) => step);
      assert.deepEqual(names.slice(0, 3), ['write-intent', 'commit-intent', 'drop-segment']);
      assert.deepEqual(names.slice(-2), ['sync-segment', 'remove-intent']);
      assert.equal(names.includes('write-kept-record'), lastKeptId % BATCH !== 0);

      const committedAt = names.indexOf('commit-intent') + 1;
      for (const [position, { step, dir }] of copies.entries()) {
        const label = `crash before step ${position} (${step})`;
        const expected = position < committedAt ? LOG.length : lastKeptId;
        if (step === 'commit-intent') {
          // The temporary intent is whole here; a torn one is the same to recovery.
          const torn = `${dir}-torn`;
          await cp(dir, torn, { recursive: true });
          const temporary = join(torn, 'log', `${INTENT_NAME}.tmp`);
          await truncate(temporary, Math.floor((await readFile(temporary)).length / 2));
          await assertOpensAs(torn, LOG.length, `${label}, torn intent`);
        }
        if (step === 'sync-segment' && names.includes('write-kept-record')) {
          const plan = decodeIntent(await readFile(join(dir, 'log', INTENT_NAME)));
          assert.ok(typeof plan !== 'string');
          const torn = `${dir}-torn`;
          await cp(dir, torn, { recursive: true });
          const segment = join(torn, 'log', `${String(plan.segmentFirstId).padStart(20, '0')}.seg`);
          await truncate(segment, plan.cutOffset + Math.floor(plan.keptRecord.length / 2));
          await assertOpensAs(torn, lastKeptId, `${label}, torn kept record`);
        }
        await assertOpensAs(dir, expected, label);
      }
      await assertOpensAs(dataDir, lastKeptId, 'after the truncation resolved');
    });
  }

  void it('a failure before the commit keeps the old log and fails what is queued behind', async () => {
    for (const failAt of ['write-intent', 'commit-intent'] as const) {
      await rm(dataDir, { recursive: true, force: true });
      const writer = await writeLog({
        beforeTruncationStep: (step) =>
          step === failAt ? Promise.reject(errno('ENOSPC')) : Promise.resolve(),
      });
      const truncation = writer.truncateAfter(20);
      const behind = writer.append(entriesOf(21, 21, 2));
      await assert.rejects(truncation, (error: unknown) => {
        return error instanceof StorageError && error.code === 'STORAGE_FULL';
      });
      await assert.rejects(behind, StorageError);
      assert.equal(writer.lastId(), 60, failAt);
      assert.deepEqual(writer.read(59, 10), LOG.slice(58), failAt);
      await writer.append(entriesOf(61, 61, 1, 200));
      await writer.close();
      const reader = storeIn(dataDir);
      assert.equal((await reader.open()).lastId, 61, failAt);
      await reader.close();
    }
  });

  void it('a failure after the commit refuses writes until a restart, which finishes it', async () => {
    const writer = await writeLog({
      beforeTruncationStep: (step) =>
        step === 'cut-segment' ? Promise.reject(errno('EIO')) : Promise.resolve(),
    });
    await assert.rejects(writer.truncateAfter(27), /committed but could not be finished.*restart/);
    await assert.rejects(writer.append(entriesOf(28, 28)), StorageError);
    await assert.rejects(writer.truncateAfter(10), StorageError);
    await writer.close();
    const { logger, events } = memoryLogger();
    const reader = storeIn(dataDir, { logger });
    assert.equal((await reader.open()).lastId, 27);
    assert.ok(events.includes('truncation-finished'), events.join());
    await reader.close();
    await assertOpensAs(dataDir, 27, 'reopened');
  });

  void it('is fsynced and logged under FSYNC=never too', async () => {
    const { logger, events } = memoryLogger();
    const writer = await writeLog({ fsync: 'never', logger });
    const probe = await open(join(root, 'probe'), 'w');
    const prototype = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const original = prototype.datasync;
    let datasyncs = 0;
    prototype.datasync = function (this: unknown) {
      datasyncs += 1;
      return original.call(this);
    };
    try {
      await writer.truncateAfter(33);
    } finally {
      prototype.datasync = original;
    }
    assert.ok(datasyncs >= 2, `${datasyncs} datasyncs: the data before the cut, and the cut`);
    assert.ok(events.includes('log-truncated'), events.join());
    await writer.close();
    await assertOpensAs(dataDir, 33, 'reopened');
  });

  void it('refuses to open with a damaged intent, or one whose segment lost the kept data', async () => {
    const writer = await writeLog();
    await writer.close();
    const intent = join(dataDir, 'log', INTENT_NAME);
    const plan = {
      lastKeptId: 3,
      segmentFirstId: 1,
      cutOffset: 100_000,
      keptRecord: Buffer.alloc(0),
    };
    await writeFile(intent, encodeIntent(plan));
    await assert.rejects(storeIn(dataDir).open(), /STORAGE_CORRUPT|fewer than the truncation/);
    const damaged = encodeIntent({ ...plan, cutOffset: 0 });
    damaged[damaged.length - 1]! ^= 1;
    await writeFile(intent, damaged);
    await assert.rejects(storeIn(dataDir).open(), (error: unknown) => {
      return (
        error instanceof StorageError &&
        error.code === 'STORAGE_CORRUPT' &&
        error.message.includes(INTENT_NAME)
      );
    });
  });
});
