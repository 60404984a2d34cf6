import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvariantError } from '../core/assert.js';
import { runLogStoreConformance } from './log-store-conformance.js';
import { MemoryLogStore } from './memory-log-store.js';

// A memory store does not outlive its process: "reopen" closes it and opens the same instance
// again, which must report everything it holds (what a node reads at start-up).
runLogStoreConformance('MemoryLogStore', {
  create() {
    const store = new MemoryLogStore();
    return Promise.resolve({
      store,
      async reopen() {
        await store.close();
        return store;
      },
      cleanup: () => store.close(),
    });
  },
});

void describe('MemoryLogStore packing', () => {
  void it('keeps messages of every size and encoding exactly, across chunk and index growth', async () => {
    const store = new MemoryLogStore();
    await store.open();
    const big = 'é'.repeat(9 * 1024 * 1024); // 18 MiB of UTF-8: larger than a chunk
    const messages = [
      'plain',
      'ünïcødé ✓ 🚀',
      big,
      'after the big one',
      ...Array.from({ length: 5000 }, (_, index) => `m${index}-${'x'.repeat(index % 300)}`),
    ];
    let id = 1;
    for (let at = 0; at < messages.length; at += 700) {
      const batch = messages
        .slice(at, at + 700)
        .map((message) => ({ id: id++, epoch: 2, message }));
      await store.append(batch);
    }
    assert.equal(store.lastId(), messages.length);
    const all = store.read(1, Number.MAX_SAFE_INTEGER);
    assert.equal(all.length, messages.length);
    for (const [index, entry] of all.entries()) {
      assert.equal(entry.id, index + 1);
      assert.equal(entry.epoch, 2);
      assert.equal(entry.message, messages[index], `entry ${index + 1}`);
    }
    assert.equal(store.get(3)?.message, big);
    assert.equal(store.get(messages.length + 1), undefined);
    assert.equal(store.get(0), undefined);
    assert.equal(store.get(1.5), undefined);
  });

  void it('refuses an entry whose epoch does not fit the index, storing nothing of its batch', async () => {
    const store = new MemoryLogStore();
    await store.open();
    for (const epoch of [0, -1, 1.5, 2 ** 32]) {
      await assert.rejects(
        store.append([
          { id: 1, epoch: 1, message: 'a' },
          { id: 2, epoch, message: 'b' },
        ]),
        InvariantError,
      );
      assert.equal(store.lastId(), 0, `epoch ${epoch}`);
    }
  });
});
