import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvariantError } from '../core/assert.js';
import { decodeReplicateFrame, encodeReplicateFrame } from '../protocol/frame.js';
import { PackedEntry } from '../protocol/packed-entry.js';
import { plain, runLogStoreConformance } from './log-store-conformance.js';
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

  void it('packs and reads whole ASCII batches exactly like single entries, across a chunk boundary', async () => {
    const store = new MemoryLogStore();
    await store.open();
    // 100-byte messages in batches of 1000: about 21 MB, so one batch meets the end of the first
    // 16 MiB chunk. One batch has a non-ASCII message in its middle, one ends with an emoji, one
    // is smaller than a whole-batch write.
    const batches: string[][] = [];
    for (let batch = 0; batch < 210; batch++) {
      const messages = Array.from({ length: 1000 }, (_, index) =>
        `b${batch}-${index}-`.padEnd(100, 'x'),
      );
      if (batch === 3) messages[500] = `${'é'.repeat(40)}-middle`;
      if (batch === 4) messages[999] = 'ends with 🚀';
      batches.push(messages);
    }
    batches.push(['a', 'few', 'short', 'ones']);
    const expected = batches.flat();
    let id = 1;
    for (const messages of batches) {
      await store.append(messages.map((message) => ({ id: id++, epoch: 3, message })));
    }
    assert.equal(store.lastId(), expected.length);
    const check = (entries: readonly { id: number; epoch: number; message: string }[]): void => {
      for (const entry of entries) {
        assert.equal(entry.epoch, 3);
        assert.equal(entry.message, expected[entry.id - 1], `entry ${entry.id}`);
        assert.equal(store.get(entry.id)?.message, entry.message, `get(${entry.id})`);
      }
    };
    for (let from = 1; from <= expected.length; from += 997) {
      const read = store.read(from, 1000);
      assert.equal(read.length, Math.min(1000, expected.length - from + 1));
      assert.equal(read[0]?.id, from);
      check(read);
    }
    // The byte limit: 100-byte messages, so 2550 bytes hold 25 of them; at least one always.
    assert.equal(store.read(10, 1000, 2550).length, 25);
    assert.equal(store.read(10, 1000, 1).length, 1);
    assert.deepEqual(
      store.read(3500, 20).map((entry) => entry.message),
      expected.slice(3499, 3519),
    );
  });

  void it('stores the packed entries of frames by their bytes, a run per copy, across chunks', async () => {
    const store = new MemoryLogStore();
    await store.open();
    // The way of a catch-up: batches read for replication from one store, framed, decoded, and
    // appended to another. 210 batches of 1000 100-byte messages: about 21 MB, so a run meets the
    // end of the first 16 MiB chunk and is split there. Non-ASCII messages and a plain entry in
    // the middle of a batch break its runs.
    const source = new MemoryLogStore();
    await source.open();
    let id = 1;
    for (let batch = 0; batch < 210; batch++) {
      const messages = Array.from({ length: 1000 }, (_, index) =>
        `b${batch}-${index}-`.padEnd(100, 'x'),
      );
      if (batch === 3) messages[500] = `${'é'.repeat(40)}-middle`;
      await source.append(
        messages.map((message) => ({ id: id++, epoch: 1 + (batch % 2), message })),
      );
    }
    for (let fromId = 1; fromId <= source.lastId(); fromId += 1000) {
      const read = source.readForReplication(fromId, 1000);
      assert.ok(read.every((entry) => entry instanceof PackedEntry));
      const decoded = decodeReplicateFrame(encodeReplicateFrame('L', 2, read));
      assert.ok(decoded.ok);
      const entries = [...decoded.batch.entries];
      if (fromId === 5001) entries[7] = plain([entries[7]!])[0]!;
      await store.append(entries);
    }
    assert.equal(store.lastId(), source.lastId());
    for (let fromId = 1; fromId <= source.lastId(); fromId += 997) {
      const expected = source.read(fromId, 1000);
      assert.deepEqual(store.read(fromId, 1000), expected, `read from ${fromId}`);
      assert.deepEqual(plain(store.readForReplication(fromId, 1000)), expected);
    }
    assert.equal(store.get(3501)?.message, `${'é'.repeat(40)}-middle`);
  });
});
