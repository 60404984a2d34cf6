import { ChartView } from './chart-view.js';
import { el } from './dashboard-render.js';
import type { DashboardState } from './dashboard-wire.js';
import { DiagramView } from './diagram-view.js';

/**
 * The dashboard's two pictures: the charts of the last minute (appends per second, each
 * secondary's lag) and the space-time diagram of the last seconds. The diagram moves with time
 * between states: the master's clock is reckoned from the last state's `nowMs` plus the time the
 * page has waited since, and the diagram is redrawn a few times a second while it is in view.
 */

const REDRAW_MS = 200;

export interface PictureElements {
  readonly diagram: SVGSVGElement;
  readonly appends: SVGSVGElement;
  readonly lag: SVGSVGElement;
  readonly lagKey: HTMLElement;
  readonly empty: HTMLElement;
}

/** The width an `<svg>` has to draw in: its parent's, less nothing (the parent has no padding). */
function widthOf(element: Element): number {
  return Math.max(200, Math.floor(element.parentElement?.clientWidth ?? 600));
}

export class Pictures {
  readonly #diagram: DiagramView;
  readonly #appends: ChartView;
  readonly #lag: ChartView;
  #state: DashboardState | undefined;
  /** performance.now() when the last state came. */
  #receivedAt = 0;
  #lagKey = '';

  constructor(private readonly elements: PictureElements) {
    this.#diagram = new DiagramView(elements.diagram);
    this.#appends = new ChartView(elements.appends, 'Appends per second', 'appends/s');
    this.#lag = new ChartView(elements.lag, 'Lag of each secondary', 'entries');
    setInterval(() => {
      if (document.visibilityState === 'visible') this.#drawDiagram();
    }, REDRAW_MS);
    window.addEventListener('resize', () => {
      this.#drawCharts();
      this.#drawDiagram();
    });
  }

  update(state: DashboardState): void {
    this.#state = state;
    this.#receivedAt = performance.now();
    this.elements.empty.hidden = state.timeline !== null;
    this.#drawCharts();
    this.#drawDiagram();
  }

  #drawCharts(): void {
    const timeline = this.#state?.timeline;
    if (timeline === undefined || timeline === null) return;
    const { chart } = timeline;
    this.#appends.draw(
      [{ name: 'appends', values: chart.appends }],
      chart,
      widthOf(this.elements.appends),
    );
    this.#lag.draw(chart.lags, chart, widthOf(this.elements.lag));
    const key = chart.lags.map((line) => line.name).join('\n');
    if (key !== this.#lagKey) {
      this.#lagKey = key;
      this.elements.lagKey.replaceChildren(
        ...chart.lags.map((line, index) =>
          el('li', {}, el('span', { className: `swatch series-${index}` }), line.name),
        ),
      );
    }
  }

  #drawDiagram(): void {
    const state = this.#state;
    if (state?.timeline === undefined || state.timeline === null) return;
    const lanes = [state.master.name, ...state.secondaries.map((view) => view.name)];
    const nowMs = state.nowMs + (performance.now() - this.#receivedAt);
    this.#diagram.draw(state.timeline, lanes, nowMs, widthOf(this.elements.diagram));
  }
}
