import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BATCH_BYTES_LIMIT, BATCH_ENTRIES_LIMIT } from '../protocol/limits.js';
import { batchLimits, CATCH_UP_BATCH_FACTOR, CATCH_UP_BEHIND_BATCHES } from './batch-limits.js';

void describe('batchLimits', () => {
  void it('keeps the configured limits for a secondary that keeps up', () => {
    assert.deepEqual(batchLimits(1, 1000, 1024 * 1024), { entries: 1000, bytes: 1024 * 1024 });
    const justUnder = CATCH_UP_BEHIND_BATCHES * 1000 - 1;
    assert.deepEqual(batchLimits(justUnder, 1000, 4096), { entries: 1000, bytes: 4096 });
  });

  void it('sends larger batches to a secondary far behind', () => {
    const behind = CATCH_UP_BEHIND_BATCHES * 1000;
    assert.deepEqual(batchLimits(behind, 1000, 1024 * 1024), {
      entries: 1000 * CATCH_UP_BATCH_FACTOR,
      bytes: 1024 * 1024 * CATCH_UP_BATCH_FACTOR,
    });
  });

  void it('never goes past what a secondary accepts', () => {
    assert.deepEqual(batchLimits(Number.MAX_SAFE_INTEGER, BATCH_ENTRIES_LIMIT, BATCH_BYTES_LIMIT), {
      entries: BATCH_ENTRIES_LIMIT,
      bytes: BATCH_BYTES_LIMIT,
    });
  });
});
