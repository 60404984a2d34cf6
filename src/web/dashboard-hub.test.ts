import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ManualClock } from '../testing/manual-clock.js';
import type { DashboardState, SecondaryView, TimelineView } from './client/dashboard-wire.js';
import { FakeMaster, FakeSecondary, fakeCaller } from './dashboard-fixtures.js';
import { DashboardHub, type HubOptions } from './dashboard-hub.js';

const POLL_MS = 20;
const POLL_TIMEOUT_MS = 300;
const MIN_BROADCAST_MS = 20;

/** A hub over a fake master and two fake secondaries, on a clock that moves only when told. */
function cluster(options: Partial<HubOptions> = {}, appendsNeedToken = false) {
  const clock = new ManualClock();
  const sub1 = new FakeSecondary('sub1');
  const sub2 = new FakeSecondary('sub2');
  const master = new FakeMaster([
    { name: 'sub1', url: 'http://sub1' },
    { name: 'sub2', url: 'http://sub2' },
  ]);
  const hub = new DashboardHub({
    master,
    call: fakeCaller(
      new Map([
        ['http://sub1', sub1],
        ['http://sub2', sub2],
      ]),
      clock,
    ),
    logger: pino({ enabled: false }),
    clock,
    maxMessageBytes: 1024,
    appendsNeedToken,
    options: {
      pollIntervalMs: POLL_MS,
      pollTimeoutMs: POLL_TIMEOUT_MS,
      minBroadcastIntervalMs: MIN_BROADCAST_MS,
      ...options,
    },
  });
  const received: DashboardState[] = [];
  /** The clock's time at each state received. */
  const receivedAtMs: number[] = [];
  const latest = (): DashboardState => {
    const state = received.at(-1);
    assert.ok(state !== undefined, 'no state received');
    return state;
  };
  const view = (name: string): SecondaryView => {
    const found = latest().secondaries.find((candidate) => candidate.name === name);
    assert.ok(found !== undefined, `no secondary ${name}`);
    return found;
  };
  const listen = () =>
    hub.subscribe((snapshot) => {
      assert.deepEqual(JSON.parse(snapshot.json), snapshot.state, 'json is the state');
      received.push(snapshot.state);
      receivedAtMs.push(clock.nowMs());
    });
  return { clock, hub, master, sub1, sub2, received, receivedAtMs, latest, view, listen };
}

const ids = (view: { tail: readonly { id: number }[] }): number[] =>
  view.tail.map((entry) => entry.id);

const count = (requests: readonly string[], wanted: string): number =>
  requests.filter((request) => request === wanted).length;

void describe('DashboardHub', () => {
  void it("sends the state at once with the master's log, then each secondary's", async () => {
    const { clock, hub, master, sub1, sub2, received, latest, view, listen } = cluster();
    master.append('a', 'b');
    sub1.append('a', 'b');
    sub2.append('a');
    const stop = listen();
    try {
      assert.equal(received.length, 1, 'one state at once');
      assert.deepEqual(ids(latest().master), [1, 2]);
      assert.deepEqual(
        latest().secondaries.map((secondary) => secondary.reach),
        ['pending', 'pending'],
      );
      // The first polls start with the first listener, and their answers are sent at once.
      await clock.advance(0);
      assert.equal(received.length, 2, 'both answers in one state');
      assert.deepEqual(
        latest().secondaries.map((secondary) => secondary.reach),
        ['reachable', 'reachable'],
      );
      assert.deepEqual([ids(view('sub1')), view('sub1').lastId], [[1, 2], 2]);
      assert.deepEqual([ids(view('sub2')), view('sub2').lastId], [[1], 1]);
      assert.equal(view('sub1').faults.state, 'on');
      master.append('c');
      await clock.advance(POLL_MS);
      assert.deepEqual(ids(latest().master), [1, 2, 3], 'the master polled again');
      const versions = received.map((state) => state.version);
      assert.deepEqual(
        versions,
        [...new Set(versions)].sort((a, b) => a - b),
        'versions grow',
      );
    } finally {
      stop();
      hub.close();
    }
  });

  void it('reads each log from where it left off, keeping the last tailSize entries', async () => {
    const { clock, hub, master, sub1, view, listen } = cluster({ tailSize: 5 });
    master.append('1', '2', '3');
    sub1.append('1', '2', '3');
    const stop = listen();
    try {
      await clock.advance(0);
      assert.equal(view('sub1').lastId, 3);
      sub1.append('4', '5', '6', '7');
      await clock.advance(POLL_MS - 1);
      assert.equal(view('sub1').lastId, 3, 'not polled again before pollIntervalMs');
      await clock.advance(1);
      assert.equal(view('sub1').lastId, 7, 'polled again after pollIntervalMs');
      assert.deepEqual(ids(view('sub1')), [3, 4, 5, 6, 7]);
      const reads = sub1.requests.filter((request) => request.startsWith('GET /logs'));
      assert.deepEqual(reads, ['GET /logs?since=0&limit=5', 'GET /logs?since=3&limit=5']);
    } finally {
      stop();
      hub.close();
    }
  });

  void it('starts over when a secondary restarted empty', async () => {
    const { clock, hub, sub1, view, listen } = cluster();
    sub1.append('old-1', 'old-2');
    const stop = listen();
    try {
      await clock.advance(0);
      assert.equal(view('sub1').lastId, 2);
      sub1.restartEmpty('incarnation-2');
      sub1.append('new-1');
      await clock.advance(POLL_MS);
      assert.equal(view('sub1').tail[0]?.message, 'new-1');
      assert.deepEqual(ids(view('sub1')), [1]);
    } finally {
      stop();
      hub.close();
    }
  });

  void it('a silent secondary delays nobody else and shows as unreachable at its deadline', async () => {
    const pollTimeoutMs = 1000;
    const { clock, hub, sub1, sub2, view, listen } = cluster({ pollTimeoutMs });
    sub2.silent = true;
    const stop = listen();
    try {
      await clock.advance(0);
      assert.equal(view('sub1').reach, 'reachable');
      sub1.append('x');
      await clock.advance(POLL_MS);
      assert.equal(view('sub1').lastId, 1, "sub1's update did not wait for sub2's deadline");
      assert.equal(view('sub2').reach, 'pending');
      await clock.advance(pollTimeoutMs - POLL_MS - 1);
      assert.equal(view('sub2').reach, 'pending', 'still pending 1 ms before its deadline');
      await clock.advance(1);
      assert.equal(view('sub2').reach, 'unreachable', 'unreachable at its deadline');
      assert.match(view('sub2').reachError ?? '', /no answer within 1000 ms/);
    } finally {
      stop();
      hub.close();
    }
  });

  void it('sends at most one state per minBroadcastIntervalMs, however often things change', async () => {
    const minBroadcastIntervalMs = 100;
    const { clock, hub, master, received, receivedAtMs, latest, listen } = cluster({
      pollIntervalMs: 5,
      minBroadcastIntervalMs,
    });
    const stop = listen();
    try {
      for (let step = 0; step < 120; step++) {
        master.append('tick');
        await clock.advance(5);
      }
      await clock.advance(minBroadcastIntervalMs);
      // The first state goes to the new listener at once; the broadcasts after it are spaced.
      const broadcastsAtMs = receivedAtMs.slice(1);
      for (let index = 1; index < broadcastsAtMs.length; index++) {
        const gapMs = broadcastsAtMs[index]! - broadcastsAtMs[index - 1]!;
        assert.ok(gapMs >= minBroadcastIntervalMs, `states at ${broadcastsAtMs.join(', ')} ms`);
      }
      // A change every 5 ms for 600 ms: a state at 0 ms, then one every 100 ms; the change the
      // master's poll at 600 ms finds (just after that state went) goes out at 700 ms.
      assert.deepEqual(broadcastsAtMs, [0, 100, 200, 300, 400, 500, 600, 700]);
      assert.equal(received.length, 9);
      assert.equal(latest().master.lastId, master.entries.length, 'the last change is sent');
    } finally {
      stop();
      hub.close();
    }
  });

  void it('polls only while someone listens', async () => {
    const { clock, hub, master, sub1, view, listen } = cluster();
    const stop = listen();
    await clock.advance(0);
    assert.equal(view('sub1').reach, 'reachable');
    assert.ok(clock.pendingTimers > 0, 'polls scheduled while listened to');
    stop();
    assert.equal(clock.pendingTimers, 0, 'every timer cancelled with the last listener');
    const requests = sub1.requests.length;
    const reads = master.reads;
    await clock.advance(10 * POLL_MS);
    assert.equal(sub1.requests.length, requests, 'no request to sub1 without listeners');
    assert.equal(master.reads, reads, 'no read of the master without listeners');
    assert.equal(hub.listenerCount, 0);
    hub.close();
  });

  void it('asks a secondary whose fault injection is off only once per run', async () => {
    const { clock, hub, sub1, view, listen } = cluster();
    sub1.faultInjection = false;
    const stop = listen();
    try {
      await clock.advance(0);
      assert.equal(view('sub1').faults.state, 'off');
      const healthBefore = count(sub1.requests, 'GET /health');
      await clock.advance(3 * POLL_MS);
      assert.equal(count(sub1.requests, 'GET /health'), healthBefore + 3, 'three more polls');
      assert.equal(count(sub1.requests, 'GET /admin/faults'), 1);
      sub1.faultInjection = true;
      sub1.restartEmpty('incarnation-2');
      await clock.advance(POLL_MS);
      assert.equal(view('sub1').faults.state, 'on', 'asked again after the restart');
      assert.equal(count(sub1.requests, 'GET /admin/faults'), 2);
    } finally {
      stop();
      hub.close();
    }
  });

  void it('tells the pages whether appends need the API token', () => {
    for (const needed of [false, true]) {
      const { hub } = cluster({}, needed);
      assert.equal(hub.snapshot.state.appendsNeedToken, needed);
      hub.close();
    }
  });

  void it("sends the timeline's view with each state, stamped with the clock", async () => {
    const clock = new ManualClock(5000);
    let views = 0;
    const timeline = {
      view: (): TimelineView => ({
        windowMs: 10_000,
        events: [{ kind: 'heartbeat', peer: 'sub1', atMs: clock.nowMs(), answered: views++ > 0 }],
        inflight: [],
        chart: { bucketMs: 1000, lastBucketStartMs: 5000, appends: [0, 1], lags: [] },
      }),
    };
    const hub = new DashboardHub({
      master: new FakeMaster([]),
      call: fakeCaller(new Map(), clock),
      logger: pino({ enabled: false }),
      clock,
      maxMessageBytes: 1024,
      appendsNeedToken: false,
      faultsNeedToken: true,
      timeline,
      options: { pollIntervalMs: POLL_MS, minBroadcastIntervalMs: MIN_BROADCAST_MS },
    });
    const received: DashboardState[] = [];
    const stop = hub.subscribe((snapshot) => received.push(snapshot.state));
    try {
      assert.equal(received[0]?.faultsNeedToken, true);
      assert.equal(received[0].nowMs, 5000);
      assert.deepEqual(received[0].timeline?.events, [
        { kind: 'heartbeat', peer: 'sub1', atMs: 5000, answered: false },
      ]);
      await clock.advance(POLL_MS + MIN_BROADCAST_MS);
      const latest = received.at(-1);
      assert.equal(latest?.timeline?.events[0]?.kind, 'heartbeat');
      assert.ok(received.length >= 2, 'a new view is a change, sent');
      assert.equal(latest.nowMs, clock.nowMs(), 'stamped when sent');
    } finally {
      stop();
      hub.close();
    }
  });

  void it('refresh() without listeners polls every node once, each within its deadline', async () => {
    const { clock, hub, sub1, sub2 } = cluster();
    sub2.silent = true;
    const refreshing = hub.refresh();
    let done = false;
    void refreshing.then(() => (done = true));
    await clock.advance(POLL_TIMEOUT_MS - 1);
    assert.equal(done, false, 'waits for the silent secondary until its deadline');
    await clock.advance(1);
    assert.equal(done, true, 'done at the deadline');
    const { state } = await refreshing;
    assert.deepEqual(
      state.secondaries.map((secondary) => secondary.reach),
      ['reachable', 'unreachable'],
    );
    const requests = sub1.requests.length;
    assert.equal(clock.pendingTimers, 0, 'nothing scheduled after the round');
    await clock.advance(10 * POLL_MS);
    assert.equal(sub1.requests.length, requests, 'one round only');
    hub.close();
  });

  void it('sends fault settings noted after a change without a poll', async () => {
    const { clock, hub, sub1, view, listen } = cluster({ pollIntervalMs: 60_000 });
    const stop = listen();
    try {
      await clock.advance(0);
      assert.equal(view('sub1').faults.state, 'on');
      const requests = sub1.requests.length;
      const settings = { delayMs: 1000, errorRate: 0, partitioned: true };
      hub.noteFaults('sub1', { state: 'on', settings });
      await clock.advance(MIN_BROADCAST_MS);
      assert.deepEqual(view('sub1').faults, { state: 'on', settings });
      assert.equal(sub1.requests.length, requests, 'no poll');
    } finally {
      stop();
      hub.close();
    }
  });
});
