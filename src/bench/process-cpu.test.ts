import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processCpuMs } from './process-cpu.js';

test(
  'processCpuMs reads this process and grows with work',
  { skip: process.platform !== 'linux' ? 'needs /proc (Linux)' : false },
  () => {
    const before = processCpuMs(process.pid);
    assert.ok(before !== undefined && before >= 0);
    // Spin until this process has used 60 ms more CPU by the kernel's own count (getrusage), not
    // for 60 ms of wall time: on a busy machine the process may get only a part of that time.
    const start = process.cpuUsage();
    let spin = 0;
    for (;;) {
      spin += 1;
      const used = process.cpuUsage(start);
      if (used.user + used.system >= 60_000) break;
    }
    assert.ok(spin > 0);
    const after = processCpuMs(process.pid);
    // /proc counts in ticks of 10 ms: 60 ms used shows as at least 50 ms more, well above 20.
    assert.ok(after !== undefined && after >= before + 20, `${before} -> ${after}`);
  },
);

test('processCpuMs is undefined for a process that does not exist', () => {
  assert.equal(processCpuMs(2 ** 22 + 1), undefined);
});
