import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProcStatusMemory, processMemory } from './process-memory.js';

const STATUS = `Name:\tnode
Umask:\t0022
State:\tS (sleeping)
VmPeak:\t 1234567 kB
VmSize:\t 1200000 kB
VmHWM:\t  345678 kB
VmRSS:\t  123456 kB
RssAnon:\t  100000 kB
Threads:\t11
`;

test('parseProcStatusMemory reads VmRSS and VmHWM, not their neighbours', () => {
  assert.deepEqual(parseProcStatusMemory(STATUS), { rssKiB: 123456, hwmKiB: 345678 });
});

test('parseProcStatusMemory is undefined when a field is missing (a kernel thread, a zombie)', () => {
  assert.equal(parseProcStatusMemory('Name:\tkthreadd\nState:\tS (sleeping)\n'), undefined);
  assert.equal(parseProcStatusMemory('VmRSS:\t 10 kB\n'), undefined);
});

test(
  'processMemory reads this process',
  { skip: process.platform !== 'linux' ? 'needs /proc (Linux)' : false },
  () => {
    const memory = processMemory(process.pid);
    assert.ok(memory !== undefined && memory.rssKiB > 0 && memory.hwmKiB >= memory.rssKiB);
  },
);

test('processMemory is undefined for a process that does not exist', () => {
  assert.equal(processMemory(2 ** 22 + 1), undefined);
});
