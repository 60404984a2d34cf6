import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogStore, StoredState } from '../adapters/log-store.js';
import { MemoryLogStore } from '../adapters/memory-log-store.js';
import { entries } from '../core/fixtures.js';
import type { Entry, LogIdentity } from '../core/entry.js';
import { SharedStore } from './shared-store.js';

/** A store whose writes wait until `release()`, and that counts how often it was opened. */
class GatedStore implements LogStore {
  readonly inner = new MemoryLogStore();
  opens = 0;
  #held: (() => void)[] = [];

  open(): Promise<StoredState> {
    this.opens += 1;
    return this.inner.open();
  }
  setIdentity(identity: LogIdentity): Promise<void> {
    return this.#gated(() => this.inner.setIdentity(identity));
  }
  append(batch: readonly Entry[], idempotencyKey?: string, onWritten?: () => void): Promise<void> {
    return this.#gated(() => this.inner.append(batch, idempotencyKey, onWritten));
  }
  truncateAfter(lastKeptId: number): Promise<Entry[]> {
    return this.#gated(() => this.inner.truncateAfter(lastKeptId));
  }
  lastId(): number {
    return this.inner.lastId();
  }
  get(id: number): Entry | undefined {
    return this.inner.get(id);
  }
  read(fromId: number, maxCount: number, maxBytes?: number): Entry[] {
    return this.inner.read(fromId, maxCount, maxBytes);
  }

  readForReplication(fromId: number, maxCount: number, maxBytes?: number): Entry[] {
    return this.inner.readForReplication(fromId, maxCount, maxBytes);
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  /** Lets the oldest held write go ahead. */
  release(): void {
    const next = this.#held.shift();
    assert.ok(next !== undefined, 'a write is held');
    next();
  }

  get held(): number {
    return this.#held.length;
  }

  #gated<T>(write: () => Promise<T>): Promise<T> {
    return new Promise<void>((resolve) => this.#held.push(resolve)).then(write);
  }
}

/** Lets every queued promise callback run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A store holding `count` entries of epoch 1, appended one by one with the key `k<id>`. */
async function keyedStore(count: number, maxKeys = 100): Promise<SharedStore> {
  const store = new SharedStore(new MemoryLogStore(), maxKeys);
  await store.open();
  for (const entry of entries(1, count)) await store.append([entry], `k${entry.id}`);
  return store;
}

void describe('SharedStore', () => {
  void it('opens the inner store once and then answers its current state', async () => {
    const inner = new GatedStore();
    const store = new SharedStore(inner, 10);
    assert.deepEqual(await store.open(), { identity: undefined, lastId: 0, keys: [] });
    const identity = { logId: 'L', epoch: 2 };
    const writes = [store.setIdentity(identity), store.append(entries(1, 2), 'a')];
    inner.release();
    inner.release();
    await Promise.all(writes);
    const unkeyed = store.append(entries(3, 3));
    inner.release();
    await unkeyed;
    assert.deepEqual(await store.open(), {
      identity,
      lastId: 3,
      keys: [['a', { firstId: 1, count: 2 }]],
    });
    assert.equal(inner.opens, 1, 'the inner store is opened once');
  });

  void it("starts from the inner store's identity, end and keys", async () => {
    const inner = new MemoryLogStore();
    await inner.setIdentity({ logId: 'L', epoch: 1 });
    await inner.append(entries(1, 3), 'first');
    await inner.append(entries(4, 4), 'second');
    const store = new SharedStore(inner, 10);
    const state = await store.open();
    assert.deepEqual(state, {
      identity: { logId: 'L', epoch: 1 },
      lastId: 4,
      keys: [
        ['first', { firstId: 1, count: 3 }],
        ['second', { firstId: 4, count: 1 }],
      ],
    });
    assert.deepEqual(store.identity, { logId: 'L', epoch: 1 });
  });

  void it('finds the keyed appends that start in a range, in id order', async () => {
    const store = new SharedStore(new MemoryLogStore(), 10);
    await store.open();
    await store.append(entries(1, 2), 'a');
    await store.append(entries(3, 3));
    await store.append(entries(4, 6), 'b');
    await store.append(entries(7, 7), 'c');
    const cases: { from: number; to: number; want: [string, number, number][] }[] = [
      {
        from: 1,
        to: 7,
        want: [
          ['a', 1, 2],
          ['b', 4, 3],
          ['c', 7, 1],
        ],
      },
      { from: 2, to: 6, want: [['b', 4, 3]] },
      { from: 3, to: 3, want: [] },
      { from: 4, to: 4, want: [['b', 4, 3]] },
      { from: 5, to: 7, want: [['c', 7, 1]] },
      { from: 8, to: 20, want: [] },
      { from: 5, to: 4, want: [] },
    ];
    for (const { from, to, want } of cases) {
      assert.deepEqual(store.keysStartingIn(from, to), want, `${from}..${to}`);
    }
  });

  void it('forgets the keys that name an id a truncation removed', async () => {
    const cases: { keep: number; keys: string[] }[] = [
      { keep: 7, keys: ['a', 'b', 'c'] },
      { keep: 6, keys: ['a', 'b'] },
      { keep: 5, keys: ['a'] },
      { keep: 4, keys: ['a'] },
      { keep: 3, keys: ['a'] },
      { keep: 1, keys: [] },
      { keep: 0, keys: [] },
    ];
    for (const { keep, keys } of cases) {
      const store = new SharedStore(new MemoryLogStore(), 10);
      await store.open();
      await store.append(entries(1, 2), 'a');
      await store.append(entries(3, 3));
      await store.append(entries(4, 6), 'b');
      await store.append(entries(7, 7), 'c');
      const removed = await store.truncateAfter(keep);
      assert.deepEqual(removed, entries(keep + 1, 7), `after ${keep}`);
      const state = await store.open();
      assert.equal(state.lastId, keep);
      assert.deepEqual(
        state.keys.map(([key]) => key),
        keys,
        `after ${keep}`,
      );
      assert.deepEqual(
        store.keysStartingIn(1, 7).map(([key]) => key),
        keys,
        `after ${keep}`,
      );
    }
  });

  void it('lets a key used again after a truncation name the new append', async () => {
    const store = await keyedStore(3);
    await store.truncateAfter(1);
    await store.append(entries(2, 2, 2), 'k3');
    assert.deepEqual(store.keysStartingIn(1, 3), [
      ['k1', 1, 1],
      ['k3', 2, 1],
    ]);
  });

  void it('keeps at most maxKeys keys, the oldest forgotten first', async () => {
    const cases: { maxKeys: number; appends: number; kept: string[] }[] = [
      { maxKeys: 1, appends: 3, kept: ['k3'] },
      { maxKeys: 2, appends: 2, kept: ['k1', 'k2'] },
      { maxKeys: 2, appends: 5, kept: ['k4', 'k5'] },
      { maxKeys: 3, appends: 4, kept: ['k2', 'k3', 'k4'] },
    ];
    for (const { maxKeys, appends, kept } of cases) {
      const store = await keyedStore(appends, maxKeys);
      const name = `maxKeys ${maxKeys}, ${appends} appends`;
      assert.deepEqual(
        (await store.open()).keys.map(([key]) => key),
        kept,
        name,
      );
      assert.deepEqual(
        store.keysStartingIn(1, appends).map(([key]) => key),
        kept,
        name,
      );
    }
  });

  void it('keeps at most maxKeys of the keys it opens with', async () => {
    const inner = new MemoryLogStore();
    for (const entry of entries(1, 4)) await inner.append([entry], `k${entry.id}`);
    const store = new SharedStore(inner, 2);
    assert.deepEqual(
      (await store.open()).keys.map(([key]) => key),
      ['k3', 'k4'],
    );
  });

  void it('refuses maxKeys below 1', () => {
    assert.throws(() => new SharedStore(new MemoryLogStore(), 0), /maxKeys must be >= 1/);
  });

  void it('is idle at once when no write is in flight', async () => {
    const store = await keyedStore(2);
    let idle = false;
    void store.idle().then(() => (idle = true));
    await settle();
    assert.ok(idle);
  });

  const writes: {
    name: string;
    start: (store: SharedStore) => Promise<unknown>[];
  }[] = [
    { name: 'an append', start: (store) => [store.append(entries(3, 3), 'k3')] },
    { name: 'a truncation', start: (store) => [store.truncateAfter(1)] },
    {
      name: 'an identity',
      start: (store) => [store.setIdentity({ logId: 'L', epoch: 9 })],
    },
    {
      name: 'an append, a truncation and an identity',
      start: (store) => [
        store.append(entries(3, 3), 'k3'),
        store.truncateAfter(1),
        store.setIdentity({ logId: 'L', epoch: 9 }),
      ],
    },
  ];
  for (const { name, start } of writes) {
    void it(`is idle only once ${name} in flight settled`, async () => {
      const inner = new GatedStore();
      const store = new SharedStore(inner, 10);
      await store.open();
      await inner.inner.append(entries(1, 2));
      const pending = start(store);
      let idle = false;
      void store.idle().then(() => (idle = true));
      while (inner.held > 1) {
        inner.release();
        await settle();
        assert.equal(idle, false, 'not idle while a write is held');
      }
      inner.release();
      await Promise.all(pending);
      await settle();
      assert.ok(idle, 'idle once every write settled');
    });
  }

  void it('is idle once a failed write settled too', async () => {
    const inner = new GatedStore();
    const store = new SharedStore(inner, 10);
    await store.open();
    const failing = store.append(entries(5, 5), 'k5');
    let idle = false;
    void store.idle().then(() => (idle = true));
    await settle();
    assert.equal(idle, false);
    inner.release();
    await assert.rejects(failing, /append of id 5 where id 1 comes next/);
    await settle();
    assert.ok(idle);
    assert.deepEqual(store.keysStartingIn(1, 5), [], 'a failed append leaves no key');
  });

  void it('has applied every settled write to its own state when it is idle', async () => {
    const inner = new GatedStore();
    const store = new SharedStore(inner, 10);
    await store.open();
    const identity = { logId: 'L', epoch: 3 };
    void store.setIdentity(identity);
    void store.append(entries(1, 2), 'a');
    const seen = store.idle().then(() => ({
      identity: store.identity,
      keys: store.keysStartingIn(1, 2),
    }));
    inner.release();
    inner.release();
    assert.deepEqual(await seen, { identity, keys: [['a', 1, 2]] });
  });

  void it('knows a key once its append is written, before it is durable', async () => {
    const store = new SharedStore(new MemoryLogStore(), 10);
    await store.open();
    let seenWhenWritten: unknown;
    await store.append(entries(1, 2), 'a', () => {
      seenWhenWritten = store.keysStartingIn(1, 2);
    });
    assert.deepEqual(seenWhenWritten, [['a', 1, 2]]);
  });

  void it('forgets the key of an append that fails after it was written (its fsync)', async () => {
    class FailingFsync extends MemoryLogStore {
      override append(batch: readonly Entry[], key?: string, onWritten?: () => void) {
        onWritten?.();
        return Promise.reject(new Error(`fsync failed for ${batch.length} entries, key ${key}`));
      }
    }
    const store = new SharedStore(new FailingFsync(), 10);
    await store.open();
    let written = false;
    await assert.rejects(
      store.append(entries(1, 2), 'a', () => (written = true)),
      /fsync failed for 2 entries, key a/,
    );
    assert.ok(written);
    assert.deepEqual(store.keysStartingIn(1, 2), [], 'the key names no held id');
  });
});
