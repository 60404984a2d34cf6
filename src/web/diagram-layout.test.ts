import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TimelineEvent } from './client/dashboard-wire.js';
import { layoutDiagram, type Shape } from './client/diagram-layout.js';

/** 10 s over 1000 px of plot: 1 ms is 0.1 px; x = 100 + (ms - 0) / 10 for a window from 0. */
const GEOMETRY = { widthPx: 1110, labelPx: 100, rightPx: 10, topPx: 30, laneGapPx: 50 };
const LANES = ['master', 'sub1', 'sub2'];
const NOW_MS = 10_000;
const WINDOW_MS = 10_000;

/** A shape as a short line: its kind, class and ends. */
function brief(shape: Shape): string {
  switch (shape.kind) {
    case 'arrow':
      return `${shape.arrow} ${shape.x1},${shape.y1} -> ${shape.x2},${shape.y2}`;
    case 'append':
      return `append ${shape.ok ? 'ok' : 'late'} ${shape.x1}-${shape.x2} ${shape.label}`;
    case 'mark':
      return `${shape.mark} ${shape.x},${shape.y}${shape.label === '' ? '' : ` ${shape.label}`}`;
  }
}

void describe('layoutDiagram', () => {
  const cases: { name: string; event: TimelineEvent; want: string[] }[] = [
    {
      name: 'an acknowledged batch: out to the secondary, back at the reply',
      event: {
        kind: 'batch',
        peer: 'sub2',
        startMs: 2000,
        endMs: 4000,
        ok: true,
        retry: false,
        entries: 3,
      },
      want: ['send 300,30 -> 400,130', 'ack 400,130 -> 500,30'],
    },
    {
      name: 'a failed retry: a retry arrow, a cross, a failed reply',
      event: {
        kind: 'batch',
        peer: 'sub1',
        startMs: 8000,
        endMs: 9000,
        ok: false,
        retry: true,
        entries: 1,
      },
      want: ['retry 900,30 -> 950,80', 'failed 950,80', 'fail 950,80 -> 1000,30'],
    },
    {
      name: 'an append that waited, on the master lane, from arrival to answer',
      event: { kind: 'append', startMs: 5000, endMs: 7000, w: 3, outcome: 'created' },
      want: ['append ok 600-800 w=3'],
    },
    {
      name: 'an append that timed out',
      event: { kind: 'append', startMs: 5000, endMs: 7000, w: 3, outcome: 'timeout' },
      want: ['append late 600-800 w=3'],
    },
    {
      name: 'a missed heartbeat on its lane',
      event: { kind: 'heartbeat', peer: 'sub2', atMs: 10_000, answered: false },
      want: ['missed 1100,130 missed'],
    },
    {
      name: 'an answered heartbeat',
      event: { kind: 'heartbeat', peer: 'sub1', atMs: 0, answered: true },
      want: ['heartbeat 100,80'],
    },
    {
      name: 'a health change, named',
      event: { kind: 'health', peer: 'sub1', atMs: 1000, to: 'Unhealthy' },
      want: ['health 200,80 Unhealthy'],
    },
    {
      name: 'a batch begun before the window starts at its left edge',
      event: {
        kind: 'batch',
        peer: 'sub1',
        startMs: -3000,
        endMs: 1000,
        ok: true,
        retry: false,
        entries: 1,
      },
      want: ['send 100,30 -> 100,80', 'ack 100,80 -> 200,30'],
    },
    {
      name: 'a batch over before the window: not drawn',
      event: {
        kind: 'batch',
        peer: 'sub1',
        startMs: -3000,
        endMs: -1,
        ok: true,
        retry: false,
        entries: 1,
      },
      want: [],
    },
    {
      name: 'a secondary without a lane: not drawn',
      event: { kind: 'heartbeat', peer: 'sub9', atMs: 5000, answered: false },
      want: [],
    },
  ];
  for (const { name, event, want } of cases) {
    void it(name, () => {
      const layout = layoutDiagram([event], LANES, NOW_MS, WINDOW_MS, GEOMETRY);
      const shapes = layout.shapes.map(brief).map((line) => line.replace(/(\d+)\.0\b/g, '$1'));
      assert.deepEqual(shapes, want);
    });
  }

  void it('lanes from the top, the master first, and a tick every 2 s up to now', () => {
    const layout = layoutDiagram([], LANES, NOW_MS, WINDOW_MS, GEOMETRY);
    assert.deepEqual(layout.lanes, [
      { name: 'master', y: 30 },
      { name: 'sub1', y: 80 },
      { name: 'sub2', y: 130 },
    ]);
    assert.deepEqual(
      layout.ticks.map((tick) => `${tick.label}@${tick.x}`),
      ['now@1100', '-2 s@900', '-4 s@700', '-6 s@500', '-8 s@300', '-10 s@100'],
    );
    assert.equal(layout.heightPx, 130 + 34);
  });

  void it('overlapping appends are drawn in rows above the master lane', () => {
    const append = (startMs: number): TimelineEvent => ({
      kind: 'append',
      startMs,
      endMs: startMs + 500,
      w: 2,
      outcome: 'created',
    });
    const layout = layoutDiagram(
      [1, 2, 3, 4].map((index) => append(index * 100)),
      LANES,
      NOW_MS,
      WINDOW_MS,
      GEOMETRY,
    );
    assert.deepEqual(
      layout.shapes.map((shape) => (shape.kind === 'append' ? shape.y : NaN)),
      [24, 19, 14, 24],
    );
  });
});
