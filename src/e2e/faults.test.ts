/**
 * Faults of iteration 3 on real processes: random 500s after storing (exactly once), random delays
 * (total order, gap-free prefix), a secondary restarted empty (catch-up), a paused secondary, an
 * entry that arrives after a gap.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  gapFree,
  isPrefix,
  pool,
  request,
  sleep,
  waitFor,
  withCluster,
  type AppendBody,
  type ErrorBody,
  type LogEntry,
} from './harness.js';

/** Checks a converged log: ids 1..n, every message once, the acknowledged ids as answered. */
function checkExactlyOnce(
  log: readonly LogEntry[],
  acknowledged: ReadonlyMap<string, number>,
  count: number,
): void {
  assert.equal(log.length, count, `log has ${log.length} entries, ${count} appended`);
  assert.ok(gapFree(log), `ids must be 1..${count}: ${log.map((entry) => entry.id).join(',')}`);
  const seen = new Set<string>();
  for (const entry of log) {
    assert.ok(!seen.has(entry.message), `${entry.message} appears twice`);
    seen.add(entry.message);
    const id = acknowledged.get(entry.message);
    assert.notEqual(id, undefined, `${entry.message} was never requested (phantom)`);
    assert.equal(entry.id, id, `${entry.message} was acknowledged with id ${id}`);
  }
}

test('exactly once under ERROR_RATE=0.5 on both secondaries: identical logs, ids 1..N', async () => {
  const count = 100;
  await withCluster({ secondaryEnv: { ERROR_RATE: '0.5' } }, async (cluster) => {
    const acknowledged = new Map<string, number>();
    await pool(count, 10, async (index) => {
      const message = `once-${index}`;
      const w = (index % 3) + 1;
      const answer = await cluster.append({ message, w }, { timeoutMs: 20_000 });
      assert.equal(answer.status, 201, answer.text);
      assert.equal(answer.body.log.message, message);
      assert.ok(answer.body.acks >= w, `acks ${answer.body.acks} < w ${w}`);
      acknowledged.set(message, answer.body.log.id);
    });
    const ids = [...acknowledged.values()].sort((a, b) => a - b);
    assert.deepEqual(
      ids,
      Array.from({ length: count }, (_, index) => index + 1),
    );

    const log = await cluster.converged(count, 20_000);
    checkExactlyOnce(log, acknowledged, count);
    for (const sub of cluster.secondaries) {
      checkExactlyOnce(await cluster.logs(sub), acknowledged, count);
    }
    await waitFor(
      async () =>
        (await cluster.health()).secondaries.every(
          (peer) => peer.ackedId === count && peer.lag === 0,
        ),
      5000,
      `every secondary acked ${count} with lag 0 on master /health`,
    );
    // The faults were really exercised: the master saw failed deliveries and retried them.
    assert.ok(
      cluster.master.output.some((line) => line.includes('INJECTED_ERROR')),
      'the master never saw an injected error',
    );
  });
});

test('total order under DELAY_MS=0-50: secondaries only ever show a gap-free prefix', async () => {
  // The appends go in waves, and each wave waits for a fresh read of every secondary: how often a
  // secondary is observed, and that it is observed mid-way, depend on the waves, not on the pace.
  const waves = 10;
  const perWave = 8;
  const count = waves * perWave;
  await withCluster({ secondaryEnv: { DELAY_MS: '0-50' } }, async (cluster) => {
    const snapshots = new Map<string, LogEntry[][]>(
      cluster.secondaries.map((sub) => [sub.name, []]),
    );
    const seenBy = (name: string): LogEntry[][] => snapshots.get(name)!;
    const problems: string[] = [];
    let polling = true;
    const pollers = cluster.secondaries.map(async (sub) => {
      let previous = 0;
      for (let round = 0; polling && round < 2000; round++) {
        const log = await cluster.logs(sub);
        if (!gapFree(log))
          problems.push(`${sub.name} showed ids ${log.map((entry) => entry.id).join(',')}`);
        if (log.length < previous)
          problems.push(`${sub.name} shrank from ${previous} to ${log.length}`);
        previous = log.length;
        seenBy(sub.name).push(log);
        await sleep(10);
      }
    });

    const acknowledged = new Map<string, number>();
    for (let wave = 0; wave < waves; wave++) {
      await pool(perWave, perWave, async (index) => {
        const message = `order-${wave * perWave + index}`;
        const answer = await cluster.append({ message, w: 1 }, { timeoutMs: 10_000 });
        assert.equal(answer.status, 201, answer.text);
        acknowledged.set(message, answer.body.log.id);
      });
      const taken = new Map(cluster.secondaries.map((sub) => [sub.name, seenBy(sub.name).length]));
      // Before the last wave every secondary must have been seen holding something: it holds at
      // most the first waves then, so it is observed mid-way (eventual consistency made visible).
      const midWay = wave === waves - 2;
      await waitFor(
        () =>
          cluster.secondaries.every((sub) => {
            const seen = seenBy(sub.name);
            return seen.length > taken.get(sub.name)! && (!midWay || seen.at(-1)!.length > 0);
          }),
        10_000,
        midWay
          ? `every secondary seen holding entries before wave ${wave + 2} of ${waves}`
          : `a read of every secondary after wave ${wave + 1} of ${waves}`,
      );
    }
    const log = await cluster.converged(count, 15_000);
    polling = false;
    await Promise.all(pollers);

    assert.deepEqual(problems, []);
    checkExactlyOnce(log, acknowledged, count);
    for (const [name, seen] of snapshots) {
      for (const snapshot of seen) {
        assert.ok(
          isPrefix(snapshot, log),
          `${name} showed a log that is not a prefix of the final one`,
        );
      }
      const partial = seen.filter((snapshot) => snapshot.length > 0 && snapshot.length < count);
      assert.ok(partial.length > 0, `${name} was never observed mid-way`);
    }
  });
});

test('catch-up: a secondary killed (-9) and restarted empty receives everything it missed', async () => {
  await withCluster({}, async (cluster) => {
    const sub1 = cluster.node('sub1');
    for (let index = 1; index <= 5; index++) {
      const answer = await cluster.append({ message: `before-${index}`, w: 3 });
      assert.equal(answer.status, 201, answer.text);
    }
    assert.equal((await cluster.logs(sub1)).length, 5);

    await sub1.kill();
    for (let index = 1; index <= 5; index++) {
      const answer = await cluster.append({ message: `while-down-${index}`, w: 2 });
      assert.equal(answer.status, 201, answer.text);
      assert.equal(answer.body.log.id, 5 + index);
    }
    await sub1.start();
    const log = await cluster.converged(10);
    assert.equal(log.length, 10);
    assert.ok(gapFree(log));
    assert.deepEqual(
      log.map((entry) => entry.message),
      [1, 2, 3, 4, 5]
        .map((i) => `before-${i}`)
        .concat([1, 2, 3, 4, 5].map((i) => `while-down-${i}`)),
    );

    const after = await cluster.append({ message: 'after-restart', w: 3 }, { timeoutMs: 10_000 });
    assert.equal(after.status, 201, after.text);
    assert.equal(after.body.acks, 3);
    assert.deepEqual(await cluster.logs(sub1), [...log, { id: 11, message: 'after-restart' }]);
    await waitFor(
      async () => (await cluster.peer('sub1')).ackedId === 11,
      5000,
      'master to see sub1 at 11',
    );
  });
});

test('pause: SIGSTOP a secondary -> Suspected, Unhealthy; SIGCONT -> Healthy and converged', async () => {
  await withCluster({}, async (cluster) => {
    const sub1 = cluster.node('sub1');
    assert.equal((await cluster.append({ message: 'p-1', w: 3 })).status, 201);
    await cluster.waitForStatus('sub1', 'Healthy', 10_000);

    sub1.pause();
    // Suspected lasts two heartbeats: a poll of /health can miss it on a busy machine. The
    // master's own log says which states sub1 went through; only the final one is waited for.
    await cluster.waitForStatus('sub1', 'Unhealthy', 10_000);
    assert.deepEqual(
      await cluster.loggedHealthChanges('sub1', 'Unhealthy', 10_000),
      ['Healthy -> Suspected', 'Suspected -> Unhealthy'],
      'the master logged sub1 Suspected, then Unhealthy',
    );

    for (let index = 2; index <= 6; index++) {
      const answer = await cluster.append(
        { message: `p-${index}`, w: index % 2 === 0 ? 1 : 2 },
        { timeoutMs: 5000 },
      );
      assert.equal(answer.status, 201, answer.text);
    }
    const health = await cluster.health();
    assert.equal(health.readOnly, false, '2 of 3 nodes are a majority');

    sub1.resume();
    await cluster.waitForStatus('sub1', 'Healthy', 10_000);
    const log = await cluster.converged(6);
    assert.deepEqual(
      log.map((entry) => entry.message),
      ['p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6'],
    );
  });
});

test('gap: a secondary holding 1, 2 and 4 shows only 1 and 2 until 3 arrives', async () => {
  await withCluster({ token: 'gap-token' }, async (cluster) => {
    const sub1 = cluster.node('sub1');
    for (const message of ['g-1', 'g-2']) {
      assert.equal((await cluster.append({ message, w: 3 })).status, 201);
    }
    const identity = await request<{ logId: string; epoch: number }>(
      `${cluster.master.url}/health`,
    );
    const { logId, epoch } = identity.body;
    assert.equal(typeof logId, 'string', 'master /health names its log');
    // Entry 4 arrives before 3 (as a reordered replication message would).
    const early = await request<{ hwm: number; pending: number }>(
      `${sub1.url}/internal/replicate`,
      {
        method: 'POST',
        json: { logId, epoch, fromId: 4, epochs: [epoch], messages: ['g-4'] },
        headers: cluster.authHeaders(),
      },
    );
    assert.equal(early.status, 200, early.text);
    assert.deepEqual(await cluster.logs(sub1), [
      { id: 1, message: 'g-1' },
      { id: 2, message: 'g-2' },
    ]);
    assert.equal((await request(`${sub1.url}/logs/4`)).status, 404);
    assert.deepEqual((await request<unknown[]>(`${sub1.url}/logs?since=2`)).body, []);
    const health = await request<{ log: { lastId: number; pending: number } }>(
      `${sub1.url}/health`,
    );
    assert.deepEqual(health.body.log, { lastId: 2, pending: 1 });

    // The master now assigns 3 and 4; once 3 arrives, sub1 shows 1..4.
    for (const message of ['g-3', 'g-4']) {
      assert.equal((await cluster.append({ message, w: 1 })).status, 201);
    }
    const log = await cluster.converged(4);
    assert.deepEqual(
      log.map((entry) => entry.message),
      ['g-1', 'g-2', 'g-3', 'g-4'],
    );
    const after = await request<{ log: { lastId: number; pending: number } }>(`${sub1.url}/health`);
    assert.deepEqual(after.body.log, { lastId: 4, pending: 0 });
  });
});

test('chaos: errors, delays, kill -9 + restart and SIGSTOP/SIGCONT during appends -> exactly once, same order', async () => {
  const count = 150;
  await withCluster({ secondaryEnv: { ERROR_RATE: '0.3', DELAY_MS: '0-20' } }, async (cluster) => {
    const sub1 = cluster.node('sub1');
    const sub2 = cluster.node('sub2');
    const acknowledged = new Map<string, number>();
    const refused = new Set<string>();
    const outcomes = new Map<number, number>();
    // Faults keyed by the number of appends answered so far; they never overlap, so a
    // majority (master + one secondary) is always reachable.
    const faults = new Map<number, () => Promise<void>>([
      [25, () => sub1.kill()],
      [55, () => sub1.start()],
      [
        85,
        () =>
          Promise.resolve().then(() => {
            sub2.pause();
          }),
      ],
      [
        115,
        () =>
          Promise.resolve().then(() => {
            sub2.resume();
          }),
      ],
    ]);
    let answered = 0;
    let faultChain = Promise.resolve();
    await pool(count, 6, async (index) => {
      const message = `chaos-${index}`;
      const w = (index % 2) + 1;
      const answer = await cluster.append<AppendBody | ErrorBody>(
        { message, w, timeoutMs: 3000 },
        { timeoutMs: 10_000 },
      );
      outcomes.set(answer.status, (outcomes.get(answer.status) ?? 0) + 1);
      if (answer.status === 201 || answer.status === 504) {
        const body = answer.body as AppendBody;
        acknowledged.set(message, body.log.id);
      } else {
        assert.equal(answer.status, 503, answer.text);
        refused.add(message);
      }
      answered++;
      const fault = faults.get(answered);
      if (fault !== undefined) {
        faultChain = faultChain.then(fault);
        await faultChain;
      }
    });
    await faultChain;
    assert.ok(
      acknowledged.size >= count * 0.9,
      `only ${acknowledged.size} of ${count} appends stored: ${JSON.stringify([...outcomes])}`,
    );

    const log = await cluster.converged(acknowledged.size, 20_000);
    assert.ok(gapFree(log));
    const seen = new Set<string>();
    for (const entry of log) {
      assert.ok(!seen.has(entry.message), `${entry.message} appears twice`);
      seen.add(entry.message);
      assert.ok(!refused.has(entry.message), `refused ${entry.message} was stored`);
      assert.equal(acknowledged.get(entry.message), entry.id, `${entry.message} id`);
    }
    assert.equal(log.length, acknowledged.size);
    await waitFor(
      async () => (await cluster.health()).secondaries.every((peer) => peer.status === 'Healthy'),
      5000,
      'every secondary Healthy after the faults',
    );
  });
});
