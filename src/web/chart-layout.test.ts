import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layoutChart, roundMax } from './client/chart-layout.js';

/** Plot from (10, 10) to (110, 110): 100 px each way. */
const GEOMETRY = { widthPx: 120, heightPx: 130, leftPx: 10, rightPx: 10, topPx: 10, bottomPx: 20 };

void describe('roundMax', () => {
  const cases: [value: number, want: number][] = [
    [0, 1],
    [-3, 1],
    [1, 1],
    [1.5, 2],
    [3, 5],
    [5, 5],
    [7, 10],
    [11, 20],
    [49, 50],
    [51, 100],
    [120, 200],
  ];
  for (const [value, want] of cases) {
    void it(`${value} -> ${want}`, () => {
      assert.equal(roundMax(value), want);
    });
  }
});

void describe('layoutChart', () => {
  const cases: {
    name: string;
    series: (number | null)[][];
    maxValue: number;
    lines: string[][];
    ends: ({ x: number; y: number } | null)[];
  }[] = [
    {
      name: 'one line, scaled to a round maximum',
      series: [[0, 2, 4]],
      maxValue: 5,
      lines: [['10,110 60,70 110,30']],
      ends: [{ x: 110, y: 30 }],
    },
    {
      name: 'nulls break a line into runs',
      series: [[1, null, 1, 1, null]],
      maxValue: 1,
      lines: [['10,10', '60,10 85,10']],
      ends: [null],
    },
    {
      name: 'all zero: flat on the axis, a maximum of 1',
      series: [
        [0, 0],
        [0, 0],
      ],
      maxValue: 1,
      lines: [['10,110 110,110'], ['10,110 110,110']],
      ends: [
        { x: 110, y: 110 },
        { x: 110, y: 110 },
      ],
    },
    {
      name: 'two lines share one axis',
      series: [
        [10, 0],
        [null, 20],
      ],
      maxValue: 20,
      lines: [['10,60 110,110'], ['110,10']],
      ends: [
        { x: 110, y: 110 },
        { x: 110, y: 10 },
      ],
    },
  ];
  for (const { name, series, maxValue, lines, ends } of cases) {
    void it(name, () => {
      const layout = layoutChart(series, GEOMETRY);
      assert.equal(layout.maxValue, maxValue);
      assert.deepEqual(layout.lines, lines);
      assert.deepEqual(layout.ends, ends);
      assert.deepEqual(layout.plot, { x1: 10, y1: 10, x2: 110, y2: 110 });
    });
  }
});
