import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { entries } from '../../core/fixtures.js';
import {
  MAX_LISTED_ROLLBACK_ENTRIES,
  MEMORY_ROLLBACKS,
  RollbackList,
  type Rollback,
} from './rollbacks.js';

/** A rollback of `count` entries starting at `fromId`, each with its own key. */
function rollbackOf(fromId: number, count: number, epoch = 2): Rollback {
  const toId = fromId + count - 1;
  return {
    atMs: 1_000 * fromId,
    epoch,
    master: 'n2',
    fromId,
    toId,
    entries: entries(fromId, toId, epoch - 1),
    keys: [[`key-${fromId}`, fromId, count]],
  };
}

void describe('RollbackList', () => {
  const cases: {
    name: string;
    maxEntries: number;
    /** `[fromId, count]` of each rollback added, oldest first. */
    added: [number, number][];
    /** `fromId` of those listed, oldest first. */
    listed: number[];
    total: number;
  }[] = [
    { name: 'empty', maxEntries: 10, added: [], listed: [], total: 0 },
    {
      name: 'within the bound',
      maxEntries: 10,
      added: [
        [1, 4],
        [5, 6],
      ],
      listed: [1, 5],
      total: 10,
    },
    {
      name: 'the oldest dropped first',
      maxEntries: 10,
      added: [
        [1, 4],
        [5, 4],
        [9, 4],
      ],
      listed: [5, 9],
      total: 12,
    },
    {
      name: 'as many of the oldest dropped as it takes',
      maxEntries: 5,
      added: [
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 5],
      ],
      listed: [4],
      total: 8,
    },
    {
      name: 'the newest kept even when it alone is over the bound',
      maxEntries: 3,
      added: [
        [1, 2],
        [3, 7],
      ],
      listed: [3],
      total: 9,
    },
  ];
  for (const { name, maxEntries, added, listed, total } of cases) {
    void it(name, () => {
      const list = new RollbackList(maxEntries);
      for (const [fromId, count] of added) list.add(rollbackOf(fromId, count));
      assert.deepEqual(
        list.list().map((rollback) => rollback.fromId),
        listed,
      );
      assert.equal(list.totalEntries, total, 'the total counts the dropped ones too');
    });
  }

  void it('lists the rollbacks as added', () => {
    const list = new RollbackList();
    const rollback = rollbackOf(3, 2);
    list.add(rollback);
    assert.deepEqual(list.list(), [rollback]);
  });

  void it(`is bounded by ${MAX_LISTED_ROLLBACK_ENTRIES} entries by default`, () => {
    const list = new RollbackList();
    list.add(rollbackOf(1, MAX_LISTED_ROLLBACK_ENTRIES));
    list.add(rollbackOf(MAX_LISTED_ROLLBACK_ENTRIES + 1, 1));
    assert.deepEqual(
      list.list().map((rollback) => rollback.fromId),
      [MAX_LISTED_ROLLBACK_ENTRIES + 1],
    );
    assert.equal(list.totalEntries, MAX_LISTED_ROLLBACK_ENTRIES + 1);
  });
});

void describe('MEMORY_ROLLBACKS', () => {
  void it('keeps nothing', async () => {
    await MEMORY_ROLLBACKS.append(rollbackOf(1, 1));
    assert.deepEqual(await MEMORY_ROLLBACKS.load(10), []);
  });
});
