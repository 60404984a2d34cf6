import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catchUpRunsSummary, parseCatchUpOptions, type CatchUpResult } from './catch-up.js';

function run(catchUpMs: number, startMs = 400, firstEntriesMs = 600): CatchUpResult {
  return {
    entries: 1_000_000,
    durable: true,
    fillMs: 8000,
    startMs,
    firstEntriesMs,
    catchUpMs,
    entriesPerS: 1e9 / catchUpMs,
    masterCpuMs: 1200,
    secondaryCpuMs: 1100,
    targetRatio: catchUpMs / 2000,
    appendsDuringCatchUp: 600,
    appendsAcknowledged: 700,
    appendErrors: [],
    lastAcknowledgedId: 1_000_700,
    secondaryLastId: 1_000_700,
    masterLastId: 1_000_700,
  };
}

describe('catch-up bench options', () => {
  it('reads --runs, one run unless told', () => {
    assert.equal(parseCatchUpOptions([])?.runs, 1);
    assert.equal(parseCatchUpOptions(['--runs', '5'])?.runs, 5);
  });

  for (const [args, message] of [
    [['--runs', '0'], /--runs must be an integer from 1 to 20; got "0"/],
    [['--runs', '21'], /--runs must be an integer from 1 to 20; got "21"/],
    [['--runs', '2.5'], /--runs must be an integer from 1 to 20; got "2.5"/],
    [['--runs', '3', '--cpu-prof', '/tmp/p'], /--cpu-prof profiles one run; got --runs 3/],
  ] as const) {
    it(`refuses ${args.join(' ')}`, () => {
      assert.throws(() => parseCatchUpOptions(args), message);
    });
  }

  it('profiles a single run', () => {
    assert.equal(parseCatchUpOptions(['--cpu-prof', '/tmp/p', '--runs', '1'])?.runs, 1);
  });
});

describe('catch-up runs summary', () => {
  it('says nothing for a single run', () => {
    assert.deepEqual(catchUpRunsSummary([run(1900)]), []);
  });

  it('gives the median, the range and how many met the 2 s target', () => {
    const lines = catchUpRunsSummary([
      run(2100, 420, 700),
      run(1800, 380, 560),
      run(1950, 410, 600),
    ]);
    assert.deepEqual(lines, [
      'over 3 runs: restart -> holds all 1.95 s median (1.80 to 2.10 s), 2 of 3 within the 2 s target; start 410 ms median, first entries at 600 ms median',
    ]);
  });

  it('takes the middle two of an even count, and a run of exactly 2 s meets the target', () => {
    const [line] = catchUpRunsSummary([run(2000), run(2400), run(1600), run(2200)]);
    assert.match(line ?? '', /holds all 2\.10 s median \(1\.60 to 2\.40 s\), 2 of 4 within/);
  });
});
