import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { sleep, waitFor } from '../e2e/harness.js';
import type { DashboardState, SecondaryView } from './client/dashboard-wire.js';
import { FakeMaster, FakeSecondary, fakeCaller } from './dashboard-fixtures.js';
import { DashboardHub, type HubOptions } from './dashboard-hub.js';

function cluster(options: Partial<HubOptions> = {}, appendsNeedToken = false) {
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
    ),
    logger: pino({ enabled: false }),
    maxMessageBytes: 1024,
    appendsNeedToken,
    options: { pollIntervalMs: 20, pollTimeoutMs: 300, minBroadcastIntervalMs: 20, ...options },
  });
  const received: DashboardState[] = [];
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
    });
  return { hub, master, sub1, sub2, received, latest, view, listen };
}

const ids = (view: { tail: readonly { id: number }[] }): number[] =>
  view.tail.map((entry) => entry.id);

void describe('DashboardHub', () => {
  void it("sends the state at once with the master's log, then each secondary's", async () => {
    const { hub, master, sub1, sub2, received, latest, view, listen } = cluster();
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
      await waitFor(
        () => latest().secondaries.every((secondary) => secondary.reach === 'reachable'),
        2000,
        'both secondaries polled',
      );
      assert.deepEqual([ids(view('sub1')), view('sub1').lastId], [[1, 2], 2]);
      assert.deepEqual([ids(view('sub2')), view('sub2').lastId], [[1], 1]);
      assert.equal(view('sub1').faults.state, 'on');
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
    const { hub, master, sub1, view, listen } = cluster({ tailSize: 5 });
    master.append('1', '2', '3');
    sub1.append('1', '2', '3');
    const stop = listen();
    try {
      await waitFor(() => view('sub1').lastId === 3, 2000, 'sub1 read');
      sub1.append('4', '5', '6', '7');
      await waitFor(() => view('sub1').lastId === 7, 2000, 'sub1 read again');
      assert.deepEqual(ids(view('sub1')), [3, 4, 5, 6, 7]);
      const reads = sub1.requests.filter((request) => request.startsWith('GET /logs'));
      assert.deepEqual(reads, ['GET /logs?since=0&limit=5', 'GET /logs?since=3&limit=5']);
    } finally {
      stop();
      hub.close();
    }
  });

  void it('starts over when a secondary restarted empty', async () => {
    const { hub, sub1, view, listen } = cluster();
    sub1.append('old-1', 'old-2');
    const stop = listen();
    try {
      await waitFor(() => view('sub1').lastId === 2, 2000, 'sub1 read');
      sub1.restartEmpty('incarnation-2');
      sub1.append('new-1');
      await waitFor(() => view('sub1').tail[0]?.message === 'new-1', 2000, 'the new log');
      assert.deepEqual(ids(view('sub1')), [1]);
    } finally {
      stop();
      hub.close();
    }
  });

  void it('a silent secondary delays nobody else and shows as unreachable', async () => {
    const { hub, sub1, sub2, view, listen } = cluster({ pollTimeoutMs: 1000 });
    sub2.silent = true;
    const stop = listen();
    try {
      await waitFor(() => view('sub1').reach === 'reachable', 500, 'sub1 polled');
      const started = Date.now();
      sub1.append('x');
      await waitFor(() => view('sub1').lastId === 1, 500, 'sub1 update within 500 ms');
      assert.ok(Date.now() - started < 1000, "sub1's update did not wait for sub2's deadline");
      assert.equal(view('sub2').reach, 'pending');
      await waitFor(() => view('sub2').reach === 'unreachable', 3000, 'sub2 unreachable');
      assert.match(view('sub2').reachError ?? '', /no answer within/);
    } finally {
      stop();
      hub.close();
    }
  });

  void it('sends at most one state per minBroadcastIntervalMs, however often things change', async () => {
    const { hub, master, received, latest, listen } = cluster({
      pollIntervalMs: 5,
      minBroadcastIntervalMs: 100,
    });
    const stop = listen();
    try {
      const started = Date.now();
      while (Date.now() - started < 600) {
        master.append('tick');
        await sleep(5);
      }
      await sleep(250);
      const elapsed = Date.now() - started;
      assert.ok(
        received.length <= Math.ceil(elapsed / 100) + 2,
        `${received.length} states in ${elapsed} ms`,
      );
      assert.ok(received.length >= 3, `only ${received.length} states: changes must be sent`);
      assert.equal(latest().master.lastId, master.entries.length, 'the last change is sent');
    } finally {
      stop();
      hub.close();
    }
  });

  void it('polls only while someone listens', async () => {
    const { hub, master, sub1, view, listen } = cluster();
    const stop = listen();
    await waitFor(() => view('sub1').reach === 'reachable', 2000, 'sub1 polled');
    stop();
    await sleep(50); // a poll under way may still finish
    const requests = sub1.requests.length;
    const reads = master.reads;
    await sleep(150);
    assert.equal(sub1.requests.length, requests, 'no request to sub1 without listeners');
    assert.equal(master.reads, reads, 'no read of the master without listeners');
    assert.equal(hub.listenerCount, 0);
    hub.close();
  });

  void it('asks a secondary whose fault injection is off only once per run', async () => {
    const { hub, sub1, view, listen } = cluster();
    sub1.faultInjection = false;
    const stop = listen();
    try {
      await waitFor(() => view('sub1').faults.state === 'off', 2000, 'faults off');
      const healthBefore = sub1.requests.filter((request) => request === 'GET /health').length;
      await waitFor(
        () =>
          sub1.requests.filter((request) => request === 'GET /health').length >= healthBefore + 3,
        2000,
        'three more polls',
      );
      assert.equal(sub1.requests.filter((request) => request === 'GET /admin/faults').length, 1);
      sub1.faultInjection = true;
      sub1.restartEmpty('incarnation-2');
      await waitFor(() => view('sub1').faults.state === 'on', 2000, 'faults on after restart');
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

  void it('refresh() without listeners polls every node once', async () => {
    const { hub, sub1, sub2 } = cluster();
    sub2.silent = true;
    const { state } = await hub.refresh();
    assert.deepEqual(
      state.secondaries.map((secondary) => secondary.reach),
      ['reachable', 'unreachable'],
    );
    const requests = sub1.requests.length;
    await sleep(100);
    assert.equal(sub1.requests.length, requests, 'one round only');
    hub.close();
  });

  void it('sends fault settings noted after a change at once, without a poll', async () => {
    const { hub, view, listen } = cluster({ pollIntervalMs: 60_000 });
    const stop = listen();
    try {
      await waitFor(() => view('sub1').faults.state === 'on', 2000, 'first poll');
      const settings = { delayMs: 1000, errorRate: 0, partitioned: true };
      hub.noteFaults('sub1', { state: 'on', settings });
      await waitFor(
        () => JSON.stringify(view('sub1').faults) === JSON.stringify({ state: 'on', settings }),
        1000,
        'the noted settings sent',
      );
    } finally {
      stop();
      hub.close();
    }
  });
});
