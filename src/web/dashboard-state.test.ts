import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TailEntry } from './client/dashboard-wire.js';
import { FakeMaster } from './dashboard-fixtures.js';
import {
  advance,
  contactSeconds,
  initialState,
  keptTail,
  mergeTail,
  shouldAskFaults,
  tailRequest,
  toTailEntry,
  withFaults,
  withMaster,
  withSecondary,
} from './dashboard-state.js';

const NO_TOKENS = { appendsNeedToken: false, faultsNeedToken: false };

function entries(from: number, to: number): TailEntry[] {
  return Array.from({ length: to - from + 1 }, (_, index) => ({
    id: from + index,
    message: `m${from + index}`,
  }));
}

function ids(tail: readonly TailEntry[]): number[] {
  return tail.map((entry) => entry.id);
}

const peers = [
  { name: 'sub1', url: 'http://sub1:8001' },
  { name: 'sub2', url: 'http://sub2:8002' },
];

void describe('toTailEntry', () => {
  void it('keeps a short message whole, without fullLength', () => {
    assert.deepEqual(toTailEntry({ id: 1, message: 'hello' }, 10), { id: 1, message: 'hello' });
  });

  void it('cuts a long message, marks it and tells its whole length', () => {
    assert.deepEqual(toTailEntry({ id: 2, message: 'abcdefghij' }, 4), {
      id: 2,
      message: 'abcd…',
      fullLength: 10,
    });
  });

  void it('never cuts inside a surrogate pair', () => {
    const cut = toTailEntry({ id: 3, message: 'ab🚀cd' }, 3);
    assert.equal(cut.message, 'ab…');
    assert.equal(cut.fullLength, 6);
  });
});

void describe('tailRequest', () => {
  void it('asks nothing when the tail is up to date', () => {
    assert.equal(tailRequest(entries(1, 5), 5, 30), undefined);
    assert.equal(tailRequest([], 0, 30), undefined);
  });

  void it('asks for the entries after the tail', () => {
    assert.deepEqual(tailRequest(entries(1, 5), 8, 30), { sinceId: 5, limit: 30 });
  });

  void it('skips to the last tailSize entries when more are missing', () => {
    assert.deepEqual(tailRequest(entries(1, 5), 1000, 30), { sinceId: 970, limit: 30 });
    assert.deepEqual(tailRequest([], 12, 30), { sinceId: 0, limit: 30 });
  });
});

void describe('keptTail', () => {
  void it('keeps the tail of the same log that did not shrink', () => {
    const tail = entries(1, 5);
    assert.equal(keptTail(tail, true, 5), tail);
    assert.equal(keptTail(tail, true, 9), tail);
  });

  void it('drops it for another log, or when the node now holds less (restarted empty)', () => {
    assert.deepEqual(keptTail(entries(1, 5), false, 9), []);
    assert.deepEqual(keptTail(entries(1, 5), true, 2), []);
  });
});

void describe('mergeTail', () => {
  void it('appends consecutive entries and keeps the last tailSize', () => {
    assert.deepEqual(ids(mergeTail(entries(1, 3), entries(4, 6), 4)), [3, 4, 5, 6]);
  });

  void it('skips entries it has, and returns the same tail when nothing is new', () => {
    const tail = entries(1, 3);
    assert.deepEqual(ids(mergeTail(tail, entries(2, 4), 10)), [1, 2, 3, 4]);
    assert.equal(mergeTail(tail, entries(1, 3), 10), tail);
    assert.equal(mergeTail(tail, [], 10), tail);
  });

  void it('replaces the tail when the read starts after a gap', () => {
    assert.deepEqual(ids(mergeTail(entries(1, 3), entries(50, 52), 10)), [50, 51, 52]);
  });
});

void describe('shouldAskFaults', () => {
  const on = { state: 'on', settings: { delayMs: 0, errorRate: 0, partitioned: false } } as const;
  const unknown = { state: 'unknown', reason: 'x' } as const;

  void it('asks every time while fault injection is on, and after every restart', () => {
    assert.equal(shouldAskFaults(on, true, 0, 5000), true);
    assert.equal(shouldAskFaults({ state: 'off' }, false, 0, 5000), true);
  });

  void it('does not ask a running node again whose fault injection is off', () => {
    assert.equal(shouldAskFaults({ state: 'off' }, true, 60_000, 5000), false);
  });

  void it('asks again after recheckMs when it could not tell', () => {
    assert.equal(shouldAskFaults(unknown, true, 4999, 5000), false);
    assert.equal(shouldAskFaults(unknown, true, 5000, 5000), true);
  });
});

void describe('state', () => {
  const master = new FakeMaster(peers);

  void it('starts with every secondary pending and its master-side facts', () => {
    master.setPeer('sub2', { status: 'Suspected', ackedId: 3, lag: 2, lastContactMs: 2500 });
    const state = initialState(master.health(), 30, NO_TOKENS);
    assert.equal(state.version, 1);
    assert.equal(state.appendsNeedToken, false);
    assert.deepEqual(
      state.secondaries.map((view) => [view.name, view.reach, view.status, view.lastContactS]),
      [
        ['sub1', 'pending', 'Healthy', 0],
        ['sub2', 'pending', 'Suspected', 2],
      ],
    );
  });

  void it('takes the master health into the master and every secondary', () => {
    const state = initialState(master.health(), 30, {
      appendsNeedToken: true,
      faultsNeedToken: false,
    });
    master.status = 'read-only';
    master.setPeer('sub1', { status: 'Unhealthy', ackedId: 7, lag: 5, lastContactMs: null });
    const next = withMaster(state, master.health(), entries(1, 2));
    assert.equal(next.appendsNeedToken, true, 'kept: it is the master config, not its health');
    assert.equal(next.master.status, 'read-only');
    assert.deepEqual(ids(next.master.tail), [1, 2]);
    const sub1 = next.secondaries[0]!;
    assert.deepEqual(
      [sub1.status, sub1.ackedId, sub1.lag, sub1.lastContactS],
      ['Unhealthy', 7, 5, null],
    );
  });

  void it('keeps what an unreachable secondary showed last, with the reason', () => {
    const faults = {
      state: 'on',
      settings: { delayMs: 200, errorRate: 0, partitioned: true },
    } as const;
    const reached = withSecondary(initialState(master.health(), 30, NO_TOKENS), 'sub2', {
      kind: 'reachable',
      lastId: 4,
      pending: 1,
      tail: entries(1, 4),
      faults,
    });
    const lost = withSecondary(reached, 'sub2', { kind: 'unreachable', error: 'no answer' });
    const sub2 = lost.secondaries[1]!;
    assert.equal(sub2.reach, 'unreachable');
    assert.equal(sub2.reachError, 'no answer');
    assert.deepEqual([sub2.lastId, sub2.pending, ids(sub2.tail)], [4, 1, [1, 2, 3, 4]]);
    assert.deepEqual(sub2.faults, faults);
    assert.equal(lost.secondaries[0], reached.secondaries[0], 'sub1 is untouched');
  });

  void it('records fault settings set through the master', () => {
    const settings = { delayMs: 0, errorRate: 0.3, partitioned: false };
    const next = withFaults(initialState(master.health(), 30, NO_TOKENS), 'sub1', {
      state: 'on',
      settings,
    });
    assert.deepEqual(next.secondaries[0]!.faults, { state: 'on', settings });
  });
});

void describe('advance', () => {
  const master = new FakeMaster(peers);

  void it('returns the previous state itself when nothing shown changed', () => {
    const state = initialState(master.health(), 30, NO_TOKENS);
    // Contact 50 ms then 900 ms ago: both "under a second", nothing to send.
    master.setPeer('sub1', { lastContactMs: 900 });
    assert.equal(advance(state, withMaster(state, master.health(), [])), state);
    assert.equal(advance(state, { ...state, version: 99 }), state);
  });

  void it('moves one version on at a change', () => {
    const state = initialState(master.health(), 30, NO_TOKENS);
    master.setPeer('sub1', { lastContactMs: 1500 });
    const next = advance(state, withMaster(state, master.health(), []));
    assert.notEqual(next, state);
    assert.equal(next.version, state.version + 1);
    assert.equal(next.secondaries[0]!.lastContactS, 1);
  });
});

void describe('contactSeconds', () => {
  void it('rounds down to whole seconds and keeps never as null', () => {
    assert.equal(contactSeconds(null), null);
    assert.equal(contactSeconds(999), 0);
    assert.equal(contactSeconds(2001), 2);
  });
});
