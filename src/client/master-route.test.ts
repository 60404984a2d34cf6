/**
 * Appends that find the master: two or three fake nodes on loopback, one of which (or none) is
 * the master. Time is the test's clock: a Retry-After is recorded, never waited for.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock } from './clock.js';
import { closedUrl, created, fakeNodes, notMaster, type FakeServer } from './fake-server.js';
import {
  ReplicatedLogClient,
  ReplicatedLogError,
  type ReplicatedLogClientOptions,
} from './index.js';

/** A clock whose sleep returns at once, moving its time on by what was asked. */
function testClock(times: number[] = []): Clock & { readonly slept: number[] } {
  const slept: number[] = [];
  let nowMs = 0;
  return {
    slept,
    now: () => times.shift() ?? nowMs,
    sleep: (ms) => {
      slept.push(ms);
      nowMs += ms;
      return Promise.resolve();
    },
  };
}

const FAST = { baseDelayMs: 1, maxDelayMs: 2, random: () => 0.5 };

async function withNodes(
  count: number,
  body: (nodes: FakeServer[]) => Promise<void>,
): Promise<void> {
  const nodes = await fakeNodes(count);
  try {
    await body(nodes);
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
  }
}

function clientOf(options: ReplicatedLogClientOptions): ReplicatedLogClient {
  return new ReplicatedLogClient({ clock: testClock(), retry: FAST, ...options });
}

const keyOf = (node: FakeServer, index = 0): unknown =>
  node.requests[index]?.headers['idempotency-key'];

test('a 421 naming the master is followed there once, with the same key and body; later appends go straight to it', async () => {
  await withNodes(2, async ([a, b]) => {
    assert.ok(a !== undefined && b !== undefined);
    a.answerWith([notMaster(b.url), { status: 200, body: [] }]);
    b.answerWith([created(1, 'x'), created(2, 'y')]);
    const client = clientOf({ url: a.url });
    const first = await client.append('x', { w: 2, idempotencyKey: 'k-1' });
    assert.deepEqual(first.entry, { id: 1, message: 'x' });
    assert.equal(first.node, b.url);
    assert.equal(first.attempts, 1);
    assert.equal(client.masterUrl, b.url);
    assert.equal(a.requests.length, 1);
    assert.equal(b.requests.length, 1);
    assert.equal(keyOf(a), 'k-1');
    assert.equal(keyOf(b), 'k-1');
    assert.equal(b.requests[0]?.body, a.requests[0]?.body);

    assert.equal((await client.append('y')).node, b.url);
    assert.equal(a.requests.length, 1, 'the second append went straight to the master');
    await client.read();
    assert.deepEqual(
      a.requests.map((request) => `${request.method} ${request.url}`),
      ['POST /logs', 'GET /logs'],
      'reads stay on the node given',
    );
  });
});

test('421 with master null and Retry-After: the client waits (its clock) and asks the same node again', async () => {
  await withNodes(1, async ([a]) => {
    assert.ok(a !== undefined);
    a.answerWith([notMaster(null, { 'retry-after': '2' }), created(5, 'e')]);
    const clock = testClock();
    const client = clientOf({ url: a.url, clock });
    const result = await client.append('e');
    assert.equal(result.entry.id, 5);
    assert.equal(result.attempts, 2);
    assert.deepEqual(clock.slept, [2000]);
    assert.equal(new Set([keyOf(a, 0), keyOf(a, 1)]).size, 1);
  });
});

test('421 with master null and no Retry-After fails at once: that node will not learn a master', async () => {
  await withNodes(1, async ([a]) => {
    assert.ok(a !== undefined);
    a.answerWith([notMaster(null), created(1, 'never')]);
    await assert.rejects(clientOf({ url: a.url }).append('n'), {
      code: 'NOT_MASTER',
      status: 421,
      attempts: 1,
    });
    assert.equal(a.requests.length, 1);
  });
});

test('a redirect loop stops after maxRedirects, not retried, with an error naming the nodes it went through', async () => {
  await withNodes(2, async ([a, b]) => {
    assert.ok(a !== undefined && b !== undefined);
    a.answerWith([notMaster(b.url)]);
    b.answerWith([notMaster(a.url)]);
    await assert.rejects(clientOf({ url: a.url }).append('loop'), (error: unknown) => {
      assert.ok(error instanceof ReplicatedLogError);
      assert.equal(error.code, 'NOT_MASTER');
      assert.equal(error.outcomeUnknown, false);
      assert.equal(error.attempts, 1, 'not retried');
      const chain = [a.url, b.url, a.url, b.url, a.url, b.url, a.url].join(' -> ');
      assert.ok(error.message.includes(chain), error.message);
      assert.match(error.message, /within 5 redirects \(maxRedirects\)/);
      return true;
    });
    assert.equal(a.requests.length, 3);
    assert.equal(b.requests.length, 3);
  });
});

test('a refused connection at the remembered master: the next of the nodes is asked, and names the master', async () => {
  await withNodes(2, async ([secondary, master]) => {
    assert.ok(secondary !== undefined && master !== undefined);
    secondary.answerWith([notMaster(master.url)]);
    master.answerWith([created(3, 'after the kill')]);
    const dead = await closedUrl();
    const client = clientOf({ url: dead, nodes: [dead, secondary.url, master.url] });
    const result = await client.append('after the kill', { idempotencyKey: 'k-3' });
    assert.equal(result.node, master.url);
    assert.equal(result.attempts, 1);
    assert.equal(client.masterUrl, master.url);
    assert.deepEqual([keyOf(secondary), keyOf(master)], ['k-3', 'k-3']);
  });
});

test('a node that still names the master whose connection was refused: the client waits as for an election, then asks again', async () => {
  await withNodes(1, async ([secondary]) => {
    assert.ok(secondary !== undefined);
    const dead = await closedUrl();
    // The secondary has not noticed the kill yet; once elected, it answers itself.
    secondary.answerWith([notMaster(dead), created(4, 'during the election')]);
    const clock = testClock();
    const client = clientOf({ url: dead, nodes: [dead, secondary.url], clock });
    const result = await client.append('during the election', { idempotencyKey: 'k-4' });
    assert.equal(result.node, secondary.url);
    assert.equal(result.attempts, 2);
    assert.deepEqual(clock.slept, [1000], 'as long as a node asks for while it elects');
    assert.deepEqual([keyOf(secondary, 0), keyOf(secondary, 1)], ['k-4', 'k-4']);
  });
});

test('a master that stays down: every attempt ends at a node naming it, and the error says so', async () => {
  await withNodes(1, async ([secondary]) => {
    assert.ok(secondary !== undefined);
    const dead = await closedUrl();
    secondary.answerWith(Array.from({ length: 3 }, () => notMaster(dead)));
    const clock = testClock();
    const client = clientOf({ url: dead, nodes: [dead, secondary.url], clock });
    const retry = { ...FAST, maxAttempts: 3 };
    await assert.rejects(client.append('nobody leads', { retry }), (error: unknown) => {
      assert.ok(error instanceof ReplicatedLogError);
      assert.equal(error.code, 'NOT_MASTER');
      assert.equal(error.attempts, 3);
      assert.equal(error.outcomeUnknown, false, 'no attempt reached a master');
      assert.ok(
        error.message.includes(`names ${dead} as the master, which refused the connection`),
        error.message,
      );
      return true;
    });
    assert.deepEqual(clock.slept, [1000, 1000]);
  });
});

test('an unknown outcome at the master: the retry (same key) goes to the next node, which replays', async () => {
  await withNodes(2, async ([old, next]) => {
    assert.ok(old !== undefined && next !== undefined);
    old.answerWith(['cut']);
    next.answerWith([created(4, 'once', 200)]);
    const client = clientOf({ url: old.url, nodes: [old.url, next.url] });
    const result = await client.append('once');
    assert.equal(result.replayed, true);
    assert.equal(result.attempts, 2);
    assert.equal(result.node, next.url);
    assert.equal(keyOf(old), keyOf(next));
  });
});

test('a redirect gets only what is left of the attempt: none left, nothing is sent', async () => {
  await withNodes(2, async ([a, b]) => {
    assert.ok(a !== undefined && b !== undefined);
    a.answerWith([notMaster(b.url)]);
    b.answerWith([created(1, 'late')]);
    // The attempt starts at 0 ms; after A's answer the clock reads 2000 ms, past its 1500 ms.
    const client = clientOf({ url: a.url, clock: testClock([0, 0, 2000]) });
    await assert.rejects(
      client.append('late', { attemptTimeoutMs: 1500, retry: { maxAttempts: 1 } }),
      (error: unknown) => {
        assert.ok(error instanceof ReplicatedLogError);
        assert.equal(error.code, 'TIMEOUT');
        assert.equal(error.outcomeUnknown, false);
        assert.ok(error.message.includes(`nothing was sent to ${b.url}`), error.message);
        return true;
      },
    );
    assert.equal(b.requests.length, 0);
  });
});

test('maxRedirects and nodes are checked when the client is made', () => {
  assert.throws(
    () => new ReplicatedLogClient({ url: 'http://a', maxRedirects: -1 }),
    /maxRedirects must be an integer from 0 to 100; got -1 \(0 follows no redirect\)/,
  );
  assert.throws(
    () => new ReplicatedLogClient({ url: 'http://a', nodes: ['b:8001'] }),
    /url "b:8001" must start with http:\/\/ or https:\/\//,
  );
});
