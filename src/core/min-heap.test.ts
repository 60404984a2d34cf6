import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MinHeap } from './min-heap.js';
import { randomInt, seededRandom } from './fixtures.js';

function drain<T>(heap: MinHeap<T>): T[] {
  const out: T[] = [];
  for (let value = heap.pop(); value !== undefined; value = heap.pop()) out.push(value);
  return out;
}

void describe('MinHeap', () => {
  void it('is empty at first', () => {
    const heap = new MinHeap<string>();
    assert.equal(heap.size, 0);
    assert.equal(heap.peekKey(), undefined);
    assert.equal(heap.pop(), undefined);
    assert.equal(heap.size, 0);
  });

  const orders: { name: string; keys: number[] }[] = [
    { name: 'ascending', keys: [1, 2, 3, 4, 5] },
    { name: 'descending', keys: [5, 4, 3, 2, 1] },
    { name: 'mixed', keys: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5] },
    { name: 'negative and infinite', keys: [0, -5, Infinity, -Infinity, 7, -1] },
    { name: 'single', keys: [42] },
    { name: 'all equal', keys: [7, 7, 7, 7] },
  ];
  for (const { name, keys } of orders) {
    void it(`pops ${name} keys in ascending key order`, () => {
      const heap = new MinHeap<{ key: number; index: number }>();
      keys.forEach((key, index) => {
        heap.push(key, { key, index });
      });
      assert.equal(heap.size, keys.length);
      assert.equal(heap.peekKey(), Math.min(...keys));
      const popped = drain(heap).map((item) => item.key);
      assert.deepEqual(
        popped,
        [...keys].sort((a, b) => a - b),
      );
      assert.equal(heap.size, 0);
      assert.equal(heap.peekKey(), undefined);
    });
  }

  void it('keeps every value when keys tie', () => {
    const heap = new MinHeap<string>();
    for (const value of ['a', 'b', 'c', 'd']) heap.push(1, value);
    assert.deepEqual(drain(heap).sort(), ['a', 'b', 'c', 'd']);
  });

  void it('interleaved push and pop agree with a sorted reference (seeded, 5000 operations)', () => {
    const random = seededRandom(12345);
    const heap = new MinHeap<number>();
    const reference: number[] = [];
    for (let step = 0; step < 5000; step++) {
      if (reference.length === 0 || random() < 0.6) {
        const key = randomInt(random, 1000);
        heap.push(key, key);
        reference.push(key);
        reference.sort((a, b) => a - b);
      } else {
        const expected = reference.shift();
        assert.equal(heap.peekKey(), expected);
        assert.equal(heap.pop(), expected);
      }
      assert.equal(heap.size, reference.length);
      assert.equal(heap.peekKey(), reference[0]);
    }
    assert.deepEqual(drain(heap), reference);
  });
});
