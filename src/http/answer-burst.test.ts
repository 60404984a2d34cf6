import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../testing/manual-clock.js';
import { AnswerBurst } from './answer-burst.js';

void describe('AnswerBurst', () => {
  void it('writes the answers of a turn together once its work is done, in order', async () => {
    const clock = new ManualClock();
    const burst = new AnswerBurst(clock);
    const written: string[] = [];
    for (const name of ['a', 'b', 'c']) burst.add(() => written.push(name));
    assert.equal(written.length, 0, 'nothing is written during the turn');
    assert.equal(clock.pendingTimers, 1, 'one write for the whole turn');
    await clock.advance(0);
    assert.deepEqual(written, ['a', 'b', 'c'], 'no time passed, all written');

    burst.add(() => written.push('d'));
    assert.equal(clock.pendingTimers, 1, 'the next turn has its own');
    await clock.advance(0);
    assert.deepEqual(written, ['a', 'b', 'c', 'd']);
    assert.equal(clock.pendingTimers, 0);
  });

  void it('writes an answer added while a burst is written with the next one', async () => {
    const clock = new ManualClock();
    const burst = new AnswerBurst(clock);
    const written: string[] = [];
    burst.add(() => {
      written.push('first');
      burst.add(() => written.push('later'));
    });
    await clock.advance(0);
    assert.deepEqual(written, ['first', 'later']);
    assert.equal(clock.pendingTimers, 0);
  });
});
