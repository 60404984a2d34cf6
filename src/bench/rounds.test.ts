import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, summarizeRounds, type RoundResult } from './rounds.js';

const run = (label: string, clients: number, throughput: number, ratio?: number): RoundResult => ({
  label,
  clients,
  throughput,
  p50Ms: throughput / 1000,
  p99Ms: 2,
  p999Ms: 3,
  errors: 1,
  ...(ratio === undefined ? {} : { vsNoop: { throughput: ratio, p50: ratio, p99: 1, p999: 1 } }),
});

void describe('bench rounds', () => {
  void it('median of odd and even counts', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  void it('one row per scenario and client count, medians of figures and of ratios', () => {
    const rows = summarizeRounds([
      run('no-op', 64, 30_000),
      run('w=all', 64, 12_000, 0.4),
      run('no-op', 64, 10_000),
      run('w=all', 64, 11_000, 1.1),
      run('no-op', 64, 29_000),
      run('w=all', 64, 13_000, 0.45),
      run('w=all', 1, 800, 0.2),
    ]);
    assert.deepEqual(
      rows.map((row) => [row.label, row.clients, row.rounds]),
      [
        ['no-op', 64, 3],
        ['w=all', 64, 3],
        ['w=all', 1, 1],
      ],
    );
    const wall = rows[1]!;
    assert.equal(wall.throughput, 12_000);
    assert.equal(wall.vsNoop?.throughput, 0.45, 'the noisy round (1.1) does not move the median');
    assert.deepEqual(wall.throughputRatioRange, [0.4, 1.1]);
    assert.equal(wall.errors, 3);
    assert.equal(rows[0]!.vsNoop, undefined);
  });
});
