import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from '../adapters/file-store/file-log-store.js';
import { entriesOf } from '../adapters/log-store-conformance.js';
import { InvariantError } from '../core/assert.js';
import { Prng } from '../core/prng.js';
import { Scheduler } from './scheduler.js';
import { SimDisk, type FsyncPolicy } from './sim-disk.js';
import { HEALTHY_DISK, SimLogStore, type DiskFaults } from './sim-store.js';

const OWNER = 'node';

/** A store over a fresh disk, and the means to run its writes to completion and to crash it. */
function simStore(fsync: FsyncPolicy, seed: number, faults: DiskFaults = HEALTHY_DISK) {
  const scheduler = new Scheduler();
  const prng = new Prng(seed);
  const disk = new SimDisk(fsync);
  const make = (): SimLogStore =>
    new SimLogStore(
      disk,
      scheduler,
      OWNER,
      prng,
      () => faults,
      () => undefined,
    );
  return {
    disk,
    prng,
    scheduler,
    store: make(),
    /** Runs every scheduled event (writes completing), letting promise callbacks run in between. */
    async settle(): Promise<void> {
      while (scheduler.step(scheduler.nowMs + 10_000)) await Promise.resolve();
      await Promise.resolve();
    },
    /** The process dies now: its pending writes die with it, the disk keeps what a crash keeps. */
    crash(): SimLogStore {
      scheduler.endLifetime(OWNER);
      disk.crash(scheduler.nowMs, prng);
      return make();
    },
  };
}

/** 30 entries in appends of 5 (keyed k1, k6, ...). */
async function writeLog(sim: ReturnType<typeof simStore>): Promise<void> {
  await sim.store.open();
  const appends: Promise<void>[] = [];
  for (let first = 1; first <= 30; first += 5) {
    appends.push(sim.store.append(entriesOf(first, first + 4), `k${first}`));
  }
  await sim.settle();
  await Promise.all(appends);
}

void describe('SimLogStore truncation', () => {
  for (const fsync of ['always', 'never'] as const) {
    void it(`fsync ${fsync}: queued behind appends, removes the tail and its keys, durably`, async () => {
      const sim = simStore(fsync, 1);
      await sim.store.open();
      const first = sim.store.append(entriesOf(1, 10), 'a');
      const truncated = sim.store.truncateAfter(7);
      const after = sim.store.append(entriesOf(8, 9, 2), 'a2');
      assert.equal(sim.store.lastId(), 0, 'nothing is written yet');
      await sim.settle();
      await first;
      assert.deepEqual(await truncated, entriesOf(8, 10));
      await after;
      const expected = [...entriesOf(1, 7), ...entriesOf(8, 9, 2)];
      assert.deepEqual(sim.store.read(1, 100), expected);
      // Flushes are still to come with `never`: the cut and what it kept are durable anyway.
      assert.ok(sim.disk.durableLastId(sim.scheduler.nowMs) >= 7);
      const state = await sim.crash().open();
      const held = sim.disk.read(1, 100);
      if (fsync === 'always') assert.equal(state.lastId, 9);
      assert.ok(state.lastId === 7 || state.lastId === 9, `${state.lastId}`);
      assert.deepEqual(held, expected.slice(0, state.lastId), 'no removed entry comes back');
      assert.deepEqual(
        state.keys,
        state.lastId === 9 ? [['a2', { firstId: 8, count: 2 }]] : [],
        'key a named removed ids: gone',
      );
    });
  }

  void it('a crash during a truncation keeps the old log or the new one, never a mix', async () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const sim = simStore('always', seed);
      await writeLog(sim);
      void sim.store.truncateAfter(12).catch(() => undefined);
      const state = await sim.crash().open();
      assert.ok(state.lastId === 30 || state.lastId === 12, `seed ${seed}: ${state.lastId}`);
      seen.add(state.lastId);
      const held = entriesOf(1, state.lastId);
      assert.deepEqual(sim.disk.read(1, 100), held, `seed ${seed}`);
      const keys = state.keys.map(([key]) => key);
      assert.deepEqual(
        keys,
        state.lastId === 30 ? ['k1', 'k6', 'k11', 'k16', 'k21', 'k26'] : ['k1', 'k6'],
      );
    }
    assert.deepEqual([...seen].sort(), [12, 30], 'both outcomes happen');
  });

  void it('a failed truncation (EIO/ENOSPC) changes nothing and fails what is queued behind', async () => {
    for (const errorCode of ['EIO', 'ENOSPC'] as const) {
      const faults: DiskFaults = { writeErrorRate: 0, errorCode, slowFsyncRate: 0 };
      const sim = simStore('always', 3, faults);
      await writeLog(sim);
      Object.assign(faults, { writeErrorRate: 1 });
      const truncated = sim.store.truncateAfter(4);
      const behind = sim.store.append(entriesOf(5, 5, 2));
      await sim.settle();
      await assert.rejects(truncated, StorageError);
      await assert.rejects(behind, StorageError);
      assert.equal(sim.store.lastId(), 30, errorCode);
      Object.assign(faults, { writeErrorRate: 0 });
      const next = sim.store.append(entriesOf(31, 31));
      await sim.settle();
      await next;
      assert.equal((await sim.crash().open()).lastId, 31, errorCode);
    }
  });

  void it('refuses a bad lastKeptId with an InvariantError', async () => {
    const sim = simStore('always', 4);
    await writeLog(sim);
    for (const bad of [-1, 31, 1.5, Number.NaN]) {
      await assert.rejects(sim.store.truncateAfter(bad), InvariantError, String(bad));
    }
    assert.equal(sim.store.lastId(), 30);
  });
});
