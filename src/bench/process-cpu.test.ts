import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processCpuMs } from './process-cpu.js';

test(
  'processCpuMs reads this process and grows with work',
  { skip: process.platform !== 'linux' ? 'needs /proc (Linux)' : false },
  () => {
    const before = processCpuMs(process.pid);
    assert.ok(before !== undefined && before >= 0);
    const until = performance.now() + 60;
    let spin = 0;
    while (performance.now() < until) spin += 1;
    assert.ok(spin > 0);
    const after = processCpuMs(process.pid);
    assert.ok(after !== undefined && after >= before + 20, `${before} -> ${after}`);
  },
);

test('processCpuMs is undefined for a process that does not exist', () => {
  assert.equal(processCpuMs(2 ** 22 + 1), undefined);
});
