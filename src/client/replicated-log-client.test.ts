import assert from 'node:assert/strict';
import { test } from 'node:test';
import { created, fakeServer, refusal, type FakeServer, type Step } from './fake-server.js';
import { ReplicatedLogClient, ReplicatedLogError, WriteConcernTimeoutError } from './index.js';

/** Retries without real waiting: 1 ms backoff, a fixed jitter. */
const FAST = { baseDelayMs: 1, maxDelayMs: 2, random: () => 0.5 };

async function withServer(
  steps: readonly Step[],
  body: (server: FakeServer, client: ReplicatedLogClient) => Promise<void>,
): Promise<void> {
  const server = await fakeServer(steps);
  try {
    await body(server, new ReplicatedLogClient({ url: server.url, retry: FAST }));
  } finally {
    await server.close();
  }
}

const keys = (server: FakeServer): (string | string[] | undefined)[] =>
  server.requests.map((request) => request.headers['idempotency-key']);

test('append sends the message, w and timeoutMs with a generated key, and types the answer', async () => {
  await withServer([created(7, 'hi')], async (server, client) => {
    const result = await client.append('hi', { w: 'majority', timeoutMs: 500 });
    assert.deepEqual(result.entry, { id: 7, message: 'hi' });
    assert.equal(result.replayed, false);
    assert.equal(result.attempts, 1);
    assert.match(result.idempotencyKey ?? '', /^[0-9a-f-]{36}$/);
    const [request] = server.requests;
    assert.equal(request?.method, 'POST');
    assert.equal(request.url, '/logs');
    assert.deepEqual(JSON.parse(request.body), { message: 'hi', w: 'majority', timeoutMs: 500 });
    assert.equal(request.headers['idempotency-key'], result.idempotencyKey);
  });
});

test('each logical append gets its own key', async () => {
  await withServer([created(1, 'a'), created(2, 'b')], async (server, client) => {
    await client.append('a');
    await client.append('b');
    const [first, second] = keys(server);
    assert.notEqual(first, second);
  });
});

test('a cut connection is retried with the same key, and a replay (200) says so', async () => {
  await withServer(['cut', 'cut', created(3, 'x', 200)], async (server, client) => {
    const result = await client.append('x', { idempotencyKey: 'order-42' });
    assert.equal(result.attempts, 3);
    assert.equal(result.replayed, true);
    assert.deepEqual(keys(server), ['order-42', 'order-42', 'order-42']);
  });
});

test('a 503 with Retry-After is retried; the key stays the same', async () => {
  const readOnly = refusal(503, 'READ_ONLY', { 'retry-after': '0' });
  await withServer([readOnly, created(4, 'y')], async (server, client) => {
    const result = await client.append('y');
    assert.equal(result.entry.id, 4);
    assert.equal(server.requests.length, 2);
    assert.equal(new Set(keys(server)).size, 1);
  });
});

test('a definite refusal (400) is never retried and carries its code and status', async () => {
  await withServer([refusal(400, 'INVALID_REQUEST'), created(1, 'z')], async (server, client) => {
    await assert.rejects(client.append('z', { w: 9 }), (error: unknown) => {
      assert.ok(error instanceof ReplicatedLogError);
      assert.equal(error.code, 'INVALID_REQUEST');
      assert.equal(error.status, 400);
      assert.equal(error.attempts, 1);
      assert.equal(error.outcomeUnknown, false);
      assert.match(error.message, /400 INVALID_REQUEST: refused with INVALID_REQUEST/);
      return true;
    });
    assert.equal(server.requests.length, 1);
  });
});

test('retries are bounded by maxAttempts; the error counts them', async () => {
  await withServer([refusal(503, 'OVERLOADED')], async (server) => {
    const client = new ReplicatedLogClient({ url: server.url, retry: { ...FAST, maxAttempts: 3 } });
    await assert.rejects(client.append('w'), (error: unknown) => {
      assert.ok(error instanceof ReplicatedLogError);
      assert.equal(error.code, 'OVERLOADED');
      assert.equal(error.attempts, 3);
      return true;
    });
    assert.equal(server.requests.length, 3);
  });
});

test('without a key, an unanswered append is not retried: it may have been stored', async () => {
  await withServer(['cut', created(1, 'v')], async (server, client) => {
    await assert.rejects(client.append('v', { idempotencyKey: null }), (error: unknown) => {
      assert.ok(error instanceof ReplicatedLogError);
      assert.equal(error.code, 'UNREACHABLE');
      assert.equal(error.unreachable, true);
      assert.equal(error.outcomeUnknown, true);
      return true;
    });
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]?.headers['idempotency-key'], undefined);
  });
});

test('an attempt without an answer in time is retried with the same key', async () => {
  await withServer(['silence', created(5, 't')], async (server, client) => {
    const result = await client.append('t', { attemptTimeoutMs: 100 });
    assert.equal(result.attempts, 2);
    assert.equal(new Set(keys(server)).size, 1);
  });
});

test('shouldRetry can end the retries early with the failure', async () => {
  await withServer(['cut'], async (server) => {
    const seen: string[] = [];
    const client = new ReplicatedLogClient({
      url: server.url,
      retry: { ...FAST, shouldRetry: (failure) => (seen.push(failure.code), seen.length < 2) },
    });
    await assert.rejects(client.append('s'), { code: 'UNREACHABLE', attempts: 2 });
    assert.deepEqual(seen, ['UNREACHABLE', 'UNREACHABLE']);
  });
});

test('504 WRITE_CONCERN_TIMEOUT: stored, not retried, with its entries', async () => {
  const timedOut: Step = {
    status: 504,
    body: {
      status: 'error',
      error: { code: 'WRITE_CONCERN_TIMEOUT', message: 'stored, but only 2 of the 3 nodes' },
      logs: [
        { id: 8, message: 'a' },
        { id: 9, message: 'b' },
      ],
      w: 3,
      acks: 2,
    },
  };
  await withServer([timedOut], async (server, client) => {
    await assert.rejects(client.appendBatch(['a', 'b'], { w: 3, timeoutMs: 10 }), (error) => {
      assert.ok(error instanceof WriteConcernTimeoutError);
      assert.equal(error.code, 'WRITE_CONCERN_TIMEOUT');
      assert.deepEqual(
        error.entries.map((entry) => entry.id),
        [8, 9],
      );
      assert.equal(error.acks, 2);
      return true;
    });
    assert.equal(server.requests.length, 1);
    assert.deepEqual(JSON.parse(server.requests[0]?.body ?? ''), {
      messages: ['a', 'b'],
      w: 3,
      timeoutMs: 10,
    });
  });
});

test('appendBatch returns the entries; the API token goes as a bearer header', async () => {
  const batch: Step = {
    status: 201,
    body: { status: 'success', logs: [{ id: 1, message: 'a' }], w: 1, acks: 1 },
  };
  const server = await fakeServer([batch]);
  try {
    const client = new ReplicatedLogClient({ url: `${server.url}/`, apiToken: 'secret' });
    const result = await client.appendBatch(['a'], { w: 1 });
    assert.deepEqual(result.entries, [{ id: 1, message: 'a' }]);
    assert.equal(server.requests[0]?.headers.authorization, 'Bearer secret');
  } finally {
    await server.close();
  }
});

test('read passes since and limit; get and health are typed; a 404 is NOT_FOUND', async () => {
  const steps: Step[] = [
    { status: 200, body: [{ id: 3, message: 'c' }] },
    { status: 200, body: { id: 2, message: 'b' } },
    refusal(404, 'NOT_FOUND'),
    { status: 200, body: { node: 'sub1', role: 'secondary', status: 'ok' } },
  ];
  await withServer(steps, async (server, client) => {
    assert.deepEqual(await client.read({ since: 2, limit: 1 }), [{ id: 3, message: 'c' }]);
    assert.deepEqual(await client.get(2), { id: 2, message: 'b' });
    await assert.rejects(client.get(9), { code: 'NOT_FOUND', status: 404 });
    assert.equal((await client.health()).role, 'secondary');
    assert.deepEqual(
      server.requests.map((request) => request.url),
      ['/logs?since=2&limit=1', '/logs/2', '/logs/9', '/health'],
    );
  });
});

test('a proxy page (502 without the envelope) is an unknown outcome and retried', async () => {
  await withServer(
    [{ status: 502, body: '<html>bad gateway</html>' }, created(1, 'p')],
    async (server, client) => {
      assert.equal((await client.append('p')).attempts, 2);
      assert.equal(server.requests.length, 2);
    },
  );
});

test('the caller signal stops waiting; the append may have been stored', async () => {
  await withServer(['silence'], async (_server, client) => {
    const stop = new AbortController();
    setTimeout(() => {
      stop.abort();
    }, 10).unref();
    await assert.rejects(client.append('q', { signal: stop.signal }), {
      code: 'ABORTED',
      outcomeUnknown: true,
    });
  });
});

test('options are checked: the message names the value, the range and the fix', async () => {
  assert.throws(
    () => new ReplicatedLogClient('localhost:8000'),
    /must start with http:\/\/ or https:\/\//,
  );
  assert.throws(
    () => new ReplicatedLogClient({ url: 'http://a', retry: { maxAttempts: 0 } }),
    /retry\.maxAttempts must be an integer from 1 to 1000; got 0 \(1 turns retries off\)/,
  );
  assert.throws(
    () => new ReplicatedLogClient({ url: 'http://a', retry: { baseDelayMs: 50, maxDelayMs: 10 } }),
    /retry\.maxDelayMs must be an integer from 50 to 600000; got 10/,
  );
  const client = new ReplicatedLogClient('http://127.0.0.1:9');
  await assert.rejects(
    client.append('x', { idempotencyKey: 'é' }),
    /idempotencyKey must be 1 to 128 printable ASCII characters/,
  );
  await assert.rejects(client.appendBatch([]), /at least one message/);
  await assert.rejects(client.read({ since: -1 }), /since must be a whole number from 0; got -1/);
});
