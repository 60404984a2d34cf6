import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ProgressGate } from './progress-gate.js';

void it('ProgressGate prints news at once and the same news again only after repeatMs', () => {
  const gate = new ProgressGate(5000);
  const line = (key: string, text = key) => ({ key, text });
  assert.equal(gate.offer(line('a', 'a 1.0 s'), 0), true);
  assert.equal(gate.offer(line('a', 'a 2.0 s'), 1000), false);
  assert.equal(gate.offer(line('a', 'a 5.9 s'), 4999), false);
  assert.equal(gate.offer(line('a', 'a 6.0 s'), 5000), true);
  assert.equal(gate.offer(line('b'), 5500), true);
  assert.equal(gate.offer(line('a'), 6000), true);
  assert.equal(gate.offer(line('a'), 7000), false);
});
