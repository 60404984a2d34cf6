import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvariantError } from './assert.js';
import {
  heldUpToByW,
  resolveWriteConcern,
  WriteConcernWaiters,
  type Waiter,
  type WriteConcern,
} from './write-concern.js';
import { seededRandom, shuffled } from './fixtures.js';

function waiter(token: number, lastId: number, w: number, deadlineMs?: number): Waiter {
  return { token, lastId, w, deadlineMs };
}

const tokens = (waiters: readonly Waiter[]): number[] => waiters.map((item) => item.token);

void describe('resolveWriteConcern', () => {
  const table: [w: WriteConcern, size: number, expected: number][] = [
    ['all', 1, 1],
    ['all', 3, 3],
    ['all', 5, 5],
    ['majority', 1, 1],
    ['majority', 2, 2],
    ['majority', 3, 2],
    ['majority', 4, 3],
    ['majority', 5, 3],
    [1, 3, 1],
    [2, 3, 2],
    [3, 3, 3],
  ];
  for (const [w, size, expected] of table) {
    void it(`w=${w} in a cluster of ${size} -> ${expected}`, () => {
      assert.equal(resolveWriteConcern(w, size), expected);
    });
  }
});

void describe('heldUpToByW', () => {
  const table: [held: number[], expected: number[]][] = [
    [[4], [4]],
    [
      [5, 3, 7],
      [7, 5, 3],
    ],
    [
      [10, 0, 0],
      [10, 0, 0],
    ],
    [
      [10, 10, 2, 10, 9],
      [10, 10, 10, 9, 2],
    ],
    [
      [3, 12, 4],
      [12, 4, 3],
    ], // numeric, not lexicographic, order
  ];
  for (const [held, expected] of table) {
    void it(`${JSON.stringify(held)} -> ${JSON.stringify(expected)}`, () => {
      const copy = [...held];
      assert.deepEqual(heldUpToByW(held), expected);
      assert.deepEqual(held, copy, 'input is not mutated');
    });
  }

  void it('orders any ids as a numeric sort, largest first', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 16 }), (held) => {
        assert.deepEqual(
          heldUpToByW(held),
          [...held].sort((a, b) => b - a),
        );
      }),
    );
  });
});

void describe('WriteConcernWaiters', () => {
  void it('rejects a bad construction and an out-of-range w', () => {
    assert.throws(() => new WriteConcernWaiters(0, 10), InvariantError);
    assert.throws(() => new WriteConcernWaiters(3, 0), InvariantError);
    const waiters = new WriteConcernWaiters(3, 10);
    assert.throws(() => waiters.add(waiter(1, 1, 0)), InvariantError);
    assert.throws(() => waiters.add(waiter(1, 1, 4)), InvariantError);
    assert.equal(waiters.size, 0);
  });

  void it('releases each waiter when its own id is held by its own w nodes', () => {
    const waiters = new WriteConcernWaiters(3, 10);
    assert.ok(waiters.add(waiter(1, 1, 1)));
    assert.ok(waiters.add(waiter(2, 1, 3)));
    assert.ok(waiters.add(waiter(3, 2, 2)));
    assert.ok(waiters.add(waiter(4, 2, 1)));
    assert.equal(waiters.size, 4);
    // master holds 1..2, one secondary 1..1, the other nothing
    assert.deepEqual(tokens(waiters.release([2, 1, 0])), [1, 4]);
    assert.equal(waiters.size, 2);
    assert.deepEqual(tokens(waiters.release([2, 1, 0])), [], 'nothing is released twice');
    assert.deepEqual(tokens(waiters.release([2, 2, 1])), [3, 2]);
    assert.equal(waiters.size, 0);
  });

  const table: { held: number[]; released: number[] }[] = [
    { held: [0, 0, 0], released: [] },
    { held: [5, 0, 0], released: [11, 12, 13, 14, 15] },
    { held: [5, 3, 0], released: [11, 12, 13, 14, 15, 21, 22, 23] },
    { held: [5, 5, 1], released: [11, 12, 13, 14, 15, 21, 22, 23, 24, 25, 31] },
    { held: [5, 5, 5], released: [11, 12, 13, 14, 15, 21, 22, 23, 24, 25, 31, 32, 33, 34, 35] },
  ];
  for (const { held, released } of table) {
    void it(`held ${JSON.stringify(held)} releases ${released.length} of 15 waiters, FIFO per w`, () => {
      const waiters = new WriteConcernWaiters(3, 100);
      // tokens: 10 * w + id; ids 1..5 for every w, added interleaved
      for (let id = 1; id <= 5; id++) {
        for (let w = 3; w >= 1; w--) assert.ok(waiters.add(waiter(10 * w + id, id, w)));
      }
      assert.deepEqual(tokens(waiters.release(held)), released);
      assert.equal(waiters.size, 15 - released.length);
    });
  }

  void it('no head-of-line blocking: a stuck w=3 waiter never delays later w=1 and w=2 waiters', () => {
    const waiters = new WriteConcernWaiters(3, 1000);
    waiters.add(waiter(1, 1, 3));
    for (let id = 2; id <= 100; id++) waiters.add(waiter(id, id, id % 2 === 0 ? 1 : 2));
    const released = tokens(waiters.release([100, 100, 0]));
    assert.equal(released.length, 99);
    assert.ok(!released.includes(1));
    assert.equal(waiters.size, 1);
    assert.deepEqual(tokens(waiters.release([100, 100, 1])), [1]);
  });

  void it('expires waiters in deadline order, only once their deadline has come', () => {
    const waiters = new WriteConcernWaiters(3, 10);
    waiters.add(waiter(1, 1, 3, 300));
    waiters.add(waiter(2, 2, 3, 100));
    waiters.add(waiter(3, 3, 3)); // no deadline: waits as long as it takes
    waiters.add(waiter(4, 4, 2, 200));
    assert.equal(waiters.nextDeadlineMs(), 100);
    assert.deepEqual(tokens(waiters.expire(99)), []);
    assert.deepEqual(tokens(waiters.expire(100)), [2]);
    assert.equal(waiters.nextDeadlineMs(), 200);
    assert.deepEqual(tokens(waiters.expire(10_000)), [4, 1]);
    assert.equal(waiters.nextDeadlineMs(), undefined);
    assert.equal(waiters.size, 1);
    assert.deepEqual(tokens(waiters.release([4, 4, 4])), [3], 'expired ones are not released');
    assert.equal(waiters.size, 0);
  });

  void it('a released waiter never expires; its deadline is dropped lazily', () => {
    const waiters = new WriteConcernWaiters(3, 10);
    waiters.add(waiter(1, 1, 2, 500));
    assert.deepEqual(tokens(waiters.release([1, 1, 0])), [1]);
    assert.equal(waiters.size, 0);
    assert.equal(waiters.nextDeadlineMs(), 500, 'lazy: still in the heap');
    assert.deepEqual(tokens(waiters.expire(500)), []);
    assert.equal(waiters.nextDeadlineMs(), undefined);
    assert.equal(waiters.size, 0);
  });

  void it('an expired waiter in the middle of a queue is skipped when the queue moves', () => {
    const waiters = new WriteConcernWaiters(3, 10);
    waiters.add(waiter(1, 1, 2));
    waiters.add(waiter(2, 2, 2, 10));
    waiters.add(waiter(3, 3, 2));
    assert.deepEqual(tokens(waiters.expire(10)), [2]);
    assert.equal(waiters.size, 2);
    assert.deepEqual(tokens(waiters.release([3, 3, 0])), [1, 3]);
    assert.equal(waiters.size, 0);
    assert.deepEqual(tokens(waiters.expire(1_000_000)), []);
  });

  void it('takeAll takes every waiter still waiting, with a deadline or without, once', () => {
    const waiters = new WriteConcernWaiters(3, 10);
    waiters.add(waiter(1, 1, 2)); // released below
    waiters.add(waiter(2, 2, 3)); // no deadline
    waiters.add(waiter(3, 3, 3, 50)); // expired below
    waiters.add(waiter(4, 4, 2, 500));
    waiters.add(waiter(5, 5, 1));
    assert.deepEqual(tokens(waiters.release([1, 1, 0])), [1]);
    assert.deepEqual(tokens(waiters.expire(50)), [3]);
    assert.deepEqual(tokens(waiters.takeAll()), [5, 4, 2]);
    assert.equal(waiters.size, 0);
    assert.equal(waiters.nextDeadlineMs(), undefined);
    assert.deepEqual(tokens(waiters.takeAll()), []);
    assert.deepEqual(tokens(waiters.release([9, 9, 9])), []);
    assert.equal(waiters.add(waiter(6, 6, 1, 10)), true, 'usable after');
    assert.deepEqual(tokens(waiters.expire(10)), [6]);
  });

  void it('is bounded: add answers false when full, and released or expired waiters free room', () => {
    const waiters = new WriteConcernWaiters(3, 2);
    assert.equal(waiters.add(waiter(1, 1, 3, 100)), true);
    assert.equal(waiters.add(waiter(2, 2, 3)), true);
    assert.equal(waiters.add(waiter(3, 3, 1)), false);
    assert.equal(waiters.size, 2);
    assert.deepEqual(tokens(waiters.expire(100)), [1]);
    assert.equal(waiters.add(waiter(4, 4, 1)), true);
    assert.equal(waiters.add(waiter(5, 5, 1)), false);
    assert.deepEqual(tokens(waiters.release([4, 0, 0])), [4]);
    assert.equal(waiters.add(waiter(6, 6, 1)), true);
    assert.equal(waiters.size, 2);
  });

  void it('keeps a queue sorted when a replay of an older, unreleased append arrives late', () => {
    const waiters = new WriteConcernWaiters(3, 10);
    assert.ok(waiters.add({ token: 1, lastId: 5, w: 3, deadlineMs: undefined }));
    assert.ok(waiters.add({ token: 2, lastId: 9, w: 3, deadlineMs: undefined }));
    assert.ok(waiters.add({ token: 3, lastId: 2, w: 3, deadlineMs: undefined }));
    assert.deepEqual(
      waiters.release([9, 9, 5]).map((waiter) => waiter.token),
      [3, 1],
    );
    assert.deepEqual(
      waiters.release([9, 9, 9]).map((waiter) => waiter.token),
      [2],
    );
    assert.equal(waiters.size, 0);
  });

  void it('equal ids in one queue are all released together, in arrival order', () => {
    const waiters = new WriteConcernWaiters(2, 10);
    waiters.add(waiter(7, 3, 2));
    waiters.add(waiter(8, 3, 2));
    waiters.add(waiter(9, 3, 2));
    assert.deepEqual(tokens(waiters.release([3, 3])), [7, 8, 9]);
  });

  void it('keeps working across queue compaction (thousands of waiters)', () => {
    const waiters = new WriteConcernWaiters(2, 10_000);
    for (let id = 1; id <= 3000; id++)
      waiters.add(waiter(id, id, 1, id % 3 === 0 ? id : undefined));
    const first = tokens(waiters.release([1500, 0]));
    assert.equal(first.length, 1500);
    assert.deepEqual(first.slice(0, 3), [1, 2, 3]);
    assert.equal(first[1499], 1500);
    for (let id = 3001; id <= 3100; id++) waiters.add(waiter(id, id, 1));
    const second = tokens(waiters.release([3050, 0]));
    assert.equal(second.length, 1550);
    assert.equal(second[0], 1501);
    assert.equal(second[1549], 3050);
    assert.equal(waiters.size, 50);
    // deadlines of waiters released above are dropped lazily; none is reported as expired
    assert.deepEqual(tokens(waiters.expire(3050)), []);
    assert.equal(waiters.nextDeadlineMs(), undefined);
    assert.equal(waiters.release([3100, 0]).length, 50);
    assert.equal(waiters.size, 0);
  });

  void it('expire returns deadlines in order whatever the insertion order (seeded)', () => {
    const random = seededRandom(7);
    const waiters = new WriteConcernWaiters(1, 1000);
    const deadlines = shuffled(
      Array.from({ length: 500 }, (_, index) => index * 3),
      random,
    );
    deadlines.forEach((deadlineMs, index) => {
      waiters.add(waiter(deadlineMs, index + 1, 1, deadlineMs));
    });
    const expired: number[] = [];
    for (let nowMs = 0; nowMs <= 1500 + 37; nowMs += 37)
      expired.push(...tokens(waiters.expire(nowMs)));
    assert.deepEqual(
      expired,
      Array.from({ length: 500 }, (_, index) => index * 3),
    );
    assert.equal(waiters.size, 0);
  });
});
