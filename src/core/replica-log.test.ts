import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantError } from './assert.js';
import type { Entry, LogIdentity } from './entry.js';
import { ReplicaLog, type ReplicateBatch, type ReplicateOutcome } from './replica-log.js';
import { entries, entry, randomInt, seededRandom, shuffled } from './fixtures.js';

const LOG = 'log-L';

function batch(items: readonly Entry[], logId = LOG, epoch = 1): ReplicateBatch {
  return { logId, epoch, entries: items };
}

/** A secondary: a ReplicaLog plus the store it decides for (receive, store append, stored). */
class Replica {
  readonly disk = new Map<number, Entry>();
  readonly log: ReplicaLog;

  constructor(maxPending = 1000, identity?: LogIdentity, held: readonly Entry[] = []) {
    for (const item of held) this.disk.set(item.id, item);
    this.log = new ReplicaLog(identity, held.length, maxPending);
  }

  apply(incoming: ReplicateBatch): ReplicateOutcome {
    const outcome = this.log.receive(incoming, (id) => this.disk.get(id));
    if (outcome.kind === 'accepted') {
      for (const item of outcome.append) this.disk.set(item.id, item);
      const last = outcome.append[outcome.append.length - 1];
      if (last !== undefined) this.log.stored(last.id);
    }
    return outcome;
  }

  visible(): Entry[] {
    const out: Entry[] = [];
    for (let id = 1; id <= this.log.hwm; id++) out.push(this.disk.get(id)!);
    return out;
  }
}

function appendedIds(outcome: ReplicateOutcome): number[] {
  assert.equal(outcome.kind, 'accepted', JSON.stringify(outcome));
  return outcome.append.map((item) => item.id);
}

function rejectCode(outcome: ReplicateOutcome): string {
  return outcome.kind === 'rejected' ? outcome.code : 'accepted';
}

void describe('ReplicaLog', () => {
  void it('starts empty without identity; a non-empty log needs an identity', () => {
    const replica = new Replica();
    assert.equal(replica.log.hwm, 0);
    assert.equal(replica.log.pendingCount, 0);
    assert.equal(replica.log.identity, undefined);
    assert.throws(() => new ReplicaLog(undefined, 3, 10), InvariantError);
    const restored = new ReplicaLog({ logId: LOG, epoch: 2 }, 3, 10);
    assert.equal(restored.hwm, 3);
    assert.deepEqual(restored.identity, { logId: LOG, epoch: 2 });
  });

  void it('an empty batch (probe) is accepted and adopts the log identity', () => {
    const replica = new Replica();
    assert.deepEqual(replica.apply(batch([], LOG, 3)), { kind: 'accepted', append: [] });
    assert.deepEqual(replica.log.identity, { logId: LOG, epoch: 3 });
    assert.equal(replica.log.hwm, 0);
  });

  void it('in-order batches extend the gap-free prefix', () => {
    const replica = new Replica();
    assert.deepEqual(appendedIds(replica.apply(batch(entries(1, 2)))), [1, 2]);
    assert.equal(replica.log.hwm, 2);
    assert.deepEqual(appendedIds(replica.apply(batch(entries(3, 5)))), [3, 4, 5]);
    assert.equal(replica.log.hwm, 5);
    assert.deepEqual(replica.visible(), entries(1, 5));
  });

  void it('receive alone changes no hwm: the prefix grows only at stored()', () => {
    const log = new ReplicaLog(undefined, 0, 10);
    const outcome = log.receive(batch(entries(1, 3)), () => undefined);
    assert.deepEqual(outcome, { kind: 'accepted', append: entries(1, 3) });
    assert.equal(log.hwm, 0);
    // Handed over to be stored: not pending (pending means held back behind a gap).
    assert.equal(log.pendingCount, 0);
    log.stored(2); // the caller may store a prefix of what was returned
    assert.equal(log.hwm, 2);
    log.stored(3);
    assert.equal(log.hwm, 3);
    assert.equal(log.pendingCount, 0);
  });

  void it('out of order: 3-4 before 1-2 keeps 3-4 pending with hwm 0, then drains in order', () => {
    const replica = new Replica();
    assert.deepEqual(appendedIds(replica.apply(batch(entries(3, 4)))), []);
    assert.equal(replica.log.hwm, 0);
    assert.equal(replica.log.pendingCount, 2);
    assert.deepEqual(replica.visible(), []);
    assert.deepEqual(appendedIds(replica.apply(batch(entries(1, 2)))), [1, 2, 3, 4]);
    assert.equal(replica.log.hwm, 4);
    assert.equal(replica.log.pendingCount, 0);
    assert.deepEqual(replica.visible(), entries(1, 4));
  });

  void it('several gaps fill one at a time', () => {
    const replica = new Replica();
    const steps: [from: number, to: number, appended: number[], hwm: number, pending: number][] = [
      [7, 8, [], 0, 2],
      [3, 4, [], 0, 4],
      [1, 2, [1, 2, 3, 4], 4, 2],
      [6, 6, [], 4, 3],
      [5, 5, [5, 6, 7, 8], 8, 0],
    ];
    for (const [from, to, appended, hwm, pending] of steps) {
      assert.deepEqual(appendedIds(replica.apply(batch(entries(from, to)))), appended);
      assert.equal(replica.log.hwm, hwm, `after ${from}..${to}`);
      assert.equal(replica.log.pendingCount, pending, `after ${from}..${to}`);
    }
  });

  const duplicates: { name: string; from: number; to: number; appended: number[] }[] = [
    { name: 'a whole held batch', from: 1, to: 4, appended: [] },
    { name: 'a held sub-range', from: 2, to: 3, appended: [] },
    { name: 'a batch overlapping the hwm', from: 3, to: 6, appended: [5, 6] },
  ];
  for (const { name, from, to, appended } of duplicates) {
    void it(`a duplicate of ${name} is ignored, only new entries are appended`, () => {
      const replica = new Replica();
      replica.apply(batch(entries(1, 4)));
      assert.deepEqual(appendedIds(replica.apply(batch(entries(from, to)))), appended);
      assert.equal(replica.log.hwm, Math.max(4, to));
      assert.deepEqual(replica.visible(), entries(1, Math.max(4, to)));
    });
  }

  void it('a duplicate of a pending entry is ignored', () => {
    const replica = new Replica();
    replica.apply(batch(entries(3, 4)));
    assert.deepEqual(appendedIds(replica.apply(batch(entries(3, 4)))), []);
    assert.equal(replica.log.pendingCount, 2);
    assert.deepEqual(appendedIds(replica.apply(batch(entries(1, 2)))), [1, 2, 3, 4]);
  });

  void it('a conflicting duplicate of a held entry is rejected with ENTRY_CONFLICT', () => {
    const replica = new Replica();
    replica.apply(batch(entries(1, 3)));
    const outcome = replica.apply(batch([entry(1), entry(2, 'different'), entry(3)]));
    assert.equal(rejectCode(outcome), 'ENTRY_CONFLICT');
    assert.match(outcome.kind === 'rejected' ? outcome.message : '', /entry 2/);
    assert.equal(replica.log.hwm, 3);
    assert.deepEqual(replica.visible(), entries(1, 3), 'the shown entry never changes');
  });

  void it('a conflicting duplicate of a pending entry is rejected with ENTRY_CONFLICT', () => {
    const replica = new Replica();
    replica.apply(batch(entries(3, 3)));
    assert.equal(rejectCode(replica.apply(batch([entry(3, 'other')]))), 'ENTRY_CONFLICT');
    assert.equal(replica.log.hwm, 0);
    // The entry first received stays the one that fills the gap.
    assert.deepEqual(appendedIds(replica.apply(batch(entries(1, 2)))), [1, 2, 3]);
    assert.deepEqual(replica.visible(), entries(1, 3));
  });

  // Regression: a rejected batch used to keep its other entries pending and its newer epoch.
  void it('a rejected batch leaves no trace: no pending entry, no epoch change', () => {
    const replica = new Replica();
    replica.apply(batch(entries(3, 3)));
    const rejected = replica.apply(batch([entry(2), entry(3, 'other')], LOG, 7));
    assert.equal(rejectCode(rejected), 'ENTRY_CONFLICT');
    assert.equal(replica.log.pendingCount, 1);
    assert.deepEqual(replica.log.identity, { logId: LOG, epoch: 1 });
  });

  void it('a held entry the store cannot read back is not treated as a conflict', () => {
    const log = new ReplicaLog({ logId: LOG, epoch: 1 }, 2, 10);
    assert.deepEqual(
      log.receive(batch(entries(1, 3)), () => undefined),
      {
        kind: 'accepted',
        append: [entry(3)],
      },
    );
  });

  void it('a different log id is rejected when the replica holds entries', () => {
    const replica = new Replica(10, { logId: LOG, epoch: 1 }, entries(1, 2));
    const outcome = replica.apply(batch(entries(1, 3), 'log-M'));
    assert.equal(rejectCode(outcome), 'LOG_ID_MISMATCH');
    assert.match(outcome.kind === 'rejected' ? outcome.message : '', /log-L.*log-M/);
    assert.deepEqual(replica.log.identity, { logId: LOG, epoch: 1 });
    assert.equal(replica.log.hwm, 2);
    assert.deepEqual(replica.visible(), entries(1, 2));
    // the same batch from the right log is fine
    assert.deepEqual(appendedIds(replica.apply(batch(entries(1, 3)))), [3]);
  });

  void it('a different log id is adopted when empty; pending entries of the old log are dropped', () => {
    const replica = new Replica();
    replica.apply(batch(entries(2, 3), LOG, 5));
    assert.equal(replica.log.pendingCount, 2);
    const fresh = [entry(1, 'new-1', 1)];
    // Lower epoch too: the epoch of a log that was never shown does not matter.
    assert.deepEqual(replica.apply(batch(fresh, 'log-M', 1)), { kind: 'accepted', append: fresh });
    assert.deepEqual(replica.log.identity, { logId: 'log-M', epoch: 1 });
    assert.equal(replica.log.hwm, 1);
    assert.equal(replica.log.pendingCount, 0, "log L's 2..3 are gone");
    assert.deepEqual(appendedIds(replica.apply(batch([entry(2, 'new-2', 1)], 'log-M', 1))), [2]);
    assert.deepEqual(
      replica.visible().map((item) => item.message),
      ['new-1', 'new-2'],
    );
  });

  const epochs: { name: string; batchEpoch: number; code: string; epochAfter: number }[] = [
    { name: 'an older epoch is refused', batchEpoch: 2, code: 'STALE_EPOCH', epochAfter: 3 },
    { name: 'the same epoch is accepted', batchEpoch: 3, code: 'accepted', epochAfter: 3 },
    { name: 'a newer epoch is followed', batchEpoch: 4, code: 'accepted', epochAfter: 4 },
  ];
  for (const { name, batchEpoch, code, epochAfter } of epochs) {
    void it(`epoch: ${name}`, () => {
      const replica = new Replica(10, { logId: LOG, epoch: 3 }, entries(1, 1, 3));
      const outcome = replica.apply(batch([entry(2, 'm2', batchEpoch)], LOG, batchEpoch));
      assert.equal(rejectCode(outcome), code);
      assert.deepEqual(replica.log.identity, { logId: LOG, epoch: epochAfter });
      assert.equal(replica.log.hwm, code === 'accepted' ? 2 : 1);
    });
  }

  void it('once a newer epoch is followed, the old one is stale (even on an empty replica)', () => {
    const replica = new Replica();
    replica.apply(batch([], LOG, 5));
    assert.equal(rejectCode(replica.apply(batch(entries(1, 1), LOG, 4))), 'STALE_EPOCH');
    assert.equal(replica.log.pendingCount, 0);
    assert.equal(rejectCode(replica.apply(batch(entries(1, 1), LOG, 5))), 'accepted');
  });

  void it('pending runs: a batch over them keeps only the gaps; a conflict in any refuses it', () => {
    const replica = new Replica();
    const steps: [from: number, to: number, appended: number[], pending: number][] = [
      [5, 6, [], 2],
      [9, 10, [], 4],
      [3, 12, [], 10], // 3..4, 7..8 and 11..12 fill the gaps around 5..6 and 9..10
      [4, 11, [], 10], // all pending already
      [1, 2, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 0],
    ];
    for (const [from, to, appended, pending] of steps) {
      assert.deepEqual(appendedIds(replica.apply(batch(entries(from, to)))), appended);
      assert.equal(replica.log.pendingCount, pending, `after ${from}..${to}`);
    }
    assert.deepEqual(replica.visible(), entries(1, 12));
    const other = new Replica();
    other.apply(batch(entries(5, 6)));
    other.apply(batch(entries(9, 10)));
    const forged = entries(3, 11).map((item) =>
      item.id === 10 ? { ...item, message: 'x' } : item,
    );
    assert.equal(rejectCode(other.apply(batch(forged))), 'ENTRY_CONFLICT');
    assert.equal(other.log.pendingCount, 4, 'nothing of the refused batch was kept');
  });

  void it('pending is bounded: entries past hwm + maxPendingEntries are not kept', () => {
    const replica = new Replica(3);
    assert.deepEqual(appendedIds(replica.apply(batch(entries(2, 6)))), []);
    assert.equal(replica.log.pendingCount, 2, 'only 2..3 fit in hwm 0 + 3');
    assert.deepEqual(appendedIds(replica.apply(batch(entries(1, 1)))), [1, 2, 3]);
    assert.equal(replica.log.hwm, 3);
    assert.equal(replica.log.pendingCount, 0, '4..6 were dropped, not kept');
    assert.deepEqual(appendedIds(replica.apply(batch(entries(5, 9)))), []);
    assert.equal(replica.log.pendingCount, 2, '5..6 fit in hwm 3 + 3');
    assert.deepEqual(appendedIds(replica.apply(batch(entries(4, 4)))), [4, 5, 6]);
    assert.equal(replica.log.hwm, 6);
  });

  void it('holds pending runs as `hold` copies them (parts of held runs again), drains the copies', () => {
    const held: number[][] = [];
    const copies = new Set<Entry>();
    const hold = (run: readonly Entry[]): readonly Entry[] => {
      held.push(run.map((item) => item.id));
      const copied = run.map((item) => ({ ...item }));
      for (const item of copied) copies.add(item);
      return copied;
    };
    const log = new ReplicaLog(undefined, 0, 1000, hold);
    const disk = new Map<number, Entry>();
    const apply = (items: readonly Entry[]): number[] => {
      const outcome = log.receive(batch(items), (id) => disk.get(id));
      const ids = appendedIds(outcome);
      if (outcome.kind === 'accepted') {
        for (const item of outcome.append) disk.set(item.id, item);
        if (ids.length > 0) log.stored(ids[ids.length - 1]!);
      }
      return ids;
    };
    assert.deepEqual(apply(entries(5, 8)), []);
    assert.deepEqual(apply(entries(3, 6)), []);
    // 5..8 was cut at 6 (its part 7..8 is held again: a slice may use little of its buffer).
    assert.deepEqual(held, [
      [5, 6, 7, 8],
      [7, 8],
      [3, 4, 5, 6],
    ]);
    assert.deepEqual(apply(entries(1, 2)), [1, 2, 3, 4, 5, 6, 7, 8]);
    for (let id = 3; id <= 8; id++) assert.ok(copies.has(disk.get(id)!), `entry ${id} as held`);
    const broken = new ReplicaLog(undefined, 0, 1000, (run) => run.slice(1));
    assert.throws(() => broken.receive(batch(entries(3, 4)), () => undefined), InvariantError);
  });

  void it('a batch received while the previous one is being stored leaves nothing stale', () => {
    const log = new ReplicaLog(undefined, 0, 10);
    assert.deepEqual(
      log.receive(batch(entries(1, 3)), () => undefined),
      {
        kind: 'accepted',
        append: entries(1, 3),
      },
    );
    // 2..5 arrives before 1..3 is stored: 2..3 overlap what is being stored, 4..5 wait behind it.
    assert.deepEqual(
      log.receive(batch(entries(2, 5)), () => undefined),
      {
        kind: 'accepted',
        append: [],
      },
    );
    log.stored(3);
    assert.equal(log.pendingCount, 2, 'only 4..5 are still held back');
    const next = log.receive(batch([]), () => undefined);
    assert.deepEqual(next, { kind: 'accepted', append: entries(4, 5) });
    log.stored(5);
    assert.equal(log.hwm, 5);
    assert.equal(log.pendingCount, 0);
  });

  void it('stored() rejects going back and entries that were not accepted', () => {
    const replica = new Replica();
    replica.apply(batch(entries(1, 2)));
    assert.throws(() => {
      replica.log.stored(1);
    }, InvariantError);
    assert.throws(() => {
      replica.log.stored(3);
    }, InvariantError);
    replica.log.stored(2); // no-op
    assert.equal(replica.log.hwm, 2);
  });

  void it('converges under shuffled, duplicated and overlapping batches (seeded)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const random = seededRandom(seed);
      const maxPending = 5 + randomInt(random, 20);
      const replica = new Replica(maxPending);
      const last = 40;
      let maxPendingSeen = 0;
      // the master keeps resending from the replica's hwm, in shuffled windows with duplicates
      for (let round = 0; round < 200 && replica.log.hwm < last; round++) {
        const batches: Entry[][] = [];
        for (let from = replica.log.hwm + 1; from <= last; from += 4) {
          const to = Math.min(last, from + randomInt(random, 6));
          batches.push(entries(from, to));
          if (random() < 0.3) batches.push(entries(from, to));
        }
        for (const items of shuffled(batches, random).slice(0, 1 + randomInt(random, 4))) {
          assert.equal(replica.apply(batch(items)).kind, 'accepted');
          maxPendingSeen = Math.max(maxPendingSeen, replica.log.pendingCount);
          assert.deepEqual(replica.visible(), entries(1, replica.log.hwm), `seed ${seed}`);
        }
      }
      assert.equal(replica.log.hwm, last, `seed ${seed} converges`);
      assert.ok(maxPendingSeen <= maxPending, `seed ${seed}: pending ${maxPendingSeen}`);
    }
  });
});
