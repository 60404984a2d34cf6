import type { InflightBatch, TimelineEvent, TimelineView } from './dashboard-wire.js';

/**
 * Where the space-time diagram draws each thing: pure geometry, no DOM, so that it is tested
 * under Node (diagram-layout.test.ts) and drawn by diagram-view.ts. Time flows left to right,
 * now at the right edge; one lane (a horizontal line) per node, the master on top.
 */

export interface DiagramGeometry {
  readonly widthPx: number;
  /** Room on the left for the lanes' names. */
  readonly labelPx: number;
  /** Room on the right, so that a mark at "now" is not cut. */
  readonly rightPx: number;
  readonly topPx: number;
  readonly laneGapPx: number;
}

/** Arrow kinds: a batch sent, its acknowledgement, a batch sent again, a failed reply. */
export type ArrowKind = 'send' | 'ack' | 'retry' | 'fail';
/** Mark kinds: a batch that failed, a missed or answered heartbeat, a health change. */
export type MarkKind = 'failed' | 'missed' | 'heartbeat' | 'health';

export type Shape =
  | {
      readonly kind: 'arrow';
      readonly arrow: ArrowKind;
      readonly x1: number;
      readonly y1: number;
      readonly x2: number;
      readonly y2: number;
      readonly title: string;
    }
  | {
      /** An append on the master's lane, from arrival to answer. */
      readonly kind: 'append';
      readonly x1: number;
      readonly x2: number;
      readonly y: number;
      readonly ok: boolean;
      readonly label: string;
      readonly title: string;
    }
  | {
      /**
       * A batch on its way: it left the master's lane at its send time and its head is at now,
       * part-way down to its secondary's lane; labelled with the ids it carries.
       */
      readonly kind: 'inflight';
      readonly x1: number;
      readonly y1: number;
      readonly x2: number;
      readonly y2: number;
      readonly label: string;
      readonly title: string;
    }
  | {
      readonly kind: 'mark';
      readonly mark: MarkKind;
      readonly x: number;
      readonly y: number;
      readonly label: string;
      readonly title: string;
    };

export interface DiagramLayout {
  readonly heightPx: number;
  readonly lanes: readonly { readonly name: string; readonly y: number }[];
  /** Time ticks along the bottom: whole seconds before now. */
  readonly ticks: readonly { readonly x: number; readonly label: string }[];
  readonly shapes: readonly Shape[];
}

/** Appends overlapping in time are drawn a few pixels apart, in this many rows above the lane. */
const APPEND_ROWS = 3;
const APPEND_ROW_PX = 5;
const TICK_EVERY_MS = 2000;
/**
 * How far down to its lane a batch on its way is drawn: half way after this long, closer the
 * longer it waits, but never more than MAX_DEPTH of the way: it reaches the lane only when its
 * reply comes (and the master learns when that was).
 */
const HALF_WAY_MS = 500;
const MAX_DEPTH = 0.9;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/** The ids a batch carries, as its label says them: `id 7`, `ids 5–9`, `no entries`. */
function idsOf(firstId: number, lastId: number): string {
  if (lastId < firstId) return 'no entries';
  return lastId === firstId ? `id ${firstId}` : `ids ${firstId}–${lastId}`;
}

/** `3 entries: ids 5–7`, `1 entry: id 5`, `no entries`. */
function carried(batch: { entries: number; firstId: number; lastId: number }): string {
  if (batch.entries === 0) return 'no entries';
  const count = `${batch.entries} ${batch.entries === 1 ? 'entry' : 'entries'}`;
  return `${count}: ${idsOf(batch.firstId, batch.lastId)}`;
}

/** What the diagram draws: what happened, and the batches still on their way. */
export type DiagramInput = Pick<TimelineView, 'events' | 'inflight'>;

export function layoutDiagram(
  { events, inflight }: DiagramInput,
  lanes: readonly string[],
  nowMs: number,
  windowMs: number,
  geometry: DiagramGeometry,
): DiagramLayout {
  const { widthPx, labelPx, rightPx, topPx, laneGapPx } = geometry;
  const plotPx = Math.max(1, widthPx - labelPx - rightPx);
  const startMs = nowMs - windowMs;
  const x = (ms: number): number =>
    labelPx + (Math.min(Math.max(ms, startMs), nowMs) - startMs) * (plotPx / windowMs);
  const laneY = new Map(lanes.map((name, index) => [name, topPx + index * laneGapPx]));
  const masterY = topPx;
  const shapes: Shape[] = [];
  let appendIndex = 0;
  for (const event of events) {
    if (event.kind === 'append') {
      if (event.endMs < startMs) continue;
      const ok = event.outcome === 'created' || event.outcome === 'replayed';
      shapes.push({
        kind: 'append',
        x1: x(event.startMs),
        x2: x(event.endMs),
        y: masterY - 6 - (appendIndex++ % APPEND_ROWS) * APPEND_ROW_PX,
        ok,
        label: `w=${event.w}`,
        title: `append, w=${event.w}: ${event.outcome} after ${seconds(event.endMs - event.startMs)}`,
      });
      continue;
    }
    const peerY = laneY.get(event.peer);
    if (peerY === undefined) continue;
    if (event.kind === 'batch') {
      if (event.endMs < startMs) continue;
      shapes.push(...batchShapes(event, x, masterY, peerY));
      continue;
    }
    if (event.atMs < startMs) continue;
    shapes.push(pointMark(event, x(event.atMs), peerY));
  }
  for (const batch of inflight) {
    const peerY = laneY.get(batch.peer);
    if (peerY !== undefined) shapes.push(inflightArrow(batch, x, nowMs, masterY, peerY));
  }
  const ticks = [];
  for (let agoMs = 0; agoMs <= windowMs; agoMs += TICK_EVERY_MS) {
    ticks.push({ x: x(nowMs - agoMs), label: agoMs === 0 ? 'now' : `-${agoMs / 1000} s` });
  }
  return {
    heightPx: topPx + Math.max(0, lanes.length - 1) * laneGapPx + 34,
    lanes: lanes.map((name) => ({ name, y: laneY.get(name) ?? 0 })),
    ticks,
    shapes: spaceLabels(shapes),
  };
}

/** About the room a mark's label takes (11 px text, drawn from 4 px right of the mark). */
const LABEL_OFFSET_PX = 4;
const LABEL_CHAR_PX = 6.5;
const LABEL_GAP_PX = 6;

/**
 * Leaves out the labels of marks that would overwrite another's on the same lane (a heartbeat
 * missed every half second, a health change at the same time): health changes before missed
 * heartbeats, newer before older. The mark and its tooltip stay.
 */
function spaceLabels(shapes: readonly Shape[]): Shape[] {
  type Mark = Extract<Shape, { kind: 'mark' }>;
  const labelled = shapes.filter(
    (shape): shape is Mark => shape.kind === 'mark' && shape.label !== '',
  );
  const rank = (mark: Mark): number => (mark.mark === 'health' ? 0 : 1);
  labelled.sort((a, b) => rank(a) - rank(b) || b.x - a.x);
  const taken = new Map<number, [from: number, to: number][]>();
  const dropped = new Set<Shape>();
  for (const mark of labelled) {
    const from = mark.x + LABEL_OFFSET_PX;
    const to = from + mark.label.length * LABEL_CHAR_PX + LABEL_GAP_PX;
    const onLane = taken.get(mark.y) ?? [];
    if (onLane.some(([start, end]) => from < end && start < to)) dropped.add(mark);
    else taken.set(mark.y, [...onLane, [from, to]]);
  }
  return shapes.map((shape) => (dropped.has(shape) ? { ...shape, label: '' } : shape));
}

type BatchEvent = Extract<TimelineEvent, { kind: 'batch' }>;

/**
 * A batch as two arrows: out to the secondary, back to the master. The diagram knows when it was
 * sent and when its reply came; it draws the turn at the middle of that.
 */
function batchShapes(
  event: BatchEvent,
  x: (ms: number) => number,
  masterY: number,
  peerY: number,
): Shape[] {
  const midMs = (event.startMs + event.endMs) / 2;
  const entries = carried(event);
  const took = seconds(event.endMs - event.startMs);
  const out: Shape = {
    kind: 'arrow',
    arrow: event.retry ? 'retry' : 'send',
    x1: x(event.startMs),
    y1: masterY,
    x2: x(midMs),
    y2: peerY,
    title: `${event.retry ? 'retry: batch sent again' : 'batch'} to ${event.peer} (${entries})`,
  };
  if (event.ok) {
    return [
      out,
      {
        kind: 'arrow',
        arrow: 'ack',
        x1: x(midMs),
        y1: peerY,
        x2: x(event.endMs),
        y2: masterY,
        title: `${event.peer} acknowledged ${entries} (round trip ${took})`,
      },
    ];
  }
  return [
    out,
    {
      kind: 'mark',
      mark: 'failed',
      x: x(midMs),
      y: peerY,
      label: '',
      title: `batch to ${event.peer} failed; the master will send it again`,
    },
    {
      kind: 'arrow',
      arrow: 'fail',
      x1: x(midMs),
      y1: peerY,
      x2: x(event.endMs),
      y2: masterY,
      title: `no acknowledgement from ${event.peer} (error or timeout after ${took})`,
    },
  ];
}

/** A batch on its way, its head at now (one that began before the window starts at its edge). */
function inflightArrow(
  batch: InflightBatch,
  x: (ms: number) => number,
  nowMs: number,
  masterY: number,
  peerY: number,
): Shape {
  const waitedMs = Math.max(0, nowMs - batch.startMs);
  const depth = Math.min(MAX_DEPTH, waitedMs / (waitedMs + HALF_WAY_MS));
  const what = batch.retry ? `retry: batch sent again to ${batch.peer}` : `batch to ${batch.peer}`;
  return {
    kind: 'inflight',
    x1: x(batch.startMs),
    y1: masterY,
    x2: x(nowMs),
    y2: masterY + (peerY - masterY) * depth,
    label: batch.entries === 0 ? 'empty' : idsOf(batch.firstId, batch.lastId),
    title: `${what}, on its way for ${seconds(waitedMs)}, no reply yet (${carried(batch)})`,
  };
}

type PointEvent = Extract<TimelineEvent, { kind: 'heartbeat' | 'health' }>;

function pointMark(event: PointEvent, x: number, y: number): Shape {
  if (event.kind === 'health') {
    return {
      kind: 'mark',
      mark: 'health',
      x,
      y,
      label: event.to,
      title: `the master now sees ${event.peer} as ${event.to}`,
    };
  }
  return event.answered
    ? {
        kind: 'mark',
        mark: 'heartbeat',
        x,
        y,
        label: '',
        title: `heartbeat answered by ${event.peer}`,
      }
    : {
        kind: 'mark',
        mark: 'missed',
        x,
        y,
        label: 'missed',
        title: `heartbeat to ${event.peer} missed (no answer in time)`,
      };
}
