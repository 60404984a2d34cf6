import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantError } from '../core/assert.js';
import type { Entry, LogIdentity } from '../core/entry.js';
import type { KeyedAppend } from '../core/idempotency.js';
import type { LogStore } from './log-store.js';

/**
 * One storage under test. `store` is not opened yet: every test starts with `open()`.
 *
 * `reopen()` closes the current store and returns a store over the same storage, not yet opened.
 * For a durable store that is a new instance over the same files (what a restart sees). For a store
 * that does not outlive its process (MemoryLogStore) it is the same instance after `close()`:
 * opening it again must report everything it holds, which is what the node reads at start-up. The
 * reopen tests then check that `open()` reflects every append, identity and key, not durability.
 */
export interface LogStoreHarness {
  readonly store: LogStore;
  reopen(): Promise<LogStore>;
  /** Closes whatever store is current and removes its storage. */
  cleanup(): Promise<void>;
}

export interface LogStoreFactory {
  create(): Promise<LogStoreHarness>;
}

/** Entries `from..to` (inclusive) of one epoch, with messages that name their id. */
export function entriesOf(from: number, to: number, epoch = 1, pad = 0): Entry[] {
  const out: Entry[] = [];
  for (let id = from; id <= to; id++) {
    out.push({ id, epoch, message: `m${id}`.padEnd(pad, '.') });
  }
  return out;
}

/** Entries as plain objects (a PackedEntry's message read), to compare with deepEqual. */
export function plain(entries: readonly Entry[]): Entry[] {
  return entries.map(({ id, epoch, message }) => ({ id, epoch, message }));
}

const IDENTITY: LogIdentity = { logId: '0b6e7c1e-5d1f-4c3e-9a57-3c1f0e9b2a10', epoch: 1 };

/** Appends `entries` in batches of the given sizes, one after the other. */
async function appendInBatches(store: LogStore, entries: Entry[], sizes: number[]): Promise<void> {
  let at = 0;
  for (const size of sizes) {
    await store.append(entries.slice(at, at + size));
    at += size;
  }
  assert.equal(at, entries.length, 'batch sizes cover every entry');
}

/**
 * The behaviours every LogStore must have. `name` labels the suite; the factory makes a fresh,
 * empty storage per test.
 *
 * Entries of one append share an epoch (the file store keeps one epoch per record), and messages
 * used with `maxBytes` are ASCII: MemoryLogStore counts UTF-16 code units there, a documented
 * approximation of the UTF-8 size.
 */
export function runLogStoreConformance(name: string, factory: LogStoreFactory): void {
  void describe(`LogStore conformance: ${name}`, () => {
    let harness: LogStoreHarness;
    let store: LogStore;

    beforeEach(async () => {
      harness = await factory.create();
      store = harness.store;
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    async function reopen(): Promise<LogStore> {
      store = await harness.reopen();
      return store;
    }

    void it('opens empty: no identity, lastId 0, no keys, nothing to read', async () => {
      const state = await store.open();
      assert.equal(state.identity, undefined);
      assert.equal(state.lastId, 0);
      assert.deepEqual(state.keys, []);
      assert.equal(store.lastId(), 0);
      assert.equal(store.get(0), undefined);
      assert.equal(store.get(1), undefined);
      assert.deepEqual(store.read(0, 10), []);
      assert.deepEqual(store.read(1, 10), []);
      assert.deepEqual(store.read(1, 10, 100), []);
    });

    void it('an empty batch is a no-op', async () => {
      await store.open();
      await store.append([]);
      await store.append([], 'key-of-nothing');
      assert.equal(store.lastId(), 0);
      await store.append(entriesOf(1, 1));
      assert.equal(store.lastId(), 1);
    });

    void it('reads ranges by fromId and maxCount', async () => {
      await store.open();
      const all = entriesOf(1, 10);
      await appendInBatches(store, all, [3, 1, 6]);
      assert.equal(store.lastId(), 10);
      assert.deepEqual(store.read(0, 100), all, 'fromId 0 reads from the start');
      assert.deepEqual(store.read(1, 100), all);
      assert.deepEqual(store.read(1, 10), all);
      assert.deepEqual(store.read(1, Number.MAX_SAFE_INTEGER), all);
      assert.deepEqual(store.read(4, 3), all.slice(3, 6), 'a middle range');
      assert.deepEqual(store.read(3, 2), all.slice(2, 4), 'a range across two appends');
      assert.deepEqual(store.read(1, 1), [all[0]]);
      assert.deepEqual(store.read(10, 5), [all[9]], 'the last entry');
      assert.deepEqual(store.read(8, 100), all.slice(7), 'maxCount past the end');
      assert.deepEqual(store.read(11, 5), [], 'fromId just past the end');
      assert.deepEqual(store.read(1000, 5), [], 'fromId far past the end');
      assert.deepEqual(store.read(1, 0), [], 'maxCount 0');
    });

    void it('caps reads by maxBytes of messages, always returning at least one entry', async () => {
      await store.open();
      // Ten ASCII messages of 10 bytes each.
      const all = entriesOf(1, 10, 1, 10);
      for (const entry of all) assert.equal(Buffer.byteLength(entry.message), 10);
      await appendInBatches(store, all, [10]);
      assert.deepEqual(store.read(1, 100, 25), all.slice(0, 2));
      assert.deepEqual(store.read(1, 100, 30), all.slice(0, 3), 'an exact fit is included');
      assert.deepEqual(store.read(1, 100, 29), all.slice(0, 2));
      assert.deepEqual(store.read(1, 100, 0), all.slice(0, 1), 'at least one entry');
      assert.deepEqual(store.read(4, 100, 5), all.slice(3, 4), 'at least one, from the middle');
      assert.deepEqual(store.read(5, 2, 1000), all.slice(4, 6), 'maxCount still applies');
      assert.deepEqual(store.read(9, 100, 1000), all.slice(8), 'the end still applies');
      assert.deepEqual(store.read(1, 100, Infinity), all);
      assert.deepEqual(store.read(11, 100, 0), [], 'nothing past the end, even with maxBytes');
    });

    void it('readForReplication reads what read reads; its entries outlive a truncation', async () => {
      await store.open();
      await store.setIdentity(IDENTITY);
      const all = [...entriesOf(1, 6, 1, 10), ...entriesOf(7, 12, 2, 3)];
      await appendInBatches(store, all, [4, 1, 7]);
      for (const [fromId, maxCount, maxBytes] of [
        [0, 100, Infinity],
        [1, 12, Infinity],
        [3, 4, Infinity],
        [4, 100, 25],
        [2, 100, 0],
        [12, 5, Infinity],
        [13, 5, Infinity],
        [1, 0, Infinity],
      ] as const) {
        assert.deepEqual(
          plain(store.readForReplication(fromId, maxCount, maxBytes)),
          store.read(fromId, maxCount, maxBytes),
          `readForReplication(${fromId}, ${maxCount}, ${maxBytes})`,
        );
      }
      // Entries read before a truncation keep their messages when new ones take their ids.
      const before = store.readForReplication(1, 100);
      await store.truncateAfter(5);
      await store.append(entriesOf(6, 12, 3, 40));
      assert.deepEqual(plain(before), all);
      assert.deepEqual(plain(store.readForReplication(1, 100)), store.read(1, 100));
      assert.deepEqual(store.read(1, 100), [...all.slice(0, 5), ...entriesOf(6, 12, 3, 40)]);
    });

    void it('get(id): 0 and past the end are undefined, valid ids return their entry', async () => {
      await store.open();
      const all = entriesOf(1, 5);
      await appendInBatches(store, all, [2, 3]);
      assert.equal(store.get(0), undefined, 'get(0)');
      assert.equal(store.get(-1), undefined, 'get(-1)');
      assert.deepEqual(store.get(1), all[0]);
      assert.deepEqual(store.get(3), all[2]);
      assert.deepEqual(store.get(5), all[4]);
      assert.equal(store.get(6), undefined, 'get(lastId + 1)');
      assert.equal(store.get(1000), undefined);
    });

    void it('keeps the epoch of every entry', async () => {
      await store.open();
      await store.setIdentity(IDENTITY);
      await store.append(entriesOf(1, 2, 1));
      await store.append(entriesOf(3, 5, 7));
      await store.append(entriesOf(6, 6, 0xffffffff));
      assert.deepEqual(
        store.read(1, 10).map((entry) => entry.epoch),
        [1, 1, 7, 7, 7, 0xffffffff],
      );
      await reopen();
      await store.open();
      assert.deepEqual(
        store.read(1, 10).map((entry) => entry.epoch),
        [1, 1, 7, 7, 7, 0xffffffff],
      );
    });

    void it('stores the identity and reads it back, the latest one winning', async () => {
      await store.open();
      await store.setIdentity(IDENTITY);
      assert.deepEqual((await (await reopen()).open()).identity, IDENTITY);
      const next = { logId: IDENTITY.logId, epoch: 2 };
      await store.setIdentity(next);
      assert.deepEqual((await (await reopen()).open()).identity, next);
    });

    void it('returns the idempotency keys of the appends held, oldest first, on open', async () => {
      await store.open();
      await store.setIdentity(IDENTITY);
      await store.append(entriesOf(1, 1), 'key-a');
      await store.append(entriesOf(2, 3));
      await store.append(entriesOf(4, 8), 'key-b');
      await store.append(entriesOf(9, 9), 'key with spaces ~!@#$%^&*()');
      const expected = [
        ['key-a', { firstId: 1, count: 1 }],
        ['key-b', { firstId: 4, count: 5 }],
        ['key with spaces ~!@#$%^&*()', { firstId: 9, count: 1 }],
      ];
      const state = await (await reopen()).open();
      assert.equal(state.lastId, 9);
      assert.deepEqual(state.keys, expected);
    });

    void it('rejects an append that does not continue the log, and changes nothing', async () => {
      await store.open();
      const rejects = (entries: Entry[], what: string): Promise<void> =>
        // A store may reject or throw (an assertion): both count, neither may change the log.
        assert.rejects(async () => store.append(entries), what);
      await rejects(entriesOf(2, 2), 'first append starting at id 2');
      await rejects(entriesOf(0, 0), 'id 0');
      assert.equal(store.lastId(), 0);
      await store.append(entriesOf(1, 3));
      await rejects(entriesOf(5, 6), 'a gap before the batch');
      await rejects(entriesOf(3, 4), 'an id already held');
      await rejects(entriesOf(1, 1), 'id 1 again');
      assert.equal(store.lastId(), 3);
      await store.append(entriesOf(4, 4));
      assert.deepEqual(store.read(1, 100), entriesOf(1, 4));
    });

    void it('rejects a batch with a gap inside it as a whole', async () => {
      await store.open();
      await store.append(entriesOf(1, 2));
      const gapped: Entry[] = [...entriesOf(3, 4), ...entriesOf(6, 6)];
      await assert.rejects(async () => store.append(gapped));
      assert.equal(store.lastId(), 2, 'no entry of a rejected batch is stored');
      assert.equal(store.get(3), undefined);
      await store.append(entriesOf(3, 3));
      assert.deepEqual(store.read(1, 100), entriesOf(1, 3));
    });

    void it('keeps call order across many concurrent appends', async () => {
      await store.open();
      await store.setIdentity(IDENTITY);
      const resolved: number[] = [];
      const appends: Promise<void>[] = [];
      let id = 1;
      for (let call = 0; call < 200; call++) {
        const size = (call % 3) + 1;
        const batch = entriesOf(id, id + size - 1);
        const first = id;
        appends.push(
          store.append(batch, call % 5 === 0 ? `k${call}` : undefined).then(() => {
            resolved.push(first);
          }),
        );
        id += size;
      }
      await Promise.all(appends);
      const lastId = id - 1;
      assert.equal(store.lastId(), lastId);
      assert.deepEqual(
        resolved,
        [...resolved].sort((a, b) => a - b),
        'appends resolve in call order',
      );
      assert.deepEqual(store.read(1, lastId + 10), entriesOf(1, lastId));
      const state = await (await reopen()).open();
      assert.equal(state.lastId, lastId);
      assert.equal(state.keys.length, 40);
      assert.deepEqual(store.read(1, lastId + 10), entriesOf(1, lastId));
    });

    void it('calls onWritten once per append, in call order, before the append resolves', async () => {
      await store.open();
      await store.setIdentity(IDENTITY);
      const events: string[] = [];
      const appends: Promise<void>[] = [];
      for (let call = 0; call < 30; call++) {
        const id = 2 * call + 1;
        appends.push(
          store
            .append(entriesOf(id, id + 1), call % 3 === 0 ? `k${call}` : undefined, () =>
              events.push(`written ${id}`),
            )
            .then(() => {
              events.push(`resolved ${id}`);
            }),
        );
      }
      await Promise.all(appends);
      const written = events.filter((event) => event.startsWith('written'));
      assert.deepEqual(
        written,
        Array.from({ length: 30 }, (_, call) => `written ${2 * call + 1}`),
        'once each, in call order',
      );
      for (let call = 0; call < 30; call++) {
        const id = 2 * call + 1;
        assert.ok(
          events.indexOf(`written ${id}`) < events.indexOf(`resolved ${id}`),
          `append ${id} was written before it resolved`,
        );
      }
      await store.append([], undefined, () => events.push('written empty'));
      assert.equal(events.at(-1), 'written empty', 'an empty append is written at once');
    });

    void it('round-trips UTF-8 (emoji, multi-byte, empty) and 64 KiB messages', async () => {
      await store.open();
      await store.setIdentity(IDENTITY);
      const messages = [
        '',
        'plain ascii',
        'héllo wörld',
        '日本語のメッセージ',
        '😀🎉👩‍👩‍👧‍👦 family',
        '𝄞 clef (astral plane), ñ, ß, Ω, ש',
        'line\nbreaks\tand \u0000 nul',
        'x'.repeat(64 * 1024),
        'é'.repeat(32 * 1024), // 64 KiB of UTF-8
        '😀'.repeat(16 * 1024), // 64 KiB of UTF-8
      ];
      const entries = messages.map((message, index) => ({ id: index + 1, epoch: 1, message }));
      await store.append(entries.slice(0, 4));
      for (const entry of entries.slice(4)) await store.append([entry]);
      const check = (): void => {
        assert.deepEqual(store.read(1, 100), entries);
        for (const entry of entries) assert.deepEqual(store.get(entry.id), entry);
      };
      check();
      await (await reopen()).open();
      check();
    });

    void it('reopen preserves identity, entries and keys, and appends continue after it', async () => {
      await store.open();
      await store.setIdentity(IDENTITY);
      await store.append(entriesOf(1, 4), 'first');
      await store.append(entriesOf(5, 5));
      let state = await (await reopen()).open();
      assert.deepEqual(state, {
        identity: IDENTITY,
        lastId: 5,
        keys: [['first', { firstId: 1, count: 4 }]],
      });
      assert.equal(store.lastId(), 5);
      assert.deepEqual(store.read(1, 100), entriesOf(1, 5));
      await assert.rejects(async () => store.append(entriesOf(5, 5)), 'id 5 again');
      await store.append(entriesOf(6, 9), 'second');
      state = await (await reopen()).open();
      assert.deepEqual(state, {
        identity: IDENTITY,
        lastId: 9,
        keys: [
          ['first', { firstId: 1, count: 4 }],
          ['second', { firstId: 6, count: 4 }],
        ],
      });
      assert.deepEqual(store.read(0, 100), entriesOf(1, 9));
    });

    runTruncationCases(
      () => store,
      () => reopen(),
    );

    void it('a reopened empty store is still empty', async () => {
      await store.open();
      const state = await (await reopen()).open();
      assert.deepEqual(state, { identity: undefined, lastId: 0, keys: [] });
    });
  });
}

/**
 * The log the truncation cases start from: 40 entries (250-byte messages, so that they span
 * segments of a few KiB) in five appends of two epochs, four of them keyed.
 */
const TRUNCATION_BATCHES: readonly { from: number; to: number; epoch: number; key?: string }[] = [
  { from: 1, to: 5, epoch: 1, key: 'k-1-5' },
  { from: 6, to: 17, epoch: 1, key: 'k-6-17' },
  { from: 18, to: 18, epoch: 2 },
  { from: 19, to: 28, epoch: 2, key: 'k-19-28' },
  { from: 29, to: 40, epoch: 2, key: 'k-29-40' },
];
const TRUNCATION_PAD = 250;

function truncationLog(): Entry[] {
  return TRUNCATION_BATCHES.flatMap(({ from, to, epoch }) =>
    entriesOf(from, to, epoch, TRUNCATION_PAD),
  );
}

async function appendTruncationLog(store: LogStore): Promise<void> {
  await store.setIdentity(IDENTITY);
  for (const { from, to, epoch, key } of TRUNCATION_BATCHES) {
    await store.append(entriesOf(from, to, epoch, TRUNCATION_PAD), key);
  }
}

/** The keys of the truncation log whose appends lie wholly at or below `lastKeptId`. */
function keysUpTo(lastKeptId: number): [string, KeyedAppend][] {
  return TRUNCATION_BATCHES.filter(({ to, key }) => key !== undefined && to <= lastKeptId).map(
    ({ from, to, key }) => [key!, { firstId: from, count: to - from + 1 }],
  );
}

function runTruncationCases(current: () => LogStore, reopen: () => Promise<LogStore>): void {
  const all = truncationLog();
  const cases: { what: string; lastKeptId: number }[] = [
    { what: 'to 0 (everything)', lastKeptId: 0 },
    { what: 'to the middle of the first batch', lastKeptId: 3 },
    { what: 'to the end of a batch', lastKeptId: 5 },
    { what: 'to the first entry of a batch', lastKeptId: 6 },
    { what: 'to the middle of a keyed batch', lastKeptId: 11 },
    { what: 'to a one-entry batch', lastKeptId: 18 },
    { what: 'to the middle of the last batch', lastKeptId: 33 },
    { what: 'to one before the end', lastKeptId: 39 },
  ];
  for (const { what, lastKeptId } of cases) {
    void it(`truncateAfter ${what}: returns the tail, survives reopen, appends continue`, async () => {
      let store = current();
      await store.open();
      await appendTruncationLog(store);
      const removed = await store.truncateAfter(lastKeptId);
      assert.deepEqual(removed, all.slice(lastKeptId), 'the removed entries, oldest first');
      const check = (label: string): void => {
        assert.equal(store.lastId(), lastKeptId, label);
        assert.deepEqual(store.read(1, 100), all.slice(0, lastKeptId), label);
        assert.equal(store.get(lastKeptId + 1), undefined, label);
        if (lastKeptId > 0) assert.deepEqual(store.get(lastKeptId), all[lastKeptId - 1], label);
      };
      check('after truncateAfter');
      store = await reopen();
      let state = await store.open();
      assert.equal(state.lastId, lastKeptId);
      assert.deepEqual(state.identity, IDENTITY);
      assert.deepEqual(state.keys, keysUpTo(lastKeptId), 'no key names a removed id');
      check('after reopen');

      // A later append continues at lastKeptId + 1, in any epoch, and may reuse a removed key.
      const reusedKey = TRUNCATION_BATCHES.find(({ to }) => to > lastKeptId)!.key ?? 'fresh';
      const next = entriesOf(lastKeptId + 1, lastKeptId + 3, 9);
      await store.append(next, reusedKey);
      const expected = [...all.slice(0, lastKeptId), ...next];
      assert.deepEqual(store.read(1, 100), expected);
      store = await reopen();
      state = await store.open();
      assert.equal(state.lastId, lastKeptId + 3);
      assert.deepEqual(state.keys, [
        ...keysUpTo(lastKeptId),
        [reusedKey, { firstId: lastKeptId + 1, count: 3 }],
      ]);
      assert.deepEqual(store.read(1, 100), expected);
    });
  }

  void it('truncateAfter(lastId) is a no-op that returns []', async () => {
    let store = current();
    await store.open();
    assert.deepEqual(await store.truncateAfter(0), [], 'an empty log, to 0');
    await appendTruncationLog(store);
    assert.deepEqual(await store.truncateAfter(40), []);
    assert.deepEqual(store.read(1, 100), all);
    store = await reopen();
    const state = await store.open();
    assert.equal(state.lastId, 40);
    assert.deepEqual(state.keys, keysUpTo(40));
  });

  void it('truncateAfter refuses a bad lastKeptId with an InvariantError, changing nothing', async () => {
    const store = current();
    await store.open();
    await store.append(entriesOf(1, 5), 'k');
    for (const bad of [-1, 6, 100, 2.5, Number.NaN, Infinity, -Infinity]) {
      await assert.rejects(
        async () => store.truncateAfter(bad),
        InvariantError,
        `lastKeptId ${bad}`,
      );
    }
    assert.deepEqual(store.read(1, 100), entriesOf(1, 5));
    await store.append(entriesOf(6, 6));
    assert.equal(store.lastId(), 6);
  });

  void it('truncateAfter is queued behind appends in flight, appends after it follow it', async () => {
    const store = current();
    await store.open();
    await store.setIdentity(IDENTITY);
    const done: string[] = [];
    const first = store.append(entriesOf(1, 3), 'a').then(() => done.push('append 1-3'));
    const second = store.append(entriesOf(4, 6), 'b').then(() => done.push('append 4-6'));
    // 6 is the end once the appends before it are applied, even if lastId() is not there yet.
    const truncated = store.truncateAfter(4).then((removed) => {
      done.push('truncate');
      return removed;
    });
    const third = store.append(entriesOf(5, 5, 2), 'b').then(() => done.push('append 5'));
    const again = store.truncateAfter(5).then((removed) => {
      done.push('no-op');
      return removed;
    });
    await Promise.all([first, second, third]);
    assert.deepEqual(await truncated, entriesOf(5, 6));
    assert.deepEqual(await again, []);
    assert.deepEqual(done, ['append 1-3', 'append 4-6', 'truncate', 'append 5', 'no-op']);
    assert.deepEqual(store.read(1, 100), [...entriesOf(1, 4), ...entriesOf(5, 5, 2)]);
    const state = await (await reopen()).open();
    assert.deepEqual(state.keys, [
      ['a', { firstId: 1, count: 3 }],
      ['b', { firstId: 5, count: 1 }],
    ]);
  });

  void it('truncateAfter twice in a row, and after a reopen', async () => {
    let store = current();
    await store.open();
    await appendTruncationLog(store);
    assert.deepEqual(await store.truncateAfter(30), all.slice(30));
    assert.deepEqual(await store.truncateAfter(20), all.slice(20, 30));
    store = await reopen();
    await store.open();
    assert.deepEqual(await store.truncateAfter(10), all.slice(10, 20));
    store = await reopen();
    const state = await store.open();
    assert.equal(state.lastId, 10);
    assert.deepEqual(state.keys, keysUpTo(10));
    assert.deepEqual(store.read(1, 100), all.slice(0, 10));
  });
}
