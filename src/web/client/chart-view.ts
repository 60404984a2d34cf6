import { layoutChart, type ChartGeometry } from './chart-layout.js';
import type { ChartSeries } from './dashboard-wire.js';
import { svg, titled } from './svg.js';

/**
 * A line chart drawn into an `<svg>` of the page: one line per series, each in its own colour
 * class (`series-0`, `series-1`, ...), the y axis from 0 to a round maximum, the x axis the last
 * minute. Redrawn whole at each state: a few hundred points at most.
 */

const HEIGHT_PX = 150;
const MARGINS = { leftPx: 34, rightPx: 10, topPx: 10, bottomPx: 20 } as const;

export interface ChartLine {
  readonly name: string;
  readonly values: readonly (number | null)[];
}

export class ChartView {
  constructor(
    private readonly root: SVGSVGElement,
    /** The chart's name, for screen readers: a summary follows it. */
    private readonly what: string,
    private readonly unit: string,
  ) {}

  draw(lines: readonly ChartLine[], chart: ChartSeries, widthPx: number): void {
    const geometry: ChartGeometry = { widthPx, heightPx: HEIGHT_PX, ...MARGINS };
    const layout = layoutChart(
      lines.map((line) => line.values),
      geometry,
    );
    const { plot } = layout;
    const seconds = Math.round(((lines[0]?.values.length ?? 1) * chart.bucketMs) / 1000);
    const midY = (plot.y1 + plot.y2) / 2;
    const label = (x: number, y: number, text: string, anchor: string) =>
      svg('text', { x, y, 'text-anchor': anchor, class: 'chart-label' }, text);
    const now = lines.map((line) => `${line.name} ${line.values.at(-1) ?? 'none'}`).join(', ');
    this.root.setAttribute('viewBox', `0 0 ${widthPx} ${HEIGHT_PX}`);
    this.root.setAttribute('width', String(widthPx));
    this.root.setAttribute('height', String(HEIGHT_PX));
    this.root.setAttribute('aria-label', `${this.what} over the last ${seconds} s; now: ${now}`);
    this.root.replaceChildren(
      svg('line', { x1: plot.x1, y1: plot.y2, x2: plot.x2, y2: plot.y2, class: 'chart-axis' }),
      svg('line', { x1: plot.x1, y1: plot.y1, x2: plot.x2, y2: plot.y1, class: 'chart-grid' }),
      svg('line', { x1: plot.x1, y1: midY, x2: plot.x2, y2: midY, class: 'chart-grid' }),
      label(plot.x1 - 4, plot.y1 + 4, String(layout.maxValue), 'end'),
      label(plot.x1 - 4, plot.y2 + 4, '0', 'end'),
      label(plot.x1, HEIGHT_PX - 4, `-${seconds} s`, 'start'),
      label(plot.x2, HEIGHT_PX - 4, 'now', 'end'),
      ...layout.lines.flatMap((runs, index) =>
        runs.map((points) =>
          titled(
            svg('polyline', { points, class: `chart-line series-${index}` }),
            `${lines[index]?.name ?? ''} (${this.unit})`,
          ),
        ),
      ),
      ...layout.ends.flatMap((end, index) =>
        end === null
          ? []
          : [svg('circle', { cx: end.x, cy: end.y, r: 3, class: `chart-dot series-${index}` })],
      ),
    );
  }
}
