import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochEnd, truncationPoint } from './epoch-end.js';

/** A log given by the epoch of each entry, id 1 first. */
function epochs(...list: number[]): (id: number) => number {
  return (id) => {
    const epoch = list[id - 1];
    if (epoch === undefined) throw new Error(`no entry ${id}`);
    return epoch;
  };
}

test('epochEnd: the last id whose entry epoch is <= the one asked, and that epoch', () => {
  const log = epochs(1, 1, 2, 2, 2, 5, 7);
  const cases: [number, { epoch: number; endId: number }][] = [
    [0, { epoch: 0, endId: 0 }],
    [1, { epoch: 1, endId: 2 }],
    [2, { epoch: 2, endId: 5 }],
    [3, { epoch: 2, endId: 5 }],
    [4, { epoch: 2, endId: 5 }],
    [5, { epoch: 5, endId: 6 }],
    [6, { epoch: 5, endId: 6 }],
    [7, { epoch: 7, endId: 7 }],
    [9, { epoch: 7, endId: 7 }],
  ];
  for (const [asked, expected] of cases) {
    assert.deepEqual(epochEnd(asked, 7, log), expected, `epoch ${asked}`);
  }
  assert.deepEqual(epochEnd(3, 0, log), { epoch: 0, endId: 0 }, 'an empty log');
});

test('truncationPoint: repeated questions converge on the common prefix (KIP-279)', () => {
  // [follower log, master log, the common prefix]
  const cases: [number[], number[], number][] = [
    [[1, 1, 1], [1, 1, 1, 3], 3],
    [[1, 1, 1], [1, 1], 2],
    [[1, 3], [1, 2, 4], 1],
    [[1, 2, 2, 2], [1, 2, 3, 3], 2],
    [[1, 3, 3], [1, 2, 2, 4], 1],
    [[2, 2], [3, 3, 3], 0],
    [[], [1, 1], 0],
    [[1, 1, 4, 4, 4], [1, 1, 4, 5], 3],
  ];
  for (const [ownList, masterList, common] of cases) {
    const own = [...ownList];
    const master = epochs(...masterList);
    for (let round = 0; round < 10; round++) {
      const lastId = own.length;
      if (lastId === 0) break;
      const answer = epochEnd(own[lastId - 1]!, masterList.length, master);
      const cut = truncationPoint(lastId, answer, epochs(...own));
      if (cut === lastId) break;
      own.length = cut;
    }
    assert.equal(
      own.length,
      common,
      `${JSON.stringify(ownList)} against ${JSON.stringify(masterList)}`,
    );
  }
});
