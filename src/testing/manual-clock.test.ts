import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { repeatEvery } from '../adapters/repeat.js';
import { ManualClock } from './manual-clock.js';

void describe('ManualClock', () => {
  void it('runs due timers in time order, ties in the order they were set, at their due time', async () => {
    const clock = new ManualClock(1000);
    const ran: string[] = [];
    const note = (name: string) => () => ran.push(`${name}@${clock.nowMs()}`);
    clock.schedule(30, note('c'));
    clock.schedule(10, note('a'));
    clock.schedule(10, note('b'));
    clock.schedule(31, note('late'));
    await clock.advance(30);
    assert.deepEqual(ran, ['a@1010', 'b@1010', 'c@1030']);
    assert.equal(clock.nowMs(), 1030);
    assert.equal(clock.pendingTimers, 1);
  });

  void it('runs timers set meanwhile when they fall due, and never cancelled ones', async () => {
    const clock = new ManualClock();
    const ran: number[] = [];
    clock.schedule(10, () => {
      clock.schedule(5, () => ran.push(clock.nowMs()));
      clock.schedule(50, () => ran.push(clock.nowMs()));
    });
    const cancel = clock.schedule(12, () => ran.push(-1));
    cancel();
    cancel();
    await clock.advance(20);
    assert.deepEqual(ran, [15]);
    await clock.advance(40);
    assert.deepEqual(ran, [15, 60]);
    assert.equal(clock.pendingTimers, 0);
  });

  void it('lets the promise callbacks a timer starts settle before the next timer', async () => {
    const clock = new ManualClock();
    const ran: string[] = [];
    clock.schedule(1, () => {
      void Promise.resolve()
        .then(() => undefined)
        .then(() => ran.push('chain'));
    });
    clock.schedule(2, () => ran.push('next'));
    await clock.advance(2);
    assert.deepEqual(ran, ['chain', 'next']);
  });

  void it('refuses to go back, and stops a timer that keeps rescheduling itself at once', async () => {
    const clock = new ManualClock();
    await assert.rejects(clock.advance(-1), /only moves forward: advance\(-1\)/);
    const again = (): void => {
      clock.schedule(0, again);
    };
    again();
    await assert.rejects(clock.advance(0), /keeps rescheduling itself/);
  });
});

void describe('repeatEvery', () => {
  void it('runs every interval until stopped, even when stopped from inside', async () => {
    const clock = new ManualClock();
    const ranAtMs: number[] = [];
    const stop = repeatEvery(clock, 100, () => {
      ranAtMs.push(clock.nowMs());
      if (ranAtMs.length === 3) stop();
    });
    await clock.advance(99);
    assert.deepEqual(ranAtMs, []);
    await clock.advance(1000);
    assert.deepEqual(ranAtMs, [100, 200, 300]);
    assert.equal(clock.pendingTimers, 0);
  });
});
