import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { entries } from '../core/fixtures.js';
import type { Rollback } from '../node/failover/rollbacks.js';
import { memoryLogger } from '../testing/memory-logger.js';
import { ROLLBACK_FILE, RollbackFile } from './rollback-file.js';

/** A rollback of `count` entries from `fromId`, with a key and a message that needs escaping. */
function rollbackOf(fromId: number, count: number): Rollback {
  const toId = fromId + count - 1;
  return {
    atMs: 1_700_000_000_000 + fromId,
    epoch: 3,
    master: 'n2',
    fromId,
    toId,
    entries: entries(fromId, toId, 2).map((entry) => ({
      ...entry,
      message: `${entry.message} "quoted"\nü`,
    })),
    keys: [[`key-${fromId}`, fromId, count]],
  };
}

void describe('RollbackFile', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'rlog-rollbacks-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  void it('loads nothing when there is no file', async () => {
    const { logger, lines } = memoryLogger();
    assert.deepEqual(await new RollbackFile(dataDir, logger).load(100), []);
    assert.deepEqual(lines, []);
  });

  void it('loads what it appended, oldest first, in a new instance', async () => {
    const written = [rollbackOf(4, 2), rollbackOf(2, 1), rollbackOf(2, 3)];
    const file = new RollbackFile(join(dataDir, 'not-yet'), memoryLogger().logger);
    for (const rollback of written) await file.append(rollback);
    const reopened = new RollbackFile(join(dataDir, 'not-yet'), memoryLogger().logger);
    assert.deepEqual(await reopened.load(100), written);
  });

  const limits: { limit: number; listed: number[] }[] = [
    { limit: 100, listed: [1, 3, 6] },
    { limit: 9, listed: [1, 3, 6] },
    { limit: 8, listed: [3, 6] },
    { limit: 7, listed: [3, 6] },
    { limit: 6, listed: [6] },
    { limit: 4, listed: [6] },
    // As RollbackList does: the newest is listed even when it alone is over the limit.
    { limit: 3, listed: [6] },
    { limit: 0, listed: [6] },
  ];
  for (const { limit, listed } of limits) {
    void it(`keeps the newest within ${limit} entries`, async () => {
      const file = new RollbackFile(dataDir, memoryLogger().logger);
      // 2, 3 and 4 entries: 9 in all.
      for (const rollback of [rollbackOf(1, 2), rollbackOf(3, 3), rollbackOf(6, 4)]) {
        await file.append(rollback);
      }
      const loaded = await file.load(limit);
      assert.deepEqual(
        loaded.map((rollback) => rollback.fromId),
        listed,
      );
    });
  }

  void it('skips a torn last line with a warning and keeps the lines before it', async () => {
    const { logger, lines } = memoryLogger();
    const file = new RollbackFile(dataDir, logger);
    const whole = [rollbackOf(1, 2), rollbackOf(3, 1)];
    for (const rollback of whole) await file.append(rollback);
    const path = join(dataDir, ROLLBACK_FILE);
    const torn = JSON.stringify(rollbackOf(4, 2)).slice(0, 40);
    await appendFile(path, torn);
    assert.ok((await readFile(path, 'utf8')).endsWith(torn), 'the file ends with the torn line');
    assert.deepEqual(await file.load(100), whole);
    const warnings = lines.filter((line) => line.event === 'rollback-line-skipped');
    assert.equal(warnings.length, 1);
    const [warning] = warnings;
    assert.ok(warning !== undefined);
    assert.equal(warning.level, 'warn');
    assert.equal(warning['path'], path);
  });

  void it('appends after a torn line on a line of its own', async () => {
    const { logger, lines } = memoryLogger();
    const file = new RollbackFile(dataDir, logger);
    await file.append(rollbackOf(1, 1));
    await appendFile(join(dataDir, ROLLBACK_FILE), '{"atMs":17');
    await file.append(rollbackOf(2, 1));
    assert.deepEqual(await file.load(100), [rollbackOf(1, 1), rollbackOf(2, 1)]);
    assert.equal(lines.filter((line) => line.event === 'rollback-line-skipped').length, 1);
  });
});
