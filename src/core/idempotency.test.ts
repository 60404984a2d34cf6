import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantError } from './assert.js';
import { IdempotencyTable } from './idempotency.js';

void describe('IdempotencyTable', () => {
  void it('remembers the ids a key produced', () => {
    const table = new IdempotencyTable(3);
    assert.equal(table.size, 0);
    assert.equal(table.get('k1'), undefined);
    table.put('k1', { firstId: 1, count: 1 });
    table.put('k2', { firstId: 2, count: 5 });
    assert.equal(table.size, 2);
    assert.deepEqual(table.get('k1'), { firstId: 1, count: 1 });
    assert.deepEqual(table.get('k2'), { firstId: 2, count: 5 });
    assert.equal(table.get('K1'), undefined, 'keys are case-sensitive');
  });

  void it('forgets the oldest key past maxKeys; get does not refresh a key', () => {
    const table = new IdempotencyTable(3);
    table.put('a', { firstId: 1, count: 1 });
    table.put('b', { firstId: 2, count: 1 });
    table.put('c', { firstId: 3, count: 1 });
    assert.ok(table.get('a') !== undefined);
    table.put('d', { firstId: 4, count: 1 });
    assert.equal(table.size, 3);
    assert.equal(table.get('a'), undefined, 'a was the oldest, even though it was read');
    assert.deepEqual(
      ['b', 'c', 'd'].map((key) => table.get(key)?.firstId),
      [2, 3, 4],
    );
    table.put('e', { firstId: 5, count: 1 });
    assert.equal(table.get('b'), undefined);
    assert.equal(table.size, 3);
  });

  void it('with maxKeys 1 keeps only the newest key', () => {
    const table = new IdempotencyTable(1);
    table.put('a', { firstId: 1, count: 1 });
    table.put('b', { firstId: 2, count: 2 });
    assert.equal(table.size, 1);
    assert.equal(table.get('a'), undefined);
    assert.deepEqual(table.get('b'), { firstId: 2, count: 2 });
  });

  void it('delete frees a slot and a re-put key becomes the newest', () => {
    const table = new IdempotencyTable(2);
    table.put('a', { firstId: 1, count: 1 });
    table.put('b', { firstId: 2, count: 1 });
    table.delete('a');
    assert.equal(table.size, 1);
    table.put('a', { firstId: 3, count: 1 });
    table.put('c', { firstId: 4, count: 1 });
    assert.equal(table.get('b'), undefined, 'b is now the oldest');
    assert.deepEqual(table.get('a'), { firstId: 3, count: 1 });
    table.delete('missing');
    assert.equal(table.size, 2);
  });

  void it('refuses to record a key twice', () => {
    const table = new IdempotencyTable(2);
    table.put('a', { firstId: 1, count: 1 });
    assert.throws(() => {
      table.put('a', { firstId: 2, count: 1 });
    }, InvariantError);
    assert.deepEqual(table.get('a'), { firstId: 1, count: 1 });
  });

  const invalid: { name: string; append: { firstId: number; count: number } }[] = [
    { name: 'count 0', append: { firstId: 1, count: 0 } },
    { name: 'firstId 0', append: { firstId: 0, count: 1 } },
  ];
  for (const { name, append } of invalid) {
    void it(`rejects ${name}`, () => {
      const table = new IdempotencyTable(2);
      assert.throws(() => {
        table.put('k', append);
      }, InvariantError);
    });
  }

  void it('rejects maxKeys 0', () => {
    assert.throws(() => new IdempotencyTable(0), InvariantError);
  });
});
