import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Entry } from '../core/entry.js';
import { RecentEntries } from './recent-entries.js';

function entries(fromId: number, toId: number, message = (id: number) => `m${id}`): Entry[] {
  const out: Entry[] = [];
  for (let id = fromId; id <= toId; id++) out.push({ id, epoch: 1, message: message(id) });
  return out;
}

const sizes = (list: readonly Entry[]): number[] =>
  list.map((entry) => Buffer.byteLength(entry.message));

function add(recent: RecentEntries, list: readonly Entry[]): void {
  recent.add(list, sizes(list));
}

void describe('RecentEntries', () => {
  void it('reads kept entries as a store would: count and byte limits, at least one entry', () => {
    const recent = new RecentEntries(100, 10_000);
    const all = entries(1, 30);
    add(recent, all.slice(0, 10));
    add(recent, all.slice(10));
    assert.deepEqual(recent.read(1, 5, Infinity), all.slice(0, 5));
    assert.deepEqual(recent.read(28, 100, Infinity), all.slice(27));
    // m1..m9 are 2 bytes, m10.. 3 bytes: 2+2+2 = 6 fits 7, a fourth would not.
    assert.deepEqual(recent.read(1, 100, 7), all.slice(0, 3));
    assert.deepEqual(recent.read(1, 100, 1), all.slice(0, 1), 'one entry even over the limit');
    assert.equal(recent.read(31, 10, Infinity), undefined, 'not appended yet');
    assert.equal(recent.read(0, 10, Infinity), undefined);
  });

  void it('drops the oldest entries beyond its count or byte bound', () => {
    const byCount = new RecentEntries(8, 10_000);
    add(byCount, entries(1, 20));
    assert.equal(byCount.firstId, 13);
    assert.equal(byCount.count, 8);
    assert.equal(byCount.read(12, 1, Infinity), undefined);
    assert.deepEqual(byCount.read(13, 100, Infinity), entries(13, 20));

    const byBytes = new RecentEntries(100, 10);
    add(byBytes, entries(1, 9)); // 2 bytes each: only the last 5 fit in 10 bytes
    assert.equal(byBytes.firstId, 5);
    assert.deepEqual(byBytes.read(5, 100, Infinity), entries(5, 9));
  });

  void it('starts over when entries do not continue the kept ones, or one is too large', () => {
    const recent = new RecentEntries(100, 50);
    add(recent, entries(1, 5));
    add(recent, entries(3, 4)); // ids given again after a failed write
    assert.equal(recent.firstId, 3);
    assert.deepEqual(recent.read(3, 100, Infinity), entries(3, 4));
    add(
      recent,
      entries(5, 7, (id) => (id === 6 ? 'x'.repeat(60) : `m${id}`)),
    );
    assert.equal(recent.read(5, 10, Infinity), undefined, 'nothing before the hole is served');
    assert.equal(recent.firstId, 7);
    assert.deepEqual(recent.read(7, 10, Infinity), entries(7, 7));
  });

  void it('releases the entries every secondary holds, and goes on from there', () => {
    const recent = new RecentEntries(100, 10_000);
    add(recent, entries(1, 10));
    recent.release(0);
    assert.equal(recent.firstId, 1, 'nothing held anywhere else: all kept');
    recent.release(6);
    assert.equal(recent.firstId, 7);
    assert.equal(recent.count, 4);
    assert.equal(recent.read(6, 10, Infinity), undefined, 'released: read from the store');
    assert.deepEqual(recent.read(7, 10, Infinity), entries(7, 10));
    recent.release(25);
    assert.equal(recent.firstId, 11, 'never past what was kept');
    assert.equal(recent.count, 0);
    add(recent, entries(11, 12));
    assert.deepEqual(recent.read(11, 10, Infinity), entries(11, 12), 'goes on after a release');
    const kept = entries(13, 13)[0]!;
    add(recent, [kept]);
    recent.release(13);
    assert.equal(recent.messageJson(kept), JSON.stringify(kept.message), 'escaped afresh');
  });

  void it('escapes a kept message once and any other entry on demand', () => {
    const recent = new RecentEntries(10, 1000);
    const list = entries(1, 2, (id) => `"quoted" ${id}`);
    add(recent, list);
    const first = recent.messageJson(list[0]!);
    assert.equal(first, JSON.stringify(list[0]!.message));
    assert.equal(recent.messageJson(list[0]!), first);
    const stranger: Entry = { id: 1, epoch: 1, message: 'read back from the store' };
    assert.equal(recent.messageJson(stranger), JSON.stringify(stranger.message));
  });
});
