/**
 * Heartbeats and quorum on real processes: a partitioned secondary goes Suspected then Unhealthy
 * and comes back; without a majority the master is read-only, explicitly, and recovers
 * (REQUIREMENTS iteration 3; GUARANTEES 10, 13). These tests check the states reached and their
 * order, with generous bounds on the waits; how soon a failure is detected (G13) is checked
 * exactly on the simulator's clock (src/sim/), never here against a loaded machine's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  request,
  sleep,
  waitFor,
  withCluster,
  type Cluster,
  type ErrorBody,
  type LogEntry,
  type MasterHealth,
  type SecondaryHealth,
} from './harness.js';

const FAULTS = { FAULT_INJECTION: 'true' };
/** Bound on waiting for a state a failure leads to: generous, since a loaded machine is slow. */
const STATE_WAIT_MS = 15_000;

test('partition of one secondary: Suspected then Unhealthy, w=1 still works, heal -> Healthy and converged', async () => {
  await withCluster({ secondaryEnv: FAULTS }, async (cluster) => {
    assert.equal((await cluster.append({ message: 'a-1', w: 3 })).status, 201);
    await cluster.waitForStatus('sub1', 'Healthy', STATE_WAIT_MS);

    await cluster.setFaults('sub1', { partitioned: true });
    // Suspected must come before Unhealthy. It lasts two heartbeats, which a poll of /health can
    // miss on a busy machine: the order is read from the master's own log of its health changes,
    // and /health is only waited on for the final state.
    await cluster.waitForStatus('sub1', 'Unhealthy', STATE_WAIT_MS);
    assert.deepEqual(await cluster.loggedHealthChanges('sub1', 'Unhealthy', STATE_WAIT_MS), [
      'Healthy -> Suspected',
      'Suspected -> Unhealthy',
    ]);

    const health = await cluster.health();
    assert.equal(health.readOnly, false);
    assert.equal(health.status, 'ok');
    assert.equal(health.quorum.size, 3);
    assert.equal(health.quorum.required, 2);
    assert.equal(health.quorum.healthy, 2);
    assert.equal(health.secondaries.find((peer) => peer.name === 'sub2')?.status, 'Healthy');

    for (let index = 2; index <= 5; index++) {
      const answer = await cluster.append(
        { message: `a-${index}`, w: index % 2 === 0 ? 1 : 2 },
        { timeoutMs: 5000 },
      );
      // Within the request's timeout: a w it can meet does not wait for the partitioned node.
      assert.equal(answer.status, 201, answer.text);
    }
    // Client reads on the partitioned node still work; it just does not get new entries.
    const partitionedLog = await cluster.logs('sub1');
    assert.deepEqual(partitionedLog, [{ id: 1, message: 'a-1' }]);
    const lagging = await cluster.peer('sub1');
    assert.equal(lagging.ackedId, 1);
    assert.equal(lagging.lag, 4);

    await cluster.setFaults('sub1', { partitioned: false });
    await cluster.waitForStatus('sub1', 'Healthy', STATE_WAIT_MS);
    const log = await cluster.converged(5);
    assert.deepEqual(
      log.map((entry) => entry.message),
      ['a-1', 'a-2', 'a-3', 'a-4', 'a-5'],
    );
    await waitFor(
      async () => {
        const peer = await cluster.peer('sub1');
        return peer.ackedId === 5 && peer.lag === 0;
      },
      STATE_WAIT_MS,
      'master /health to show sub1 acked 5, lag 0',
    );
  });
});

async function checkReadOnly(cluster: Cluster, storedBefore: readonly LogEntry[]): Promise<void> {
  const health = await cluster.health();
  assert.equal(health.readOnly, true);
  assert.equal(health.status, 'read-only');
  assert.equal(health.quorum.healthy, 1);
  assert.equal(health.quorum.required, 2);

  for (const [index, body] of [
    { message: 'refused-1', w: 1 },
    { message: 'refused-2' },
    { messages: ['refused-3', 'refused-4'], w: 1 },
  ].entries()) {
    const answer = await cluster.append<ErrorBody>(body, {
      timeoutMs: 5000,
      ...(index === 0 ? { headers: { 'idempotency-key': 'refused-key' } } : {}),
    });
    assert.equal(answer.status, 503, answer.text);
    assert.equal(answer.body.status, 'error');
    assert.equal(answer.body.error.code, 'READ_ONLY');
    assert.match(answer.body.error.message, /quorum|majority/i);
    const retryAfter = answer.headers.get('retry-after');
    assert.ok(retryAfter !== null && /^[0-9]+$/.test(retryAfter), `Retry-After: ${retryAfter}`);
  }

  // Reads keep working, and nothing refused was stored.
  const read = await request<LogEntry[]>(`${cluster.master.url}/logs`);
  assert.equal(read.status, 200);
  assert.deepEqual(read.body, storedBefore);
  assert.equal((await cluster.health()).log.lastId, storedBefore.length);
  const one = await request(`${cluster.master.url}/logs/1`);
  assert.equal(one.status, 200);
}

async function checkWritableAgain(
  cluster: Cluster,
  storedBefore: readonly LogEntry[],
  healthy: number,
): Promise<void> {
  await waitFor(
    async () => !(await cluster.health()).readOnly,
    STATE_WAIT_MS,
    'the master to leave read-only',
  );
  const answer = await cluster.append(
    { message: 'accepted-again', w: 1 },
    { headers: { 'idempotency-key': 'refused-key' }, timeoutMs: 5000 },
  );
  assert.equal(answer.status, 201, answer.text);
  assert.equal(answer.body.log.id, storedBefore.length + 1);
  const reachable = cluster.secondaries.slice(0, healthy - 1);
  const log = await cluster.converged(storedBefore.length + 1, 10_000, reachable);
  assert.deepEqual(log, [
    ...storedBefore,
    { id: storedBefore.length + 1, message: 'accepted-again' },
  ]);
  for (const entry of log)
    assert.ok(!entry.message.startsWith('refused'), 'a refused append was stored');
  const health = await cluster.health();
  assert.equal(health.status, 'ok');
  assert.equal(health.quorum.healthy, healthy);
}

test('read-only without quorum (both secondaries partitioned) and writable again after healing', async () => {
  await withCluster({ secondaryEnv: FAULTS }, async (cluster) => {
    assert.equal((await cluster.append({ message: 'kept', w: 3 })).status, 201);
    const before = await cluster.logs();

    await Promise.all(
      cluster.secondaries.map((sub) => cluster.setFaults(sub.name, { partitioned: true })),
    );
    await waitFor(async () => (await cluster.health()).readOnly, STATE_WAIT_MS, 'read-only');
    await checkReadOnly(cluster, before);

    // One secondary back is a majority (2 of 3).
    await cluster.setFaults('sub1', { partitioned: false });
    await checkWritableAgain(cluster, before, 2);
    await cluster.setFaults('sub2', { partitioned: false });
    await cluster.waitForStatus('sub2', 'Healthy', STATE_WAIT_MS);
    await cluster.converged(before.length + 1);
    assert.equal((await cluster.health()).quorum.healthy, 3);
  });
});

test('read-only without quorum (both secondaries killed) and writable again after restart', async () => {
  await withCluster({}, async (cluster) => {
    assert.equal((await cluster.append({ message: 'kept-1', w: 3 })).status, 201);
    assert.equal((await cluster.append({ message: 'kept-2', w: 2 })).status, 201);
    const before = await cluster.logs();

    await Promise.all(cluster.secondaries.map((sub) => sub.kill()));
    await waitFor(async () => (await cluster.health()).readOnly, STATE_WAIT_MS, 'read-only');
    await checkReadOnly(cluster, before);

    await Promise.all(cluster.secondaries.map((sub) => sub.start()));
    await checkWritableAgain(cluster, before, 3);
  });
});

/**
 * The idle test's heartbeat: a secondary is Suspected after two missed probes, and a probe counts
 * as missed when its answer is not in within one interval. With the tests' usual 100 ms, a node
 * starved of CPU for a few hundred ms on a busy 2-core machine looks Suspected: the machine's pace,
 * not the cluster's behaviour. At 500 ms it takes a second of starvation.
 */
const IDLE_HEARTBEAT_MS = 500;

test('a healthy, idle cluster stays Healthy and writable', async () => {
  await withCluster(
    { masterEnv: { HEARTBEAT_INTERVAL_MS: String(IDLE_HEARTBEAT_MS) } },
    async (cluster) => {
      // A secondary starts out Healthy before the master has heard from it: the steady state
      // begins once every one has answered too, and once the probes the master sent while it was
      // still starting (its event loop busy, their answers late) have been counted: a few
      // heartbeats later, every secondary Healthy again.
      const allHealthy = async (): Promise<boolean> =>
        (await cluster.health()).secondaries.every(
          (peer) => peer.status === 'Healthy' && peer.lastContactMs !== null,
        );
      await waitFor(allHealthy, STATE_WAIT_MS, 'every secondary Healthy and heard from');
      await sleep(3 * IDLE_HEARTBEAT_MS);
      await waitFor(allHealthy, STATE_WAIT_MS, 'every secondary Healthy after the start-up');
      // Every change the master logs from here on is a problem, even one between two samples.
      const changes = (): Record<string, unknown>[] => [
        ...cluster.master.events('health-changed'),
        ...cluster.master.events('read-only'),
      ];
      const changesBefore = changes().length;
      const problems: string[] = [];
      // 15 heartbeats, sampled twice per heartbeat.
      for (let round = 0; round < 30; round++) {
        const health: MasterHealth = await cluster.health();
        for (const peer of health.secondaries) {
          if (peer.status !== 'Healthy') problems.push(`${peer.name} ${peer.status}`);
          if (peer.lastContactMs === null) problems.push(`${peer.name} never heard from`);
        }
        if (health.readOnly) problems.push('read-only');
        await sleep(IDLE_HEARTBEAT_MS / 2);
      }
      for (const change of changes().slice(changesBefore))
        problems.push(`the master logged: ${String(change['msg'])}`);
      assert.deepEqual(problems, []);
      for (const sub of cluster.secondaries) {
        const answer = await request<SecondaryHealth>(`${sub.url}/health`);
        assert.equal(answer.status, 200);
        assert.equal(answer.body.role, 'secondary');
        assert.equal(answer.body.node, sub.name);
        assert.equal(answer.body.status, 'ok');
        assert.equal(answer.body.master.url, cluster.master.url);
        assert.ok(answer.body.master.lastContactMs !== null, 'the secondary heard from the master');
        assert.deepEqual(answer.body.log, { lastId: 0, pending: 0 });
        await heardFromMasterAgain(sub.url, answer.body.master.lastContactMs);
      }
    },
  );
});

/**
 * Waits until the secondary's time since the master's last contact drops below the one before:
 * only a new contact makes it drop, so heartbeats still arrive (on a clock of its own).
 */
async function heardFromMasterAgain(url: string, sinceContactMs: number): Promise<void> {
  let previousMs = sinceContactMs;
  await waitFor(
    async () => {
      const contactMs = (await request<SecondaryHealth>(`${url}/health`)).body.master.lastContactMs;
      const renewed = contactMs !== null && contactMs < previousMs;
      previousMs = contactMs ?? Infinity;
      return renewed;
    },
    STATE_WAIT_MS,
    `a new contact from the master on ${url}`,
  );
}
