/**
 * Write concern and idempotency on real processes: WRITE_CONCERN_TIMEOUT is honest (stored, still
 * replicated), "majority"/"all", and Idempotency-Key replays (docs/API.md "Append").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  request,
  track,
  waitFor,
  withCluster,
  type AppendBody,
  type BatchBody,
  type ErrorBody,
  type LogEntry,
} from './harness.js';

interface TimeoutBody extends ErrorBody {
  readonly log: LogEntry;
  readonly w: number;
  readonly acks: number;
}

test('WRITE_CONCERN_TIMEOUT: w=3 with timeoutMs=3000 and a secondary down -> 504, stored, replicated later', async () => {
  await withCluster({ down: ['sub2'] }, async (cluster) => {
    assert.equal((await cluster.append({ message: 'first', w: 2 })).status, 201);

    // sub2 is down, so the 504 is certain whatever the timeout; the timeout is long enough for
    // sub1's ack to be in (acks 2) even on a busy machine.
    const answer = await cluster.append<TimeoutBody>(
      { message: 'late', w: 3, timeoutMs: 3000 },
      { timeoutMs: 15_000 },
    );
    assert.equal(answer.status, 504, answer.text);
    assert.equal(answer.body.status, 'error');
    assert.equal(answer.body.error.code, 'WRITE_CONCERN_TIMEOUT');
    assert.equal(typeof answer.body.error.message, 'string');
    assert.ok(answer.body.error.message.length > 0);
    assert.deepEqual(answer.body.log, { id: 2, message: 'late' });
    assert.equal(answer.body.acks, 2);

    // The entry IS stored on the master...
    const stored = await request<LogEntry>(`${cluster.master.url}/logs/2`);
    assert.equal(stored.status, 200);
    assert.deepEqual(stored.body, { id: 2, message: 'late' });
    assert.deepEqual(
      (await cluster.logs()).map((entry) => entry.message),
      ['first', 'late'],
    );
    // ... and on sub1 (acks 2 means master + sub1).
    await waitFor(
      async () => (await cluster.logs('sub1')).length === 2,
      10_000,
      'sub1 to hold both entries',
    );

    // ... and reaches sub2 once it is back.
    await cluster.node('sub2').start();
    const log = await cluster.converged(2);
    assert.deepEqual(log, [
      { id: 1, message: 'first' },
      { id: 2, message: 'late' },
    ]);

    // timeoutMs=0 with w=1 is satisfied at once; with everyone up, w=3 and a timeout succeeds.
    const quick = await cluster.append({ message: 'quick', w: 1, timeoutMs: 0 });
    assert.equal(quick.status, 201, quick.text);
    const full = await cluster.append({ message: 'full', w: 3, timeoutMs: 5000 });
    assert.equal(full.status, 201, full.text);
    assert.equal(full.body.acks, 3);
  });
});

test('w as "majority", "all", default and ?w= query; acks never below w', async () => {
  await withCluster({}, async (cluster) => {
    const cases: { body: Record<string, unknown>; path?: string; w: number }[] = [
      { body: { message: 'm-majority', w: 'majority' }, w: 2 },
      { body: { message: 'm-all', w: 'all' }, w: 3 },
      { body: { message: 'm-default' }, w: 3 },
      { body: { message: 'm-query-1' }, path: '/logs?w=1', w: 1 },
      { body: { message: 'm-query-2' }, path: '/logs?w=2', w: 2 },
      { body: { message: 'm-query-majority' }, path: '/logs?w=majority', w: 2 },
      { body: { message: 'm-body-wins', w: 3 }, path: '/logs?w=1', w: 3 },
    ];
    for (const [index, { body, path, w }] of cases.entries()) {
      const answer = await cluster.append(body, path === undefined ? {} : { path });
      assert.equal(answer.status, 201, `${JSON.stringify(body)} ${path ?? ''}: ${answer.text}`);
      assert.equal(answer.body.status, 'success');
      assert.equal(answer.body.w, w, `${JSON.stringify(body)} ${path ?? ''}`);
      assert.ok(answer.body.acks >= w && answer.body.acks <= 3, `acks ${answer.body.acks}`);
      assert.deepEqual(answer.body.log, { id: index + 1, message: body['message'] });
      assert.equal(answer.headers.get('location'), `/logs/${index + 1}`);
    }
    await cluster.converged(cases.length);
  });
});

/**
 * A replay has the same body as the first answer, except `acks`, which counts the holders "when
 * the answer was sent" and so may have grown since (never below w).
 */
function assertSameAnswer(replay: AppendBody | BatchBody, first: AppendBody | BatchBody): void {
  assert.deepEqual({ ...replay, acks: 0 }, { ...first, acks: 0 });
  assert.ok(replay.acks >= replay.w && replay.acks >= first.acks, `replay acks ${replay.acks}`);
}

test('Idempotency-Key: a replay answers 200 with the same body; one entry; batches too', async () => {
  await withCluster({}, async (cluster) => {
    const key = 'order-42/retry safe~key';
    const first = await cluster.append(
      { message: 'charge once', w: 2 },
      { headers: { 'idempotency-key': key } },
    );
    assert.equal(first.status, 201, first.text);
    const again = await cluster.append(
      { message: 'charge once', w: 2 },
      { headers: { 'idempotency-key': key } },
    );
    assert.equal(again.status, 200, again.text);
    assertSameAnswer(again.body, first.body);
    assert.equal(again.body.log.id, first.body.log.id);

    // Concurrent retries of one key still make one entry.
    const racing = await Promise.all(
      [0, 1, 2, 3].map(() =>
        cluster.append({ message: 'raced', w: 1 }, { headers: { 'idempotency-key': 'race-key' } }),
      ),
    );
    const statuses = racing.map((answer) => answer.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 201], racing.map((a) => a.text).join('\n'));
    assert.equal(new Set(racing.map((answer) => answer.body.log.id)).size, 1);

    const batchKey = 'batch-key-1';
    const batch = await cluster.append<BatchBody>(
      { messages: ['b-1', 'b-2', 'b-3'], w: 3 },
      { headers: { 'idempotency-key': batchKey } },
    );
    assert.equal(batch.status, 201, batch.text);
    const firstId = batch.body.logs[0]!.id;
    assert.deepEqual(batch.body.logs, [
      { id: firstId, message: 'b-1' },
      { id: firstId + 1, message: 'b-2' },
      { id: firstId + 2, message: 'b-3' },
    ]);
    const batchAgain = await cluster.append<BatchBody>(
      { messages: ['b-1', 'b-2', 'b-3'], w: 3 },
      { headers: { 'idempotency-key': batchKey } },
    );
    assert.equal(batchAgain.status, 200, batchAgain.text);
    assertSameAnswer(batchAgain.body, batch.body);

    // A different key is a different append.
    const other = await cluster.append(
      { message: 'charge once', w: 1 },
      { headers: { 'idempotency-key': `${key}-2` } },
    );
    assert.equal(other.status, 201);

    const log = await cluster.converged(6);
    assert.deepEqual(
      log.map((entry) => entry.message),
      ['charge once', 'raced', 'b-1', 'b-2', 'b-3', 'charge once'],
    );
    assert.equal(log.filter((entry) => entry.message === 'raced').length, 1);
  });
});

test('Idempotency-Key malformed -> 400 INVALID_REQUEST, nothing stored', async () => {
  await withCluster({ secondaries: 1 }, async (cluster) => {
    for (const key of ['k'.repeat(129), 'tab\there', 'caf\u00e9']) {
      const answer = await cluster.append<ErrorBody>(
        { message: 'never', w: 1 },
        { headers: { 'idempotency-key': key } },
      );
      assert.equal(answer.status, 400, `key ${JSON.stringify(key)}: ${answer.text}`);
      assert.equal(answer.body.status, 'error');
      assert.equal(answer.body.error.code, 'INVALID_REQUEST');
      assert.match(answer.body.error.message, /Idempotency-Key/i);
    }
    const longest = await cluster.append(
      { message: 'key of 128', w: 1 },
      { headers: { 'idempotency-key': 'k'.repeat(128) } },
    );
    assert.equal(longest.status, 201, longest.text);
    assert.deepEqual(await cluster.logs(), [{ id: 1, message: 'key of 128' }]);
  });
});

test('OVERLOADED: over MAX_WAITING_APPENDS waiting appends -> 503 with Retry-After, not stored', async () => {
  await withCluster(
    { down: ['sub2'], masterEnv: { MAX_WAITING_APPENDS: '2' } },
    async (cluster) => {
      const waiting = [1, 2].map((index) =>
        track(cluster.append({ message: `waiting-${index}`, w: 3 }, { timeoutMs: 30_000 })),
      );
      await waitFor(
        async () => (await cluster.health()).log.lastId === 2,
        5000,
        'two w=3 appends stored and waiting',
      );
      const refused = await cluster.append<ErrorBody>({ message: 'one too many', w: 3 });
      assert.equal(refused.status, 503, refused.text);
      assert.equal(refused.body.status, 'error');
      assert.equal(refused.body.error.code, 'OVERLOADED');
      assert.match(refused.headers.get('retry-after') ?? '', /^[0-9]+$/);
      assert.equal((await cluster.health()).log.lastId, 2, 'the refused append is not stored');
      assert.ok(waiting.every((append) => !append.settled()));

      await cluster.node('sub2').start();
      for (const append of waiting) {
        const answer = await append.promise;
        assert.equal(answer.status, 201, answer.text);
        assert.equal(answer.body.acks, 3);
      }
      const log = await cluster.converged(2);
      assert.ok(!log.some((entry) => entry.message === 'one too many'));
    },
  );
});
