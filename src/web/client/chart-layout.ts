/**
 * The chart's geometry: pure, no DOM (tested in chart-layout.test.ts, drawn by chart-view.ts).
 * A line per series over evenly spaced buckets, the y axis from 0 to a round maximum.
 */

export interface ChartGeometry {
  readonly widthPx: number;
  readonly heightPx: number;
  /** Room on the left for the y labels. */
  readonly leftPx: number;
  readonly rightPx: number;
  readonly topPx: number;
  /** Room at the bottom for the x labels. */
  readonly bottomPx: number;
}

export interface ChartLayout {
  /** The y axis' top value: the data's maximum rounded up to 1, 2 or 5 times a power of ten. */
  readonly maxValue: number;
  readonly plot: {
    readonly x1: number;
    readonly y1: number;
    readonly x2: number;
    readonly y2: number;
  };
  /** Per series, its unbroken runs as SVG polyline points ("x,y x,y ..."); nulls break a line. */
  readonly lines: readonly (readonly string[])[];
  /** Each series' last value, where it is drawn (for a dot at "now"); null: no value. */
  readonly ends: readonly ({ readonly x: number; readonly y: number } | null)[];
}

/** The smallest of 1, 2, 5, 10, 20, 50, ... that is at least `value` (1 for 0 or less). */
export function roundMax(value: number): number {
  if (!(value > 1)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

export function layoutChart(
  series: readonly (readonly (number | null)[])[],
  geometry: ChartGeometry,
): ChartLayout {
  const { widthPx, heightPx, leftPx, rightPx, topPx, bottomPx } = geometry;
  const plot = { x1: leftPx, y1: topPx, x2: widthPx - rightPx, y2: heightPx - bottomPx };
  const largest = Math.max(0, ...series.flat().map((value) => value ?? 0));
  const maxValue = roundMax(largest);
  const count = Math.max(2, ...series.map((values) => values.length));
  const stepPx = (plot.x2 - plot.x1) / (count - 1);
  const point = (index: number, value: number) => ({
    x: round1(plot.x1 + index * stepPx),
    y: round1(plot.y2 - (value / maxValue) * (plot.y2 - plot.y1)),
  });
  const lines = series.map((values) => {
    const runs: string[] = [];
    let run: string[] = [];
    values.forEach((value, index) => {
      if (value === null) {
        if (run.length > 0) runs.push(run.join(' '));
        run = [];
        return;
      }
      const { x, y } = point(index, value);
      run.push(`${x},${y}`);
    });
    if (run.length > 0) runs.push(run.join(' '));
    return runs;
  });
  const ends = series.map((values) => {
    const last = values.at(-1);
    return last === undefined || last === null ? null : point(values.length - 1, last);
  });
  return { maxValue, plot, lines, ends };
}
