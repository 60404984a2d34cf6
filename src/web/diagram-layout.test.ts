import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InflightBatch, TimelineEvent } from './client/dashboard-wire.js';
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
    case 'inflight':
      return `inflight ${shape.x1},${shape.y1} -> ${shape.x2},${shape.y2} ${shape.label}`;
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
        firstId: 4,
        lastId: 6,
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
        firstId: 7,
        lastId: 7,
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
        firstId: 1,
        lastId: 1,
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
        firstId: 1,
        lastId: 1,
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
      const layout = layoutDiagram(
        { events: [event], inflight: [] },
        LANES,
        NOW_MS,
        WINDOW_MS,
        GEOMETRY,
      );
      const shapes = layout.shapes.map(brief).map((line) => line.replace(/(\d+)\.0\b/g, '$1'));
      assert.deepEqual(shapes, want);
    });
  }

  const sent = (peer: string, startMs: number, firstId: number, lastId: number): InflightBatch => ({
    peer,
    sendNo: 1,
    startMs,
    retry: false,
    entries: lastId - firstId + 1,
    firstId,
    lastId,
  });
  const inflightCases: { name: string; batch: InflightBatch; want: string[]; title: string }[] = [
    {
      name: 'sent 0.5 s ago: half way down to its lane, its head at now',
      batch: sent('sub2', 9500, 6, 6),
      want: ['inflight 1050,30 -> 1100,80 id 6'],
      title: 'batch to sub2, on its way for 0.50 s, no reply yet (1 entry: id 6)',
    },
    {
      name: 'a retry sent 2 s ago: closer to its lane',
      batch: { ...sent('sub1', 8000, 5, 9), retry: true },
      want: ['inflight 900,30 -> 1100,70 ids 5–9'],
      title:
        'retry: batch sent again to sub1, on its way for 2.00 s, no reply yet (5 entries: ids 5–9)',
    },
    {
      name: 'sent 30 s ago: from the left edge, and still short of its lane',
      batch: sent('sub2', -20_000, 1, 2),
      want: ['inflight 100,30 -> 1100,120 ids 1–2'],
      title: 'batch to sub2, on its way for 30.0 s, no reply yet (2 entries: ids 1–2)',
    },
    {
      name: 'sent just now, asking for the high-water mark: at now, on the master lane',
      batch: sent('sub1', 10_000, 4, 3),
      want: ['inflight 1100,30 -> 1100,30 empty'],
      title: 'batch to sub1, on its way for 0.00 s, no reply yet (no entries)',
    },
    {
      name: 'to a secondary without a lane: not drawn',
      batch: sent('sub9', 9000, 1, 1),
      want: [],
      title: '',
    },
  ];
  for (const { name, batch, want, title } of inflightCases) {
    void it(`a batch on its way: ${name}`, () => {
      const layout = layoutDiagram(
        { events: [], inflight: [batch] },
        LANES,
        NOW_MS,
        WINDOW_MS,
        GEOMETRY,
      );
      const shapes = layout.shapes.map(brief).map((line) => line.replace(/(\d+)\.0\b/g, '$1'));
      assert.deepEqual(shapes, want);
      assert.deepEqual(
        layout.shapes.map((shape) => shape.title),
        want.length === 0 ? [] : [title],
      );
    });
  }

  void it('a batch on its way is drawn above what happened, whatever the order', () => {
    const heartbeat: TimelineEvent = {
      kind: 'heartbeat',
      peer: 'sub1',
      atMs: 9900,
      answered: true,
    };
    const layout = layoutDiagram(
      { events: [heartbeat], inflight: [sent('sub1', 9000, 2, 2)] },
      LANES,
      NOW_MS,
      WINDOW_MS,
      GEOMETRY,
    );
    assert.deepEqual(
      layout.shapes.map((shape) => shape.kind),
      ['mark', 'inflight'],
    );
  });

  const missed = (peer: string, atMs: number): TimelineEvent => ({
    kind: 'heartbeat',
    peer,
    atMs,
    answered: false,
  });
  const labelCases: { name: string; events: TimelineEvent[]; want: string[] }[] = [
    {
      name: 'a health change and a missed heartbeat at once: the health change is named',
      events: [missed('sub2', 9000), { kind: 'health', peer: 'sub2', atMs: 9000, to: 'Suspected' }],
      want: ['missed 1000,130', 'health 1000,130 Suspected'],
    },
    {
      name: 'missed heartbeats 0.3 s (30 px) apart: the newest named, then every other',
      events: [missed('sub2', 9100), missed('sub2', 9400), missed('sub2', 9700)],
      want: ['missed 1010,130 missed', 'missed 1040,130', 'missed 1070,130 missed'],
    },
    {
      name: 'on different lanes: both named',
      events: [missed('sub1', 9000), missed('sub2', 9000)],
      want: ['missed 1000,80 missed', 'missed 1000,130 missed'],
    },
  ];
  for (const { name, events, want } of labelCases) {
    void it(`labels that would overlap are left out: ${name}`, () => {
      const layout = layoutDiagram({ events, inflight: [] }, LANES, NOW_MS, WINDOW_MS, GEOMETRY);
      assert.deepEqual(layout.shapes.map(brief), want);
      assert.ok(
        layout.shapes.every((shape) => shape.title !== ''),
        'every mark keeps its tooltip',
      );
    });
  }

  void it('lanes from the top, the master first, and a tick every 2 s up to now', () => {
    const layout = layoutDiagram({ events: [], inflight: [] }, LANES, NOW_MS, WINDOW_MS, GEOMETRY);
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
      { events: [1, 2, 3, 4].map((index) => append(index * 100)), inflight: [] },
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
