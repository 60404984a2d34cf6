import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
    { windowMs: 5000, maxEvents: 50, chartSeconds: 4, lagSampleMs: 100, ...options },
  );
  return { clock, lags, recorder };
}

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
    for (const [peer, ok, durationMs] of steps) {
      recorder.replicationEnded(peer, ok, 2, durationMs);
      await clock.advance(20);
    }
    assert.deepEqual(
      kinds(recorder.view().events),
      steps.map(([peer, ok, , retry]) => `batch ${peer} ${ok} ${retry}`),
    );
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
      replicationEnded: () => calls.push(`${name} batch`),
      probeEnded: () => calls.push(`${name} probe`),
      coreEvent: () => calls.push(`${name} core`),
    });
    const both = observeBoth(spy('a'), spy('b'));
    both.appendEnded('created', 1, 1);
    both.replicationEnded('sub1', true, 1, 1);
    both.probeEnded('sub1', true);
    both.coreEvent?.({ kind: 'released', token: 1, acks: 1 });
    assert.deepEqual(calls, [
      'a append',
      'b append',
      'a batch',
      'b batch',
      'a probe',
      'b probe',
      'a core',
      'b core',
    ]);
  });
});
