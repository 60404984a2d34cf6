import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BucketSeries, type BucketFill } from './bucket-series.js';

const sum = (held: number, sample: number): number => held + sample;

void describe('BucketSeries', () => {
  const cases: {
    name: string;
    combine: (held: number, sample: number) => number;
    fill: BucketFill;
    /** [atMs, value, nowMs] */
    adds: [number, number, number][];
    nowMs: number;
    want: (number | null)[];
  }[] = [
    { name: 'empty, counted', combine: sum, fill: 'zero', adds: [], nowMs: 5000, want: [0, 0, 0] },
    {
      name: 'empty, a level',
      combine: Math.max,
      fill: 'previous',
      adds: [],
      nowMs: 5000,
      want: [null, null, null],
    },
    {
      name: 'sums within a bucket, the current bucket last',
      combine: sum,
      fill: 'zero',
      adds: [
        [3100, 1, 3100],
        [3900, 2, 3900],
        [5000, 1, 5000],
      ],
      nowMs: 5500,
      want: [3, 0, 1],
    },
    {
      name: 'a level carries over seconds without samples',
      combine: Math.max,
      fill: 'previous',
      adds: [
        [3100, 4, 3100],
        [3200, 2, 3200],
      ],
      nowMs: 5500,
      want: [4, 4, 4],
    },
    {
      name: 'a level dropped from the window still starts the line',
      combine: Math.max,
      fill: 'previous',
      adds: [
        [1000, 7, 1000],
        [5100, 1, 5100],
      ],
      nowMs: 5500,
      want: [7, 7, 1],
    },
    {
      name: 'a sample older than the window is dropped',
      combine: sum,
      fill: 'zero',
      adds: [[1000, 9, 6000]],
      nowMs: 6000,
      want: [0, 0, 0],
    },
    {
      name: 'a late sample lands in its own (past) bucket',
      combine: sum,
      fill: 'zero',
      adds: [[4500, 1, 6200]],
      nowMs: 6200,
      want: [1, 0, 0],
    },
  ];
  for (const { name, combine, fill, adds, nowMs, want } of cases) {
    void it(name, () => {
      const series = new BucketSeries(1000, 3, combine);
      for (const [atMs, value, at] of adds) series.add(atMs, value, at);
      assert.deepEqual(series.values(nowMs, fill), want);
      assert.equal(series.currentStartMs(nowMs), Math.floor(nowMs / 1000) * 1000);
    });
  }

  void it('refuses a window it cannot hold, naming the values', () => {
    assert.throws(() => new BucketSeries(0, 3, sum), /bucketMs > 0.*got 0 ms, 3/);
    assert.throws(() => new BucketSeries(1000, 0, sum), /count >= 1/);
  });
});
