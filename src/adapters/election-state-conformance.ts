import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantError } from '../core/assert.js';
import {
  ALLOWED_TRANSITIONS,
  INVALID_STATES,
  REFUSED_TRANSITIONS,
} from '../core/election-state-cases.js';
import { FRESH_ELECTION_STATE, type ElectionState } from '../core/election-state.js';
import type { ElectionStateStore } from './election-state-store.js';

/**
 * One storage under test. `store` is not loaded yet: every test starts with `load()`.
 * `reopen()` returns a new store over the same storage, not loaded yet: what a restart finds once
 * every save the test awaited has resolved.
 */
export interface ElectionStateHarness {
  readonly store: ElectionStateStore;
  reopen(): Promise<ElectionStateStore>;
  /** Removes the storage. */
  cleanup(): Promise<void>;
}

export interface ElectionStateFactory {
  create(): Promise<ElectionStateHarness>;
}

function state(epoch: number, votedFor: string | null, acceptedEpoch: number): ElectionState {
  return { epoch, votedFor, acceptedEpoch };
}

/** The behaviours every ElectionStateStore must have; the factory makes a fresh, empty storage per test. */
export function runElectionStateConformance(name: string, factory: ElectionStateFactory): void {
  void describe(`ElectionStateStore conformance: ${name}`, () => {
    let harness: ElectionStateHarness;
    let store: ElectionStateStore;

    beforeEach(async () => {
      harness = await factory.create();
      store = harness.store;
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    /** What a restart loads. */
    async function reloaded(): Promise<ElectionState> {
      store = await harness.reopen();
      return store.load();
    }

    void it('a fresh storage loads epoch 0, no vote, acceptedEpoch 0, and again after a restart', async () => {
      assert.deepEqual(await store.load(), FRESH_ELECTION_STATE);
      assert.deepEqual(await reloaded(), FRESH_ELECTION_STATE);
    });

    void it('every resolved save is what a restart loads', async () => {
      await store.load();
      const steps = [state(1, null, 0), state(1, 'n2', 0), state(2, 'n1', 1), state(2, 'n1', 2)];
      for (const step of steps) {
        await store.save(step);
        assert.deepEqual(await reloaded(), step);
      }
      await store.save(state(3, null, 2));
      await store.save(state(3, 'n3', 3));
      assert.deepEqual(await reloaded(), state(3, 'n3', 3), 'the last of several saves');
    });

    void it('stores the state passed, not a live reference to it', async () => {
      await store.load();
      const mutable = { epoch: 4, votedFor: 'n1' as string | null, acceptedEpoch: 1 };
      const saved = store.save(mutable);
      mutable.votedFor = 'n2';
      await saved;
      assert.deepEqual(await reloaded(), state(4, 'n1', 1));
    });

    for (const [caseName, before, after] of ALLOWED_TRANSITIONS) {
      void it(`saves ${caseName}`, async () => {
        await store.load();
        await store.save(before);
        await store.save(after);
        assert.deepEqual(await reloaded(), after);
      });
    }

    for (const [caseName, before, after] of REFUSED_TRANSITIONS) {
      void it(`refuses a save that ${caseName}, keeping the state before it`, async () => {
        await store.load();
        await store.save(before);
        await assert.rejects(store.save(after), InvariantError);
        assert.deepEqual(await reloaded(), before);
      });
    }

    for (const [caseName, invalid] of INVALID_STATES) {
      void it(`refuses to save ${caseName}`, async () => {
        await store.load();
        await assert.rejects(store.save(invalid), InvariantError);
        assert.deepEqual(await reloaded(), FRESH_ELECTION_STATE);
      });
    }

    void it('checks a vote against a reloaded state: a restart cannot vote twice', async () => {
      await store.load();
      await store.save(state(6, 'n1', 2));
      await reloaded();
      await assert.rejects(store.save(state(6, 'n2', 2)), InvariantError);
      await assert.rejects(store.save(state(5, null, 2)), InvariantError);
      await store.save(state(6, 'n1', 6));
    });

    void it('applies concurrent saves in call order, each resolving after the ones before it', async () => {
      await store.load();
      const states = [1, 2, 3, 4, 5, 6].map((epoch) => state(epoch, `n${epoch % 3}`, epoch - 1));
      const resolved: number[] = [];
      await Promise.all(
        states.map((next) => store.save(next).then(() => resolved.push(next.epoch))),
      );
      assert.deepEqual(resolved, [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(await reloaded(), states[5]);
    });

    void it('checks each save against the last one called, durable yet or not', async () => {
      await store.load();
      const first = store.save(state(3, 'n1', 0));
      const secondVote = store.save(state(3, 'n2', 0));
      const lower = store.save(state(2, null, 0));
      const later = store.save(state(4, null, 3));
      await assert.rejects(secondVote, InvariantError);
      await assert.rejects(lower, InvariantError);
      await first;
      await later;
      assert.deepEqual(await reloaded(), state(4, null, 3));
    });

    void it('refuses save() before load(), and a second load()', async () => {
      await assert.rejects(store.save(state(1, null, 0)), InvariantError);
      await store.load();
      await assert.rejects(store.load(), InvariantError);
      await store.save(state(1, null, 0));
      assert.deepEqual(await reloaded(), state(1, null, 0));
    });
  });
}
