import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvariantError } from '../core/assert.js';
import { FRESH_ELECTION_STATE, type ElectionState } from '../core/election-state.js';
import { runElectionStateConformance } from './election-state-conformance.js';
import {
  decodeElectionState,
  ELECTION_STATE_FILE,
  ElectionStateFile,
  encodeElectionState,
} from './election-state-file.js';
import { StorageError } from './file-store/file-log-store.js';
import { memoryLogger } from '../testing/memory-logger.js';

function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rlog-election-'));
}

function fileIn(dataDir: string, logger = memoryLogger().logger): ElectionStateFile {
  return new ElectionStateFile({ dataDir, logger });
}

runElectionStateConformance('ElectionStateFile', {
  async create() {
    const dataDir = await tempDir();
    return {
      store: fileIn(dataDir),
      reopen: () => Promise.resolve(fileIn(dataDir)),
      cleanup: () => rm(dataDir, { recursive: true, force: true }),
    };
  },
});

const VOTE: ElectionState = { epoch: 7, votedFor: 'sub1', acceptedEpoch: 5 };

void describe('ElectionStateFile on disk', () => {
  let dataDir: string;
  let path: string;

  beforeEach(async () => {
    dataDir = await tempDir();
    path = join(dataDir, ELECTION_STATE_FILE);
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function saved(state: ElectionState): Promise<string> {
    const store = fileIn(dataDir);
    await store.load();
    await store.save(state);
    return readFile(path, 'utf8');
  }

  void it('writes one line of JSON with its format and checksum, and nothing else', async () => {
    const text = await saved(VOTE);
    assert.equal(text, encodeElectionState(VOTE));
    assert.match(
      text,
      /^\{"format":1,"epoch":7,"votedFor":"sub1","acceptedEpoch":5,"crc32":\d+\}\n$/,
    );
    assert.deepEqual(decodeElectionState(text), VOTE);
    assert.deepEqual(await readdir(dataDir), [ELECTION_STATE_FILE], 'no temporary file left');
  });

  void it('creates a missing data directory: a fresh node', async () => {
    const nested = join(dataDir, 'not', 'yet');
    const store = fileIn(nested);
    assert.deepEqual(await store.load(), FRESH_ELECTION_STATE);
    await store.save(VOTE);
    assert.deepEqual(await fileIn(nested).load(), VOTE);
  });

  const corruptions: [name: string, corrupt: (valid: string) => string, reason: RegExp][] = [
    ['an empty file', () => '', /not JSON/],
    ['a torn file (its first half)', (valid) => valid.slice(0, valid.length / 2), /not JSON/],
    ['a digit changed', (valid) => valid.replace('"epoch":7', '"epoch":8'), /checksum mismatch/],
    ['a vote changed', (valid) => valid.replace('sub1', 'sub2'), /checksum mismatch/],
    ['a missing checksum', (valid) => valid.replace(/,"crc32":\d+/, ''), /checksum mismatch/],
    ['a JSON array', () => '[7,"sub1",5]\n', /not a JSON object/],
    ['a JSON null', () => 'null\n', /not a JSON object/],
    [
      'a format from a newer version',
      (valid) => valid.replace('"format":1', '"format":2'),
      /format 2/,
    ],
    ['zero bytes of a lost write', (valid) => '\0'.repeat(valid.length), /not JSON/],
  ];
  for (const [name, corrupt, reason] of corruptions) {
    void it(`refuses to load ${name}, naming the file and the fix, and leaves it in place`, async () => {
      const bad = corrupt(await saved(VOTE));
      await writeFile(path, bad);
      await assert.rejects(fileIn(dataDir).load(), (error: unknown) => {
        assert.ok(error instanceof StorageError);
        assert.equal(error.code, 'STORAGE_CORRUPT');
        assert.ok(error.message.startsWith(`${path} is corrupt (`), error.message);
        assert.match(error.message, reason);
        assert.match(error.message, /could vote twice in one epoch/);
        assert.match(error.message, /Restore the file from a backup/);
        return true;
      });
      assert.equal(await readFile(path, 'utf8'), bad, 'never reset silently');
    });
  }

  void it('refuses a well-formed file whose state breaks an invariant', async () => {
    await mkdir(dataDir, { recursive: true });
    await writeFile(path, encodeElectionState({ epoch: 3, votedFor: null, acceptedEpoch: 4 }));
    await assert.rejects(fileIn(dataDir).load(), (error: unknown) => {
      return error instanceof InvariantError && error.message.startsWith(`${path}: acceptedEpoch`);
    });
  });

  void it('removes a temporary file a crash left behind and loads the last completed save', async () => {
    await saved(VOTE);
    const torn = encodeElectionState({ epoch: 9, votedFor: 'sub2', acceptedEpoch: 9 }).slice(0, 20);
    await writeFile(`${path}.tmp`, torn);
    const { logger, lines } = memoryLogger();
    assert.deepEqual(await fileIn(dataDir, logger).load(), VOTE);
    assert.deepEqual(await readdir(dataDir), [ELECTION_STATE_FILE]);
    const removed = lines.filter((line) => line.event === 'election-state-temp-removed');
    assert.equal(removed.length, 1);
    assert.equal(removed[0]?.level, 'warn');
  });

  void it('a temporary file with no state file is still a fresh node, and is removed', async () => {
    await writeFile(`${path}.tmp`, encodeElectionState(VOTE));
    assert.deepEqual(await fileIn(dataDir).load(), FRESH_ELECTION_STATE);
    assert.deepEqual(await readdir(dataDir), []);
  });

  void it('a failed save rejects with a StorageError naming the file, and the next save works', async () => {
    const store = fileIn(dataDir);
    await store.load();
    await store.save(VOTE);
    // A directory where the temporary file goes: opening it for writing fails (EISDIR).
    await mkdir(`${path}.tmp`);
    const next: ElectionState = { epoch: 8, votedFor: null, acceptedEpoch: 5 };
    await assert.rejects(store.save(next), (error: unknown) => {
      return (
        error instanceof StorageError &&
        error.code === 'STORAGE_FAILED' &&
        error.message.startsWith(`saving ${path} failed (EISDIR)`)
      );
    });
    assert.deepEqual(decodeElectionState(await readFile(path, 'utf8')), VOTE);
    await rmdir(`${path}.tmp`);
    await assert.rejects(
      store.save({ ...next, epoch: 7 }),
      InvariantError,
      'checked against the failed save',
    );
    await store.save({ ...next, votedFor: 'sub3' });
    assert.deepEqual(await fileIn(dataDir).load(), { ...next, votedFor: 'sub3' });
  });
});
