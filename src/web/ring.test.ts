import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ring } from './ring.js';

void describe('Ring', () => {
  void it('keeps the newest capacity items, oldest first, across many wraps', () => {
    const ring = new Ring<number>(3);
    assert.deepEqual(ring.toArray(), []);
    ring.push(1);
    ring.push(2);
    assert.deepEqual(ring.toArray(), [1, 2]);
    for (let item = 3; item <= 10; item++) ring.push(item);
    assert.deepEqual(ring.toArray(), [8, 9, 10]);
    assert.equal(ring.size, 3);
  });

  void it('drops from the oldest while asked, stopping at the first it keeps', () => {
    const ring = new Ring<number>(4);
    for (const item of [5, 1, 7, 2, 9]) ring.push(item);
    ring.dropOldestWhile((item) => item < 3);
    assert.deepEqual(ring.toArray(), [7, 2, 9], 'stops at 7: 2 is kept although small');
    ring.dropOldestWhile(() => true);
    assert.deepEqual(ring.toArray(), []);
    ring.push(4);
    assert.deepEqual(ring.toArray(), [4]);
  });

  void it('refuses a capacity that is not a whole number >= 1', () => {
    assert.throws(() => new Ring(0), /capacity is 0; pass a whole number >= 1/);
    assert.throws(() => new Ring(1.5), /capacity is 1.5/);
  });
});
