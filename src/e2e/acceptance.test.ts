/**
 * The course's iteration-3 acceptance scenario, and clients in parallel never held up by a
 * waiting one (REQUIREMENTS iteration 3; GUARANTEES 12).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pool, request, track, waitFor, withCluster, type LogEntry } from './harness.js';

/**
 * The course's fixed master, and failover on as `npm start` and compose run it (the node named
 * master leads epoch 1; with sub2 down, master and sub1 are a majority).
 */
const MODES = [
  { name: 'fixed master', options: {} },
  { name: 'failover', options: { failover: true, dataDirs: true } },
] as const;

for (const mode of MODES) {
  test(`acceptance (${mode.name}): Msg3 w=3 waits for sub2 while Msg4 w=1 passes; sub2 gets exactly Msg1..Msg4`, async () => {
    await withCluster({ secondaries: 2, down: ['sub2'], ...mode.options }, async (cluster) => {
      const sub2 = cluster.node('sub2');

      const msg1 = await cluster.append({ message: 'Msg1', w: 1 });
      assert.equal(msg1.status, 201, msg1.text);
      assert.deepEqual(msg1.body.log, { id: 1, message: 'Msg1' });
      assert.equal(msg1.headers.get('location'), '/logs/1');

      const msg2 = await cluster.append({ message: 'Msg2', w: 2 });
      assert.equal(msg2.status, 201, msg2.text);
      assert.deepEqual(msg2.body.log, { id: 2, message: 'Msg2' });
      assert.ok(msg2.body.acks >= 2, `acks ${msg2.body.acks} >= w 2`);

      const msg3 = track(cluster.append({ message: 'Msg3', w: 3 }, { timeoutMs: 60_000 }));
      // Msg3 is stored on the master (id 3) before Msg4 is sent, so Msg4 gets id 4.
      await waitFor(
        async () => (await cluster.health()).log.lastId === 3,
        5000,
        'Msg3 stored on the master',
      );
      assert.equal(msg3.settled(), false, 'Msg3 (w=3) must wait while sub2 is down');

      const msg4 = await cluster.append({ message: 'Msg4', w: 1 });
      assert.equal(msg4.status, 201, msg4.text);
      assert.deepEqual(msg4.body.log, { id: 4, message: 'Msg4' });
      assert.equal(msg3.settled(), false, 'Msg3 must still wait after Msg4 returned');

      await sub2.start();
      const answer3 = await msg3.promise;
      assert.equal(answer3.status, 201, answer3.text);
      assert.deepEqual(answer3.body, {
        status: 'success',
        log: { id: 3, message: 'Msg3' },
        w: 3,
        acks: 3,
      });

      const expected: LogEntry[] = ['Msg1', 'Msg2', 'Msg3', 'Msg4'].map((message, index) => ({
        id: index + 1,
        message,
      }));
      await waitFor(
        async () => (await cluster.logs(sub2)).length >= 4,
        10_000,
        'sub2 to hold 4 entries',
      );
      assert.deepEqual(await cluster.logs(sub2), expected);
      const converged = await cluster.converged(4);
      assert.deepEqual(converged, expected);
      for (const node of cluster.nodes) assert.deepEqual(await cluster.logs(node), expected);
    });
  });
}

test('parallel clients: 20 w=1/w=2 appends and reads complete while a w=3 append waits', async () => {
  await withCluster({ secondaries: 2, down: ['sub2'] }, async (cluster) => {
    const blocked = track(
      cluster.append({ message: 'waits-for-sub2', w: 3 }, { timeoutMs: 60_000 }),
    );
    await waitFor(
      async () => (await cluster.health()).log.lastId === 1,
      5000,
      'the w=3 append stored on the master',
    );

    // Each within its request's timeout, while the w=3 append still waits.
    await pool(20, 20, async (index) => {
      if (index % 4 === 3) {
        const node = index % 8 === 3 ? cluster.master : cluster.node('sub1');
        const answer = await request<LogEntry[]>(`${node.url}/logs`, { timeoutMs: 5000 });
        assert.equal(answer.status, 200);
        return;
      }
      const w = index % 2 === 0 ? 1 : 2;
      const answer = await cluster.append({ message: `parallel-${index}`, w }, { timeoutMs: 5000 });
      assert.equal(answer.status, 201, answer.text);
      assert.equal(answer.body.w, w);
      assert.ok(answer.body.acks >= w);
    });
    assert.equal(blocked.settled(), false, 'the w=3 append must still wait for sub2');

    await cluster.node('sub2').start();
    const answer = await blocked.promise;
    assert.equal(answer.status, 201, answer.text);
    assert.equal(answer.body.log.id, 1);
    assert.equal(answer.body.acks, 3);
    const log = await cluster.converged(16);
    assert.equal(log.length, 16);
  });
});
