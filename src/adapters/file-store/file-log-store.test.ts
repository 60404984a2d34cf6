import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import { once } from 'node:events';
import {
  appendFile,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvariantError } from '../../core/assert.js';
import type { Entry, LogIdentity } from '../../core/entry.js';
import { entriesOf, runLogStoreConformance } from '../log-store-conformance.js';
import {
  FileLogStore,
  StorageError,
  type FileLogStoreOptions,
  type WriteAt,
} from './file-log-store.js';
import { decodeRecord, encodeBatch } from './record-codec.js';
import { PackedEntry } from '../../protocol/packed-entry.js';
import { memoryLogger } from '../../testing/memory-logger.js';

const IDENTITY: LogIdentity = { logId: 'c0ffee00-0000-4000-8000-000000000001', epoch: 1 };

function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rlog-file-store-'));
}

function storeIn(dataDir: string, options: Partial<FileLogStoreOptions> = {}): FileLogStore {
  return new FileLogStore({
    dataDir,
    fsync: 'always',
    fsyncIntervalMs: 10,
    segmentBytes: 64 * 1024 * 1024,
    logger: memoryLogger().logger,
    ...options,
  });
}

function fileStoreFactory(options: Partial<FileLogStoreOptions>): {
  create(): Promise<{
    store: FileLogStore;
    reopen(): Promise<FileLogStore>;
    cleanup(): Promise<void>;
  }>;
} {
  return {
    async create() {
      const dataDir = await tempDir();
      let current = storeIn(dataDir, options);
      return {
        store: current,
        async reopen() {
          await current.close();
          current = storeIn(dataDir, options);
          return current;
        },
        async cleanup() {
          await current.close().catch(() => undefined);
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    },
  };
}

runLogStoreConformance(
  'FileLogStore (fsync always, one segment)',
  fileStoreFactory({ fsync: 'always' }),
);
runLogStoreConformance(
  'FileLogStore (fsync never, 4 KiB segments)',
  fileStoreFactory({ fsync: 'never', segmentBytes: 4096 }),
);

async function segmentFiles(dataDir: string): Promise<string[]> {
  return (await readdir(join(dataDir, 'log')))
    .filter((name) => name.endsWith('.seg'))
    .sort()
    .map((name) => join(dataDir, 'log', name));
}

/** Start offsets of the records of a segment file, and the file's bytes. */
async function recordsOf(path: string): Promise<{ bytes: Buffer; starts: number[] }> {
  const bytes = await readFile(path);
  const starts: number[] = [];
  let at = 0;
  while (at < bytes.length) {
    const result = decodeRecord(bytes, at);
    assert.equal(result.kind, 'record', `a whole record at ${at} of ${path}`);
    starts.push(at);
    at += result.recordBytes;
  }
  return { bytes, starts };
}

async function flipByte(path: string, offset: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const one = Buffer.alloc(1);
    await handle.read(one, 0, 1, offset);
    one[0] = one[0]! ^ 0x5a;
    await handle.write(one, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path)).size;
}

async function rejectsWith(
  promise: Promise<unknown>,
  code: StorageError['code'],
  ...mentions: string[]
): Promise<StorageError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof StorageError, `a StorageError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const mention of mentions) {
    assert.ok(caught.message.includes(mention), `"${caught.message}" mentions "${mention}"`);
  }
  return caught;
}

/** node:fs/promises FileHandle's prototype, to spy on or fail the calls the store makes. */
interface HandleMethods {
  datasync: () => Promise<void>;
  truncate: (length?: number) => Promise<void>;
}

async function handlePrototype(dataDir: string): Promise<HandleMethods> {
  const handle = await open(join(dataDir, 'probe'), 'w');
  const prototype = Object.getPrototypeOf(handle) as HandleMethods;
  await handle.close();
  await unlink(join(dataDir, 'probe'));
  return prototype;
}

/** Replaces `prototype[name]` until the returned function is called. */
function patch<K extends keyof HandleMethods>(
  prototype: HandleMethods,
  name: K,
  make: (original: HandleMethods[K]) => HandleMethods[K],
): () => void {
  const original = prototype[name];
  prototype[name] = make(original);
  return () => {
    prototype[name] = original;
  };
}

/**
 * The store's `writeAt`: `fs.writeSync`, counting its calls; told to, it tears the next write:
 * half of its bytes reach the file, then it fails with `code`, as a disk that fills up (or
 * breaks) in the middle of a record would.
 */
function tearableWrites(): {
  writeAt: WriteAt;
  calls: () => number;
  tearNext: (code: string) => void;
} {
  let calls = 0;
  let tear: string | undefined;
  return {
    writeAt: (fd, buffer, offset, length, position) => {
      calls += 1;
      const code = tear;
      if (code === undefined) return writeSync(fd, buffer, offset, length, position);
      tear = undefined;
      writeSync(fd, buffer, offset, Math.floor(length / 2), position);
      throw errno(code);
    },
    calls: () => calls,
    tearNext: (code) => {
      tear = code;
    },
  };
}

function errno(code: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: simulated`);
  error.code = code;
  return error;
}

void describe('FileLogStore', () => {
  let dataDir: string;
  const opened: FileLogStore[] = [];

  /** A store over `dataDir`, closed after the test. */
  function store(options: Partial<FileLogStoreOptions> = {}): FileLogStore {
    const made = storeIn(dataDir, options);
    opened.push(made);
    return made;
  }

  /** N entries, one record each, in one segment; the store is closed afterwards. */
  async function logOf(count: number, options: Partial<FileLogStoreOptions> = {}): Promise<void> {
    const writer = store(options);
    await writer.open();
    await writer.setIdentity(IDENTITY);
    for (const entry of entriesOf(1, count, 1, 40)) await writer.append([entry]);
    await writer.close();
  }

  beforeEach(async () => {
    dataDir = await tempDir();
  });

  afterEach(async () => {
    for (const made of opened.splice(0)) await made.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });

  void it('reads for replication with the messages of each buffer read one after the other', async () => {
    const writer = store({ segmentBytes: 4096, fsync: 'never' });
    await writer.open();
    await writer.setIdentity(IDENTITY);
    const all = [...entriesOf(1, 70, 1, 50), ...entriesOf(71, 90, 2, 7)];
    for (let at = 0; at < all.length; at += 3) await writer.append(all.slice(at, at + 3));
    const packed = writer.readForReplication(1, 1000).map((entry) => {
      assert.ok(entry instanceof PackedEntry, `entry ${entry.id} is packed`);
      return entry;
    });
    assert.deepEqual(
      packed.map((entry) => ({ id: entry.id, epoch: entry.epoch, message: entry.message })),
      all,
    );
    let runs = 1;
    for (let index = 1; index < packed.length; index++) {
      const [before, entry] = [packed[index - 1]!, packed[index]!];
      if (entry.bytes !== before.bytes) {
        runs += 1;
        assert.equal(entry.byteOffset, 0, `entry ${entry.id} starts its buffer`);
        continue;
      }
      assert.equal(entry.byteOffset, before.byteOffset + before.byteLength, `entry ${entry.id}`);
    }
    assert.ok(runs > 1 && runs < 10, `one buffer per segment read: ${runs}`);
    assert.deepEqual(writer.read(1, 1000), all, 'the files are as they were');
  });

  void describe('segments', () => {
    void it('rolls over into many segments named by their first id, reads across them', async () => {
      const writer = store({ segmentBytes: 4096, fsync: 'never' });
      await writer.open();
      await writer.setIdentity(IDENTITY);
      const all = entriesOf(1, 400, 1, 100);
      for (let at = 0; at < all.length; at += 4) await writer.append(all.slice(at, at + 4));
      const files = await segmentFiles(dataDir);
      assert.ok(files.length >= 8, `${files.length} segments`);
      const firsts: number[] = [];
      for (const [position, file] of files.entries()) {
        const name = file.slice(file.lastIndexOf('/') + 1);
        assert.match(name, /^\d{20}\.seg$/);
        const { bytes, starts } = await recordsOf(file);
        const first = decodeRecord(bytes, starts[0]!);
        assert.equal(first.kind, 'record');
        assert.equal(Number(name.slice(0, 20)), first.batch.firstId);
        firsts.push(Number(name.slice(0, 20)));
        if (position < files.length - 1) {
          assert.ok(bytes.length >= 4096, `a full segment is >= segmentBytes (${bytes.length})`);
          assert.ok(bytes.length < 4096 + 500, 'a segment rolls over at the first record past it');
        }
      }
      assert.equal(firsts[0], 1);

      const check = (reader: FileLogStore): void => {
        assert.deepEqual(reader.read(1, 1000), all);
        for (const boundary of firsts.slice(1)) {
          assert.deepEqual(reader.read(boundary - 2, 5), all.slice(boundary - 3, boundary + 2));
          assert.deepEqual(reader.get(boundary), all[boundary - 1]);
          assert.deepEqual(reader.get(boundary - 1), all[boundary - 2]);
        }
        assert.deepEqual(reader.read(3, 350), all.slice(2, 352), 'a read over most segments');
        assert.deepEqual(reader.read(1, 1000, 1000), all.slice(0, 10), 'maxBytes across segments');
      };
      check(writer);
      await writer.close();

      const reader = store({ segmentBytes: 4096, fsync: 'never' });
      const state = await reader.open();
      assert.equal(state.lastId, 400);
      check(reader);
      const more = entriesOf(401, 460, 1, 100);
      for (let at = 0; at < more.length; at += 4) await reader.append(more.slice(at, at + 4));
      assert.ok((await segmentFiles(dataDir)).length > files.length, 'rolls over after reopen');
      await reader.close();

      const again = store({ segmentBytes: 4096 });
      assert.equal((await again.open()).lastId, 460);
      assert.deepEqual(again.read(1, 1000), [...all, ...more]);
    });

    void it('reads a range of 20,000 entries across segments', async () => {
      const writer = store({ segmentBytes: 16 * 1024, fsync: 'never' });
      await writer.open();
      await writer.setIdentity(IDENTITY);
      const all: Entry[] = [];
      for (let id = 1; id <= 20_000; id++) {
        all.push({ id, epoch: 1, message: `entry ${id} ${'é'.repeat(id % 17)}` });
      }
      for (let at = 0; at < all.length; at += 250) await writer.append(all.slice(at, at + 250));
      assert.ok((await segmentFiles(dataDir)).length >= 10);
      assert.deepEqual(writer.read(1, 20_000), all);
      await writer.close();

      const reader = store({ segmentBytes: 16 * 1024 });
      assert.equal((await reader.open()).lastId, 20_000);
      assert.deepEqual(reader.read(0, 1_000_000), all);
      assert.deepEqual(reader.read(4_321, 12_345), all.slice(4_320, 4_320 + 12_345));
      const capped = reader.read(1, 20_000, 100_000);
      const bytes = capped.reduce((sum, entry) => sum + Buffer.byteLength(entry.message), 0);
      assert.ok(bytes <= 100_000 && capped.length > 1000, `${capped.length} entries, ${bytes} B`);
      assert.deepEqual(capped, all.slice(0, capped.length));
      const next = all[capped.length]!;
      assert.ok(bytes + Buffer.byteLength(next.message) > 100_000, 'stops only when full');
    });

    void it('refuses a log with a missing segment', async () => {
      await logOf(0);
      const writer = store({ segmentBytes: 4096, fsync: 'never' });
      await writer.open();
      for (const entry of entriesOf(1, 100, 1, 200)) await writer.append([entry]);
      await writer.close();
      const files = await segmentFiles(dataDir);
      assert.ok(files.length >= 3);
      await unlink(files[1]!);
      await rejectsWith(store().open(), 'STORAGE_CORRUPT', files[2]!);
    });
  });

  void describe('recovery', () => {
    const tails: [string, (next: Buffer) => Buffer][] = [
      ['the first 10 bytes of a record', (next) => next.subarray(0, 10)],
      ['3 bytes of a record header', (next) => next.subarray(0, 3)],
      ['a record missing its last byte', (next) => next.subarray(0, next.length - 1)],
      [
        'a whole record with its last payload byte flipped',
        (next) => {
          const torn = Buffer.from(next);
          torn[torn.length - 1] = torn[torn.length - 1]! ^ 0xff;
          return torn;
        },
      ],
      ['4 zero bytes', () => Buffer.alloc(4)],
      ['4 KiB of zero bytes', () => Buffer.alloc(4096)],
      [
        'a record whose second half is zeroes',
        (next) => Buffer.concat([next.subarray(0, 20), Buffer.alloc(next.length - 20)]),
      ],
    ];
    for (const [what, tail] of tails) {
      void it(`truncates a torn tail: ${what}`, async () => {
        await logOf(5);
        const [file] = await segmentFiles(dataDir);
        const goodBytes = await sizeOf(file!);
        const next = encodeBatch(entriesOf(6, 8, 1, 40), 'torn-key').record;
        const garbage = tail(next);
        await appendFile(file!, garbage);

        const { logger, lines } = memoryLogger();
        const reader = store({ logger });
        const state = await reader.open();
        assert.equal(state.lastId, 5);
        assert.deepEqual(state.keys, [], 'the torn record key is not reported');
        assert.deepEqual(reader.read(1, 100), entriesOf(1, 5, 1, 40));
        assert.equal(await sizeOf(file!), goodBytes, 'the file is cut back to its good length');
        const warnings = lines.filter((line) => line.event === 'torn-tail-truncated');
        assert.equal(warnings.length, 1);
        assert.equal(warnings[0]!.level, 'warn');
        assert.equal(warnings[0]!['droppedBytes'], garbage.length);
        assert.equal(warnings[0]!['offset'], goodBytes);
        assert.equal(warnings[0]!['file'], file);

        await reader.append(entriesOf(6, 6, 1, 40));
        await reader.close();
        const again = store();
        assert.equal((await again.open()).lastId, 6);
        assert.deepEqual(again.read(1, 100), entriesOf(1, 6, 1, 40));
      });
    }

    void it('truncates a torn tail of the last of several segments', async () => {
      const writer = store({ segmentBytes: 4096, fsync: 'never' });
      await writer.open();
      await writer.setIdentity(IDENTITY);
      for (const entry of entriesOf(1, 60, 1, 200)) await writer.append([entry]);
      await writer.close();
      const files = await segmentFiles(dataDir);
      const last = files[files.length - 1]!;
      const goodBytes = await sizeOf(last);
      await appendFile(last, encodeBatch(entriesOf(61, 61), undefined).record.subarray(0, 12));
      const reader = store({ segmentBytes: 4096 });
      assert.equal((await reader.open()).lastId, 60);
      assert.equal(await sizeOf(last), goodBytes);
      assert.deepEqual(reader.read(1, 100), entriesOf(1, 60, 1, 200));
    });

    // Arbitrary bytes at the end (not a prefix of a record, not zeroes) are followed by no valid
    // data either: per the recovery rule they are a torn tail, to be cut off like the others.
    void it('truncates a torn tail of arbitrary non-zero bytes', async () => {
      await logOf(5);
      const [file] = await segmentFiles(dataDir);
      const goodBytes = await sizeOf(file!);
      await appendFile(file!, Buffer.from('garbage left by a crash!'));
      const reader = store();
      assert.equal((await reader.open()).lastId, 5);
      assert.equal(await sizeOf(file!), goodBytes);
    });

    void it('refuses a corrupt record followed by valid ones, naming file and offset', async () => {
      await logOf(5);
      const [file] = await segmentFiles(dataDir);
      const { bytes, starts } = await recordsOf(file!);
      const second = starts[1]!;
      await flipByte(file!, second + 30);
      const reader = store();
      const error = await rejectsWith(
        reader.open(),
        'STORAGE_CORRUPT',
        file!,
        `offset ${second}`,
        'checksum mismatch',
      );
      assert.ok(!error.message.includes('undefined'));
      assert.equal(await sizeOf(file!), bytes.length, 'a refused log is left as it was');
    });

    void it('refuses a corrupt length field followed by valid records', async () => {
      await logOf(5);
      const [file] = await segmentFiles(dataDir);
      const { starts } = await recordsOf(file!);
      await flipByte(file!, starts[2]! + 3);
      await rejectsWith(store().open(), 'STORAGE_CORRUPT', file!, `offset ${starts[2]!}`);
    });

    void it('refuses any damage to a segment that is not the last one', async () => {
      const writer = store({ segmentBytes: 4096, fsync: 'never' });
      await writer.open();
      await writer.setIdentity(IDENTITY);
      for (const entry of entriesOf(1, 60, 1, 200)) await writer.append([entry]);
      await writer.close();
      const [first] = await segmentFiles(dataDir);
      const { bytes, starts } = await recordsOf(first!);
      const lastStart = starts[starts.length - 1]!;

      // The last record of the first segment, flipped: at the end of its file, but not of the log.
      await flipByte(first!, bytes.length - 1);
      await rejectsWith(store().open(), 'STORAGE_CORRUPT', first!, `offset ${lastStart}`);
      assert.equal(await sizeOf(first!), bytes.length);
      await writeFile(first!, bytes);

      // Cut short.
      await truncate(first!, bytes.length - 5);
      await rejectsWith(store().open(), 'STORAGE_CORRUPT', first!, `offset ${lastStart}`);
      await writeFile(first!, bytes);

      // Zeroes after it.
      await appendFile(first!, Buffer.alloc(64));
      await rejectsWith(store().open(), 'STORAGE_CORRUPT', first!, `offset ${bytes.length}`);
      await writeFile(first!, bytes);

      const reader = store({ segmentBytes: 4096 });
      assert.equal((await reader.open()).lastId, 60, 'restored, it opens again');
    });

    void it('refuses entries without identity.json, or with a broken one', async () => {
      await logOf(3);
      const identityPath = join(dataDir, 'identity.json');
      assert.deepEqual(JSON.parse(await readFile(identityPath, 'utf8')), IDENTITY);
      await writeFile(identityPath, '{"logId": 42');
      await rejectsWith(store().open(), 'STORAGE_CORRUPT', identityPath);
      await unlink(identityPath);
      await rejectsWith(store().open(), 'STORAGE_CORRUPT', identityPath, '3 entries');
    });

    void it('writes identity.json whole, leaving no temporary file', async () => {
      const writer = store();
      await writer.open();
      await writer.setIdentity(IDENTITY);
      await writer.setIdentity({ ...IDENTITY, epoch: 9 });
      const names = await readdir(dataDir);
      assert.ok(!names.some((name) => name.endsWith('.tmp')), names.join(', '));
      assert.deepEqual(JSON.parse(await readFile(join(dataDir, 'identity.json'), 'utf8')), {
        ...IDENTITY,
        epoch: 9,
      });
    });
  });

  void describe('LOCK', () => {
    void it('holds a LOCK with its pid while open and removes it on close', async () => {
      const writer = store();
      await writer.open();
      assert.equal(await readFile(join(dataDir, 'LOCK'), 'utf8'), String(process.pid));
      await writer.close();
      await assert.rejects(stat(join(dataDir, 'LOCK')), { code: 'ENOENT' });
    });

    void it('refuses a directory locked by a live process, takes it over once it is gone', async () => {
      await logOf(2);
      const child = spawn('sleep', ['30'], { stdio: 'ignore' });
      const exited = once(child, 'exit');
      try {
        await once(child, 'spawn');
        const pid = child.pid!;
        await writeFile(join(dataDir, 'LOCK'), String(pid));
        await rejectsWith(store().open(), 'STORAGE_LOCKED', dataDir, String(pid));
        assert.equal(await readFile(join(dataDir, 'LOCK'), 'utf8'), String(pid), 'LOCK kept');
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      const reader = store();
      assert.equal((await reader.open()).lastId, 2, 'a dead holder is taken over');
      assert.equal(await readFile(join(dataDir, 'LOCK'), 'utf8'), String(process.pid));
    });

    void it('takes over a stale LOCK of a process that exited', async () => {
      const child = spawn('true', [], { stdio: 'ignore' });
      await once(child, 'exit');
      await writeFile(join(dataDir, 'LOCK'), String(child.pid));
      const reader = store();
      await reader.open();
      assert.equal(await readFile(join(dataDir, 'LOCK'), 'utf8'), String(process.pid));
    });

    void it('takes over a LOCK that is not a pid', async () => {
      await writeFile(join(dataDir, 'LOCK'), 'not a pid\n');
      await store().open();
      assert.equal(await readFile(join(dataDir, 'LOCK'), 'utf8'), String(process.pid));
    });

    // A crash between creating LOCK (flag wx) and writing the pid into it leaves it empty.
    void it('takes over an empty LOCK', async () => {
      await writeFile(join(dataDir, 'LOCK'), '');
      await store().open();
      assert.equal(await readFile(join(dataDir, 'LOCK'), 'utf8'), String(process.pid));
    });
  });

  void describe('fsync and group commit', () => {
    for (const fsync of ['interval', 'never'] as const) {
      void it(`fsync ${fsync}: appends persist after close()`, async () => {
        const writer = store({ fsync, fsyncIntervalMs: 5 });
        await writer.open();
        await writer.setIdentity(IDENTITY);
        await writer.append(entriesOf(1, 10), 'k1');
        await new Promise((resolve) => setTimeout(resolve, 20));
        await Promise.all([writer.append(entriesOf(11, 30)), writer.append(entriesOf(31, 31))]);
        await writer.close();
        const reader = store({ fsync });
        const state = await reader.open();
        assert.equal(state.lastId, 31);
        assert.deepEqual(state.keys, [['k1', { firstId: 1, count: 10 }]]);
        assert.deepEqual(reader.read(1, 100), entriesOf(1, 31));
      });
    }

    void it('group commit: 200 concurrent appends resolve in order in a few writes', async () => {
      const disk = tearableWrites();
      const writer = store({ fsync: 'always', writeAt: disk.writeAt });
      await writer.open();
      await writer.setIdentity(IDENTITY);
      const prototype = await handlePrototype(dataDir);
      let datasyncs = 0;
      const writesBefore = disk.calls();
      const restoreSync = patch(
        prototype,
        'datasync',
        (original) =>
          function (this: unknown) {
            datasyncs += 1;
            return original.call(this);
          },
      );
      const resolved: number[] = [];
      try {
        await Promise.all(
          entriesOf(1, 200).map((entry) =>
            writer.append([entry]).then(() => resolved.push(entry.id)),
          ),
        );
      } finally {
        restoreSync();
      }
      const writes = disk.calls() - writesBefore;
      assert.deepEqual(
        resolved,
        entriesOf(1, 200).map((entry) => entry.id),
      );
      assert.ok(datasyncs >= 1 && datasyncs <= 10, `${datasyncs} fsyncs for 200 appends`);
      assert.ok(writes >= 1 && writes <= 10, `${writes} writes for 200 appends`);
      await writer.close();
      const reader = store();
      assert.deepEqual((await reader.open()).lastId, 200);
      assert.deepEqual(reader.read(1, 300), entriesOf(1, 200));
    });

    void it('appends made in one turn of the event loop share one write, with FSYNC=never too', async () => {
      const disk = tearableWrites();
      const writer = store({ fsync: 'never', writeAt: disk.writeAt });
      await writer.open();
      await writer.setIdentity(IDENTITY);
      const writesBefore = disk.calls();
      // As requests read in one poll of the loop: each append from its own callback, with the
      // microtasks of the one before run in between (a write started at once went alone).
      const appended = await new Promise<Promise<void>[]>((resolve) => {
        const appends: Promise<void>[] = [];
        for (const entry of entriesOf(1, 5)) {
          setImmediate(() => {
            appends.push(writer.append([entry]));
            if (appends.length === 5) resolve(appends);
          });
        }
      });
      await Promise.all(appended);
      assert.equal(disk.calls() - writesBefore, 1, 'one write for five appends of one turn');
      // The next turn's append is written on its own, after them.
      await writer.append(entriesOf(6, 6));
      assert.equal(disk.calls() - writesBefore, 2);
      assert.deepEqual(writer.read(1, 10), entriesOf(1, 6));
    });
  });

  void describe('a segment changed under an open store', () => {
    /** An open store holding entries 1..4 (one record each), and its one segment file. */
    async function openWithFour(): Promise<[FileLogStore, string]> {
      const writer = store();
      await writer.open();
      await writer.setIdentity(IDENTITY);
      for (const entry of entriesOf(1, 4, 1, 40)) await writer.append([entry]);
      const [file] = await segmentFiles(dataDir);
      return [writer, file!];
    }

    void it('a read of bytes that are no longer there is an InvariantError', async () => {
      const [writer, file] = await openWithFour();
      await truncate(file, (await sizeOf(file)) - 20);
      assert.deepEqual(writer.read(1, 3), entriesOf(1, 3, 1, 40), 'what is intact still reads');
      assert.throws(() => writer.get(4), InvariantError);
      assert.throws(() => writer.read(1, 10), /short read/);
    });

    void it('an entry whose length field is not the index one is an InvariantError', async () => {
      const [writer, file] = await openWithFour();
      const handle = await open(file, 'r+');
      try {
        // Zeros where the records were, the file's size unchanged.
        await handle.write(Buffer.alloc(await sizeOf(file)), 0);
      } finally {
        await handle.close();
      }
      assert.throws(() => writer.get(2), InvariantError);
      assert.throws(() => writer.read(1, 10), /entry 1 .* has length 0 on disk, 40 in the index/);
      assert.throws(
        () => writer.readForReplication(1, 10),
        /entry 1 .* has length 0 on disk, 40 in the index/,
      );
    });

    void it('a batch whose ids skip is an InvariantError, nothing stored', async () => {
      const writer = store();
      await writer.open();
      await writer.append(entriesOf(1, 1));
      const skipping = [...entriesOf(2, 2), ...entriesOf(4, 4)];
      await assert.rejects(async () => writer.append(skipping), InvariantError);
      assert.equal(writer.lastId(), 1);
      await writer.append(entriesOf(2, 3));
      assert.deepEqual(writer.read(1, 10), entriesOf(1, 3));
    });
  });

  void describe('a failed write', () => {
    void it('rejects its group and every append queued after it, and stores none', async () => {
      const { logger, lines } = memoryLogger();
      const disk = tearableWrites();
      const writer = store({ logger, writeAt: disk.writeAt });
      await writer.open();
      await writer.setIdentity(IDENTITY);
      await writer.append(entriesOf(1, 3));
      const [file] = await segmentFiles(dataDir);
      const goodBytes = await sizeOf(file!);
      // Half the record reaches the file, then the disk is full.
      disk.tearNext('ENOSPC');
      const outcomes = await Promise.allSettled([
        writer.append(entriesOf(4, 4), 'lost-key'),
        writer.append(entriesOf(5, 6)),
        writer.append(entriesOf(7, 7)),
      ]);
      for (const outcome of outcomes) {
        assert.equal(outcome.status, 'rejected');
        assert.ok(outcome.reason instanceof StorageError);
        assert.equal(outcome.reason.code, 'STORAGE_FULL');
      }
      assert.ok(lines.some((line) => line.event === 'storage-failed' && line.level === 'error'));
      assert.equal(writer.lastId(), 3);
      assert.equal(writer.get(4), undefined);
      assert.equal(await sizeOf(file!), goodBytes, 'the half-written record is cut back');

      // An id assigned before the caller saw the failure would leave a gap: refused.
      await rejectsWith(writer.append(entriesOf(8, 8)), 'STORAGE_FAILED');
      await writer.append(entriesOf(4, 5), 'retry');
      assert.deepEqual(writer.read(1, 100), entriesOf(1, 5));
      await writer.close();

      const { logger: readerLogger, lines: readerLines } = memoryLogger();
      const reader = store({ logger: readerLogger });
      const state = await reader.open();
      assert.equal(state.lastId, 5);
      assert.deepEqual(state.keys, [['retry', { firstId: 4, count: 2 }]]);
      assert.deepEqual(reader.read(1, 100), entriesOf(1, 5));
      assert.ok(!readerLines.some((line) => line.event === 'torn-tail-truncated'));
    });

    void it('a write error other than a full disk is STORAGE_FAILED', async () => {
      const writer = store();
      await writer.open();
      await writer.setIdentity(IDENTITY);
      await writer.append(entriesOf(1, 1));
      const prototype = await handlePrototype(dataDir);
      const restore = patch(prototype, 'datasync', () => () => Promise.reject(errno('EIO')));
      try {
        await rejectsWith(writer.append(entriesOf(2, 2)), 'STORAGE_FAILED', 'EIO');
      } finally {
        restore();
      }
      assert.equal(writer.lastId(), 1);
      await writer.append(entriesOf(2, 3));
      assert.deepEqual(writer.read(1, 10), entriesOf(1, 3));
    });

    // When the write fails halfway and cutting the file back fails too, the torn bytes stay at the
    // end of the segment. The next append must not be indexed as if they were not there.
    void it('when cutting back a torn write fails too, later appends still read back', async () => {
      const disk = tearableWrites();
      const writer = store({ writeAt: disk.writeAt });
      await writer.open();
      await writer.setIdentity(IDENTITY);
      await writer.append(entriesOf(1, 3));
      const prototype = await handlePrototype(dataDir);
      disk.tearNext('EIO');
      const restoreTruncate = patch(
        prototype,
        'truncate',
        () => () => Promise.reject(errno('EIO')),
      );
      try {
        await rejectsWith(writer.append(entriesOf(4, 4, 1, 64)), 'STORAGE_FAILED');
      } finally {
        restoreTruncate();
      }
      let accepted = true;
      try {
        await writer.append(entriesOf(4, 5));
      } catch {
        accepted = false; // Refusing further appends until restart would be sound as well.
      }
      if (accepted) {
        assert.deepEqual(writer.read(1, 10), entriesOf(1, 5), 'what was acknowledged reads back');
        await writer.close();
        const reader = store();
        await reader.open();
        assert.deepEqual(reader.read(1, 10), entriesOf(1, 5), 'and survives a restart');
      }
    });
  });
});
