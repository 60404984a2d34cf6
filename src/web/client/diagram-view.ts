import type { TimelineView } from './dashboard-wire.js';
import { layoutDiagram, type ArrowKind, type Shape } from './diagram-layout.js';
import { arrowMarkers, svg, titled } from './svg.js';

/**
 * The space-time diagram drawn into an `<svg>` of the page from diagram-layout.ts' shapes. Every
 * shape carries a class named after what it shows (`arrow-send`, `arrow-ack`, `arrow-retry`,
 * `arrow-fail`, `arrow-inflight`, `mark-failed`, `mark-missed`, `mark-heartbeat`, `mark-health`,
 * `append`), which the stylesheet colours and the browser test counts.
 */

const ARROWS: readonly (ArrowKind | 'inflight')[] = ['send', 'ack', 'retry', 'fail', 'inflight'];
const GEOMETRY = { labelPx: 58, rightPx: 14, topPx: 34, laneGapPx: 58 } as const;
/** Narrow screens show fewer seconds, so that the arrows of one batch stay apart. */
const NARROW_PX = 560;

function drawShape(shape: Shape): SVGElement {
  switch (shape.kind) {
    case 'arrow':
      return titled(
        svg('line', {
          x1: shape.x1,
          y1: shape.y1,
          x2: shape.x2,
          y2: shape.y2,
          class: `arrow arrow-${shape.arrow}`,
          'marker-end': `url(#arrowhead-${shape.arrow})`,
        }),
        shape.title,
      );
    case 'append':
      return titled(
        svg(
          'g',
          { class: `append ${shape.ok ? 'append-ok' : 'append-late'}` },
          svg('line', { x1: shape.x1, y1: shape.y, x2: shape.x2, y2: shape.y }),
          svg('circle', { cx: shape.x1, cy: shape.y, r: 3 }),
          svg('rect', { x: shape.x2 - 2, y: shape.y - 4, width: 4, height: 8 }),
        ),
        shape.title,
      );
    case 'inflight':
      return titled(inflightShape(shape), shape.title);
    case 'mark':
      return titled(markShape(shape), shape.title);
  }
}

/** A dashed arrow with the ids it carries written by its head (left of it: now is the edge). */
function inflightShape(shape: Extract<Shape, { kind: 'inflight' }>): SVGElement {
  const { x1, y1, x2, y2 } = shape;
  return svg(
    'g',
    { class: 'arrow-inflight' },
    svg('line', { x1, y1, x2, y2, class: 'arrow', 'marker-end': 'url(#arrowhead-inflight)' }),
    svg(
      'text',
      { x: x2 - 6, y: y2 + 13, 'text-anchor': 'end', class: 'inflight-label' },
      shape.label,
    ),
  );
}

function markShape(shape: Extract<Shape, { kind: 'mark' }>): SVGElement {
  const { x, y } = shape;
  const group = svg('g', { class: `mark mark-${shape.mark}` });
  if (shape.mark === 'failed') {
    group.append(
      svg('path', {
        d: `M ${x - 6} ${y - 6} L ${x + 6} ${y + 6} M ${x - 6} ${y + 6} L ${x + 6} ${y - 6}`,
      }),
    );
  } else if (shape.mark === 'missed') {
    group.append(
      svg('path', { d: `M ${x} ${y - 7} L ${x + 7} ${y} L ${x} ${y + 7} L ${x - 7} ${y} z` }),
    );
  } else if (shape.mark === 'heartbeat') {
    group.append(svg('circle', { cx: x, cy: y, r: 3 }));
  } else {
    group.append(svg('line', { x1: x, y1: y - 10, x2: x, y2: y + 10 }));
  }
  if (shape.label !== '') {
    group.append(svg('text', { x: x + 4, y: y + 20, class: 'mark-label' }, shape.label));
  }
  return group;
}

export class DiagramView {
  constructor(private readonly root: SVGSVGElement) {}

  draw(timeline: TimelineView, lanes: readonly string[], nowMs: number, widthPx: number): void {
    const windowMs = widthPx < NARROW_PX ? Math.min(timeline.windowMs, 6000) : timeline.windowMs;
    const layout = layoutDiagram(timeline, lanes, nowMs, windowMs, {
      widthPx,
      ...GEOMETRY,
    });
    const bottomY = layout.heightPx - 18;
    this.root.setAttribute('viewBox', `0 0 ${widthPx} ${layout.heightPx}`);
    this.root.setAttribute('width', String(widthPx));
    this.root.setAttribute('height', String(layout.heightPx));
    this.root.setAttribute(
      'aria-label',
      `Replication over the last ${windowMs / 1000} s: ${layout.shapes.length} arrows and marks`,
    );
    this.root.replaceChildren(
      arrowMarkers(ARROWS),
      ...layout.ticks.map((tick) =>
        svg(
          'g',
          { class: 'tick' },
          svg('line', { x1: tick.x, y1: GEOMETRY.topPx - 20, x2: tick.x, y2: bottomY }),
          svg('text', { x: tick.x, y: layout.heightPx - 4, 'text-anchor': 'middle' }, tick.label),
        ),
      ),
      ...layout.lanes.map((lane) =>
        svg(
          'g',
          { class: 'lane' },
          svg('line', {
            x1: GEOMETRY.labelPx,
            y1: lane.y,
            x2: widthPx - GEOMETRY.rightPx,
            y2: lane.y,
          }),
          svg('text', { x: 4, y: lane.y + 4 }, lane.name),
        ),
      ),
      ...layout.shapes.map(drawShape),
    );
  }
}
