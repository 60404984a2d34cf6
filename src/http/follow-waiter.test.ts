import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../testing/manual-clock.js';
import { FakeLog } from './follow-fixtures.js';
import { waitForEntries, type WaitEnd } from './follow-waiter.js';

/** The wait's end once it has one, else 'pending'. */
function state(done: Promise<WaitEnd>): Promise<WaitEnd | 'pending'> {
  return Promise.race([
    done,
    new Promise<'pending'>((resolve) => setImmediate(resolve, 'pending')),
  ]);
}

void describe('waitForEntries', () => {
  void it('ends at once when the log shows an entry after since', async () => {
    const log = new FakeLog();
    log.append(3);
    const clock = new ManualClock();
    const waiting = waitForEntries(log, clock, 2, 30_000);
    assert.equal(await state(waiting.done), 'visible');
    assert.equal(clock.pendingTimers, 0);
    assert.equal(log.listenerCount, 0);
  });

  void it('waits for the first entry after since, not for one at or before it', async () => {
    const log = new FakeLog();
    log.append(2);
    const clock = new ManualClock();
    // A reader ahead of this node (its own write, on a secondary that has not got it yet).
    const waiting = waitForEntries(log, clock, 3, 30_000);
    await clock.advance(1000);
    log.append(1);
    assert.equal(await state(waiting.done), 'pending');
    log.append(1);
    assert.equal(await state(waiting.done), 'visible');
    assert.equal(clock.pendingTimers, 0, 'its timer is cancelled');
    assert.equal(log.listenerCount, 0, 'it no longer listens');
  });

  void it('ends as timeout when waitMs passes without a new entry, and not before', async () => {
    const log = new FakeLog();
    const clock = new ManualClock();
    const waiting = waitForEntries(log, clock, 0, 500);
    await clock.advance(499);
    assert.equal(await state(waiting.done), 'pending');
    await clock.advance(1);
    assert.equal(await state(waiting.done), 'timeout');
    assert.equal(log.listenerCount, 0);
    log.append(1);
    assert.equal(await waiting.done, 'timeout', 'an entry after the end changes nothing');
  });

  void it('ends as ended when ended from outside, once', async () => {
    const log = new FakeLog();
    const clock = new ManualClock();
    const waiting = waitForEntries(log, clock, 0, 500);
    waiting.end();
    waiting.end();
    assert.equal(await state(waiting.done), 'ended');
    assert.equal(clock.pendingTimers, 0);
    assert.equal(log.listenerCount, 0);
  });
});
