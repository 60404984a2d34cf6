import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ElectionStateStore } from '../adapters/election-state-store.js';
import { runElectionStateConformance } from '../adapters/election-state-conformance.js';
import { StorageError } from '../adapters/file-store/file-log-store.js';
import { InvariantError } from '../core/assert.js';
import { FRESH_ELECTION_STATE, type ElectionState } from '../core/election-state.js';
import { Prng } from '../core/prng.js';
import { Scheduler } from './scheduler.js';
import { SimElectionDisk, SimElectionStateStore } from './sim-election-state.js';
import { HEALTHY_DISK, type DiskFaults } from './sim-store.js';

const OWNER = 'n1';

/** One node's disk and scheduler; `faults` may be changed between saves. */
class Rig {
  readonly scheduler = new Scheduler();
  readonly disk = new SimElectionDisk();
  readonly prng: Prng;
  faults: DiskFaults = HEALTHY_DISK;
  failed = 0;

  constructor(seed: number) {
    this.prng = new Prng(seed);
  }

  store(): SimElectionStateStore {
    return new SimElectionStateStore(
      this.disk,
      this.scheduler,
      OWNER,
      this.prng,
      () => this.faults,
      () => (this.failed += 1),
    );
  }

  /** Runs every scheduled event (a bounded number: each save schedules one). */
  runAll(): void {
    for (let steps = 0; this.scheduler.pending > 0; steps++) {
      assert.ok(steps < 1000, 'the scheduler drains within 1000 events');
      this.scheduler.step(Number.POSITIVE_INFINITY);
    }
  }

  /** kill -9: the process's events are gone, the disk decides what an undecided save left. */
  crash(): boolean {
    this.scheduler.endLifetime(OWNER);
    return this.disk.crash(this.prng);
  }
}

/**
 * The store with the scheduler run for it: after each save call, events run one per macrotask
 * until none is left, so that awaiting tests see saves complete as time goes by.
 */
function driven(rig: Rig, store: SimElectionStateStore): ElectionStateStore {
  let draining = false;
  const drain = (): void => {
    if (rig.scheduler.pending === 0) {
      draining = false;
      return;
    }
    rig.scheduler.step(Number.POSITIVE_INFINITY);
    setImmediate(drain);
  };
  return {
    load: () => store.load(),
    save(state) {
      const saved = store.save(state);
      if (!draining) {
        draining = true;
        setImmediate(drain);
      }
      return saved;
    },
  };
}

function simFactory(
  seed: number,
  faults: DiskFaults,
): Parameters<typeof runElectionStateConformance>[1] {
  return {
    create() {
      const rig = new Rig(seed);
      rig.faults = faults;
      return Promise.resolve({
        store: driven(rig, rig.store()),
        reopen() {
          rig.crash();
          return Promise.resolve(driven(rig, rig.store()));
        },
        cleanup: () => Promise.resolve(),
      });
    },
  };
}

runElectionStateConformance('SimElectionStateStore (healthy disk)', simFactory(7, HEALTHY_DISK));
runElectionStateConformance(
  'SimElectionStateStore (every fsync slow)',
  simFactory(8, { ...HEALTHY_DISK, slowFsyncRate: 1 }),
);

const VOTE: ElectionState = { epoch: 3, votedFor: 'n2', acceptedEpoch: 1 };
const NEXT: ElectionState = { epoch: 4, votedFor: 'n3', acceptedEpoch: 1 };
const SEEDS = 64;

/** Tracks whether a promise settled, and how. */
function watch(promise: Promise<void>): { settled: () => 'pending' | 'resolved' | 'rejected' } {
  let outcome: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => (outcome = 'resolved'),
    () => (outcome = 'rejected'),
  );
  return { settled: () => outcome };
}

async function flushMicrotasks(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}

void describe('SimElectionStateStore durability', () => {
  void it('a resolved save survives every crash', async () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rig = new Rig(seed);
      const store = rig.store();
      await store.load();
      const saved = watch(store.save(VOTE));
      rig.runAll();
      await flushMicrotasks();
      assert.equal(saved.settled(), 'resolved', `seed ${seed}`);
      assert.equal(rig.crash(), false, `seed ${seed}: nothing was undecided`);
      assert.deepEqual(await rig.store().load(), VOTE, `seed ${seed}`);
    }
  });

  void it('a crash before the fsync completes keeps the previous state or the new one, whole', async () => {
    const kept = new Set<string>();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rig = new Rig(seed);
      const store = rig.store();
      await store.load();
      const first = store.save(VOTE);
      rig.runAll();
      await first;
      const inFlight = watch(store.save(NEXT));
      const queued = watch(store.save({ ...NEXT, acceptedEpoch: 4 }));
      const survived = rig.crash();
      rig.runAll();
      await flushMicrotasks();
      assert.equal(inFlight.settled(), 'pending', `seed ${seed}: a dead process answers nothing`);
      assert.equal(queued.settled(), 'pending', `seed ${seed}`);
      const loaded = await rig.store().load();
      assert.deepEqual(loaded, survived ? NEXT : VOTE, `seed ${seed}: the queued save never began`);
      kept.add(JSON.stringify(loaded));
    }
    assert.equal(kept.size, 2, 'both outcomes occur over the seeds');
  });

  void it('completes a save after its write and fsyncs, later with a slow fsync', async () => {
    const durations = (slowFsyncRate: number): number[] => {
      const out: number[] = [];
      for (let seed = 1; seed <= SEEDS; seed++) {
        const rig = new Rig(seed);
        rig.faults = { ...HEALTHY_DISK, slowFsyncRate };
        const store = rig.store();
        void store.load();
        void store.save(VOTE);
        rig.runAll();
        out.push(rig.scheduler.nowMs);
        assert.deepEqual(rig.disk.durable, VOTE);
      }
      return out;
    };
    for (const ms of durations(0)) assert.ok(ms >= 3 && ms <= 19, `healthy save took ${ms} ms`);
    for (const ms of durations(1)) assert.ok(ms >= 103 && ms <= 619, `slow save took ${ms} ms`);
    await flushMicrotasks();
  });

  for (const [code, errorCode] of [
    ['EIO', 'STORAGE_FAILED'],
    ['ENOSPC', 'STORAGE_FULL'],
  ] as const) {
    void it(`a save failed with ${code} rejects alone, and its vote still binds the node`, async () => {
      const rig = new Rig(3);
      const store = rig.store();
      await store.load();
      rig.faults = { ...HEALTHY_DISK, writeErrorRate: 1, errorCode: code };
      const failed = store.save(VOTE);
      rig.runAll();
      await assert.rejects(failed, (error: unknown) => {
        return error instanceof StorageError && error.code === errorCode;
      });
      assert.equal(rig.failed, 1);
      assert.deepEqual(rig.disk.durable, FRESH_ELECTION_STATE);
      rig.faults = HEALTHY_DISK;
      await assert.rejects(store.save({ ...VOTE, votedFor: 'n3' }), InvariantError);
      const next = store.save(NEXT);
      rig.runAll();
      await next;
      assert.deepEqual(rig.disk.durable, NEXT);
    });
  }

  void it('refuses to load with a save undecided: the process died without crash() on its disk', async () => {
    const rig = new Rig(5);
    const store = rig.store();
    await store.load();
    void store.save(VOTE);
    rig.scheduler.endLifetime(OWNER);
    await assert.rejects(rig.store().load(), InvariantError);
  });
});
