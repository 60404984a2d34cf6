import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BatchSent } from '../node/master-metrics.js';
import { ManualClock } from '../testing/manual-clock.js';
import type { TimelineEvent } from './client/dashboard-wire.js';
import { observeBoth, ReplicationTimeline, type TimelineOptions } from './replication-timeline.js';

function timeline(options: Partial<TimelineOptions> = {}) {
  const clock = new ManualClock(100_000);
  const lags = new Map([
    ['sub1', 0],
    ['sub2', 0],
  ]);
  const recorder = new ReplicationTimeline(
    clock,
    () => [...lags].map(([name, lag]) => ({ name, lag })),
    {
      windowMs: 5000,
      maxEvents: 50,
      maxInflightPerPeer: 3,
      chartSeconds: 4,
      lagSampleMs: 100,
      ...options,
    },
  );
  return { clock, lags, recorder };
}

/** Batch number `sendNo` carrying ids `firstId..lastId`. */
const batch = (sendNo: number, firstId = 1, lastId = 2): BatchSent => ({
  sendNo,
  firstId,
  lastId,
  entries: lastId - firstId + 1,
});

const kinds = (events: readonly TimelineEvent[]): string[] =>
  events.map((event) =>
    event.kind === 'batch' ? `${event.kind} ${event.peer} ${event.ok} ${event.retry}` : event.kind,
  );

void describe('ReplicationTimeline', () => {
  void it('records an append from its arrival to its answer, and counts stored ones', async () => {
    const { clock, recorder } = timeline();
    const cases: [outcome: string, w: number | undefined, counted: boolean, drawn: boolean][] = [
      ['created', 3, true, true],
      ['timeout', 3, true, true],
      ['replayed', 2, false, true],
      ['read_only', 2, false, true],
      ['invalid_request', undefined, false, false],
    ];
    for (const [outcome, w] of cases) recorder.appendEnded(outcome, w, 700);
    await clock.advance(10);
    const view = recorder.view();
    const drawn = cases.filter(([, , , shown]) => shown).map(([outcome]) => outcome);
    assert.deepEqual(
      view.events.map((event) => (event.kind === 'append' ? event.outcome : event.kind)),
      drawn,
    );
    assert.deepEqual(view.events[0], {
      kind: 'append',
      startMs: 99_300,
      endMs: 100_000,
      w: 3,
      outcome: 'created',
    });
    // Arrived at 99.3 s: counted in the second before the current one.
    assert.deepEqual(view.chart.appends, [0, 0, 2, 0]);
    assert.equal(view.chart.lastBucketStartMs, 100_000);
  });

  void it('marks the batch sent after a failed one as a retry, until one is acknowledged', async () => {
    const { clock, recorder } = timeline();
    const steps: [peer: string, ok: boolean, durationMs: number, wantRetry: boolean][] = [
      ['sub1', true, 5, false],
      ['sub1', false, 5, false],
      // Sent before the failure's reply: not a retry.
      ['sub1', true, 50, false],
      ['sub1', false, 5, true],
      ['sub2', true, 5, false],
      ['sub1', true, 5, true],
      ['sub1', true, 5, false],
    ];
    for (const [index, [peer, ok, durationMs]] of steps.entries()) {
      recorder.replicationEnded(peer, ok, 2, durationMs, batch(index + 1));
      await clock.advance(20);
    }
    assert.deepEqual(
      kinds(recorder.view().events),
      steps.map(([peer, ok, , retry]) => `batch ${peer} ${ok} ${retry}`),
    );
  });

  void it('keeps the batches on their way until they end, at most maxInflightPerPeer each', async () => {
    const { clock, recorder } = timeline();
    /** Each step acts, then the batches on their way are as listed (peer#sendNo ids, sent at). */
    const steps: [what: string, act: () => void, want: string[]][] = [
      [
        'sub1 #1 sent',
        () => {
          recorder.replicationStarted('sub1', batch(1, 1, 2));
        },
        ['sub1#1 1-2 0'],
      ],
      [
        'sub2 #1 sent',
        () => {
          recorder.replicationStarted('sub2', batch(1, 1, 2));
        },
        ['sub1#1 1-2 0', 'sub2#1 1-2 100'],
      ],
      [
        'sub1 #1 answered',
        () => {
          recorder.replicationEnded('sub1', true, 2, 200, batch(1, 1, 2));
        },
        ['sub2#1 1-2 100'],
      ],
      [
        'sub2 #1 failed',
        () => {
          recorder.replicationEnded('sub2', false, 2, 200, batch(1));
        },
        [],
      ],
      [
        'sub2 #2 sent again: a retry',
        () => {
          recorder.replicationStarted('sub2', batch(2, 1, 3));
        },
        ['sub2#2 1-3 400 retry'],
      ],
      [
        'sub2 #3..#5 sent: only the last 3 kept',
        () => {
          for (const sendNo of [3, 4, 5]) recorder.replicationStarted('sub2', batch(sendNo, 4, 4));
        },
        ['sub2#3 4-4 500 retry', 'sub2#4 4-4 500 retry', 'sub2#5 4-4 500 retry'],
      ],
      [
        'sub1 #2 sent, an empty batch (asks for the high-water mark)',
        () => {
          recorder.replicationStarted('sub1', batch(2, 3, 2));
        },
        ['sub1#2 3-2 600', 'sub2#3 4-4 500 retry', 'sub2#4 4-4 500 retry', 'sub2#5 4-4 500 retry'],
      ],
      [
        "the reply to sub2's dropped #2: nothing on its way changes",
        () => {
          recorder.replicationEnded('sub2', true, 3, 300, batch(2, 1, 3));
        },
        ['sub1#2 3-2 600', 'sub2#3 4-4 500 retry', 'sub2#4 4-4 500 retry', 'sub2#5 4-4 500 retry'],
      ],
      [
        "sub2's process replaced: what was sent to the old one is forgotten",
        () => {
          recorder.coreEvent({ kind: 'peer-restarted', peer: 'sub2', hwm: 0, incarnation: 'b' });
        },
        ['sub1#2 3-2 600'],
      ],
      [
        'sub1 #2 answered',
        () => {
          recorder.replicationEnded('sub1', true, 0, 300, batch(2, 3, 2));
        },
        [],
      ],
    ];
    for (const [what, act, want] of steps) {
      act();
      const inflight = recorder
        .view()
        .inflight.map(
          (sent) =>
            `${sent.peer}#${sent.sendNo} ${sent.firstId}-${sent.lastId} ${sent.startMs - 100_000}` +
            (sent.retry ? ' retry' : ''),
        );
      assert.deepEqual(inflight, want, what);
      await clock.advance(100);
    }
    const ended = recorder
      .view()
      .events.map((event) =>
        event.kind === 'batch'
          ? `${event.peer} ${event.firstId}-${event.lastId} ${event.startMs - 100_000}..${event.endMs - 100_000}`
          : event.kind,
      );
    assert.deepEqual(ended, [
      'sub1 1-2 0..200',
      'sub2 1-2 100..300',
      'sub2 1-3 400..700',
      'sub1 3-2 600..900',
    ]);
  });

  void it('records heartbeats and health changes, not the other core events', () => {
    const { recorder } = timeline();
    recorder.probeEnded('sub2', false);
    recorder.coreEvent({
      kind: 'health-changed',
      peer: 'sub2',
      from: 'Healthy',
      to: 'Suspected',
      missedProbes: 1,
    });
    recorder.coreEvent({ kind: 'released', token: 1, acks: 2 });
    assert.deepEqual(recorder.view().events, [
      { kind: 'heartbeat', peer: 'sub2', atMs: 100_000, answered: false },
      { kind: 'health', peer: 'sub2', atMs: 100_000, to: 'Suspected' },
    ]);
  });

  void it('keeps the events of the window only, and never more than maxEvents', async () => {
    const { clock, recorder } = timeline({ maxEvents: 3 });
    for (let index = 0; index < 5; index++) recorder.probeEnded('sub1', true);
    assert.equal(recorder.view().events.length, 3, 'bounded by count');
    await clock.advance(4000);
    recorder.probeEnded('sub2', true);
    await clock.advance(1500);
    assert.deepEqual(
      recorder.view().events.map((event) => (event.kind === 'heartbeat' ? event.peer : '')),
      ['sub2'],
      'the older ones left the 5 s window',
    );
  });

  void it("samples each secondary's lag, the largest of each second, at most every lagSampleMs", async () => {
    const { clock, lags, recorder } = timeline();
    lags.set('sub2', 4);
    recorder.probeEnded('sub1', true);
    lags.set('sub2', 9);
    recorder.probeEnded('sub1', true); // within lagSampleMs: not read again
    await clock.advance(1000);
    lags.set('sub2', 1);
    const { chart } = recorder.view();
    assert.deepEqual(chart.lags, [
      { name: 'sub1', values: [null, null, 0, 0] },
      { name: 'sub2', values: [null, null, 4, 1] },
    ]);
  });

  void it('observeBoth tells both observers everything', () => {
    const calls: string[] = [];
    const spy = (name: string) => ({
      appendEnded: () => calls.push(`${name} append`),
      replicationStarted: () => calls.push(`${name} sent`),
      replicationEnded: () => calls.push(`${name} batch`),
      probeEnded: () => calls.push(`${name} probe`),
      coreEvent: () => calls.push(`${name} core`),
    });
    const both = observeBoth(spy('a'), spy('b'));
    both.appendEnded('created', 1, 1);
    both.replicationStarted?.('sub1', batch(1));
    both.replicationEnded('sub1', true, 1, 1, batch(1));
    both.probeEnded('sub1', true);
    both.coreEvent?.({ kind: 'released', token: 1, acks: 1 });
    assert.deepEqual(calls, [
      'a append',
      'b append',
      'a sent',
      'b sent',
      'a batch',
      'b batch',
      'a probe',
      'b probe',
      'a core',
      'b core',
    ]);
  });
});
