import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  entryEvent,
  fakeStreamServer,
  type FakeStreamServer,
  type StreamStep,
} from './fake-stream-server.js';
import type { Reconnect } from './follow.js';
import { ReplicatedLogClient, ReplicatedLogError, type Entry } from './index.js';

/** Reconnections without real waiting: 1-2 ms backoff, a fixed jitter. */
const FAST = { baseDelayMs: 1, maxDelayMs: 2, random: () => 0.5 };

async function withServer(
  steps: readonly StreamStep[],
  body: (server: FakeStreamServer, client: ReplicatedLogClient) => Promise<void>,
): Promise<void> {
  const server = await fakeStreamServer(steps);
  try {
    await body(server, new ReplicatedLogClient({ url: server.url, retry: FAST }));
  } finally {
    await server.close();
  }
}

/** Takes `count` entries from the iterator, then breaks (which closes the stream). */
async function take(entries: AsyncIterable<Entry>, count: number): Promise<number[]> {
  const ids: number[] = [];
  if (count === 0) return ids;
  for await (const entry of entries) {
    ids.push(entry.id);
    if (ids.length === count) break;
  }
  return ids;
}

const events = (from: number, to: number): string =>
  Array.from({ length: to - from + 1 }, (_, index) => entryEvent(from + index)).join('');

const stream = (pieces: readonly string[], then: 'end' | 'cut' | 'hold'): StreamStep => ({
  kind: 'stream',
  pieces,
  then,
});

const overloaded = (retryAfter: string): StreamStep => ({
  kind: 'answer',
  status: 503,
  headers: { 'retry-after': retryAfter },
  body: { status: 'error', error: { code: 'OVERLOADED', message: '256 streams are open' } },
});

test('follow reads entries split across pieces, with comments and retry, after since', async () => {
  const text = `retry: 1000\n\n${entryEvent(4, 'a\nb')}: keep-alive\n\n${events(5, 6)}`;
  const pieces = [...text.matchAll(/[\s\S]{1,7}/g)].map((match) => match[0]);
  await withServer([stream(pieces, 'hold')], async (server, client) => {
    const entries: Entry[] = [];
    const follow = client.follow({ since: 3 });
    for await (const entry of follow) {
      entries.push(entry);
      if (entry.id === 6) break;
    }
    assert.deepEqual(entries, [
      { id: 4, message: 'a\nb' },
      { id: 5, message: 'm5' },
      { id: 6, message: 'm6' },
    ]);
    assert.equal(follow.lastId, 6);
    const [request] = server.requests;
    assert.equal(request?.url, '/logs/stream?since=3');
    assert.equal(request.headers['last-event-id'], undefined);
    await request.closed;
  });
});

test('follow reconnects after an end, a cut mid-event and a 503, resuming with Last-Event-ID', async () => {
  const steps = [
    stream([events(1, 2)], 'end'),
    stream([entryEvent(3), 'id: 4\ndata: {"id":4,"mess'], 'cut'),
    overloaded('0'),
    { kind: 'cut' } as const,
    stream([events(4, 6)], 'hold'),
  ];
  await withServer(steps, async (server, client) => {
    const reconnects: Reconnect[] = [];
    const ids = await take(client.follow({ onReconnect: (r) => reconnects.push(r) }), 6);
    assert.deepEqual(ids, [1, 2, 3, 4, 5, 6]);
    const sent = server.requests.map((request) => request.headers['last-event-id']);
    assert.deepEqual(sent, [undefined, '2', '3', '3', '3']);
    assert.ok(server.requests.every((request) => request.url === '/logs/stream?since=0'));
    assert.deepEqual(
      reconnects.map((r) => [r.afterId, r.failures]),
      [
        [2, 0],
        [3, 0],
        [3, 1],
        [3, 2],
      ],
    );
    assert.match(reconnects[0]?.reason ?? '', /ended the stream/);
    assert.match(reconnects[1]?.reason ?? '', /broke/);
    assert.match(reconnects[2]?.reason ?? '', /503 OVERLOADED/);
  });
});

test("follow waits for a 503's Retry-After before it reconnects", async () => {
  await withServer([overloaded('1'), stream([events(1, 1)], 'hold')], async (server, client) => {
    const reconnects: Reconnect[] = [];
    assert.deepEqual(await take(client.follow({ onReconnect: (r) => reconnects.push(r) }), 1), [1]);
    assert.deepEqual(
      reconnects.map((r) => r.delayMs),
      [1000],
    );
    assert.equal(server.requests.length, 2);
  });
});

/** Streams a node must never send: each is thrown, not skipped over. */
const BROKEN_STREAMS: readonly { name: string; text: string; error: RegExp; yields: number[] }[] = [
  {
    name: 'a gap',
    text: events(1, 2) + entryEvent(4),
    error: /entry 4 after entry 2: entries 3\.\.3 are missing/,
    yields: [1, 2],
  },
  {
    name: 'a repeat',
    text: events(1, 2) + entryEvent(2),
    error: /entry 2 after entry 2: entry 2 again/,
    yields: [1, 2],
  },
  {
    name: 'an id field that is not the entry',
    text: 'id: 9\ndata: {"id":1,"message":"x"}\n\n',
    error: /entry 1 under the event id "9"/,
    yields: [],
  },
  {
    name: 'data that is not an entry',
    text: 'id: 1\ndata: hello\n\n',
    error: /an event that is not an entry: hello/,
    yields: [],
  },
];

for (const { name, text, error, yields } of BROKEN_STREAMS) {
  test(`follow throws on ${name}, after yielding what came before it`, async () => {
    await withServer([stream([text], 'hold')], async (server, client) => {
      const ids: number[] = [];
      await assert.rejects(
        (async () => {
          for await (const entry of client.follow()) ids.push(entry.id);
        })(),
        (thrown: unknown) => {
          assert.ok(thrown instanceof ReplicatedLogError);
          assert.equal(thrown.code, 'UNEXPECTED_ANSWER');
          assert.match(thrown.message, error);
          return true;
        },
      );
      assert.deepEqual(ids, yields);
      assert.equal(server.requests.length, 1);
      await server.requests[0]?.closed;
    });
  });
}

/** Answers after which following stops at once, with the answer's code. */
const FINAL_ANSWERS: readonly { name: string; step: StreamStep; code: string }[] = [
  {
    name: '400 INVALID_REQUEST',
    step: {
      kind: 'answer',
      status: 400,
      body: { status: 'error', error: { code: 'INVALID_REQUEST', message: 'bad since' } },
    },
    code: 'INVALID_REQUEST',
  },
  {
    name: 'a 200 that is not an event stream',
    step: { kind: 'stream', pieces: ['<html>'], then: 'end', contentType: 'text/html' },
    code: 'UNEXPECTED_ANSWER',
  },
];

for (const { name, step, code } of FINAL_ANSWERS) {
  test(`follow is not retried after ${name}`, async () => {
    await withServer([step, stream([events(1, 1)], 'hold')], async (server, client) => {
      await assert.rejects(take(client.follow(), 1), { code });
      assert.equal(server.requests.length, 1);
    });
  });
}

test('follow throws the last failure after maxConsecutiveFailures attempts in a row', async () => {
  await withServer([{ kind: 'cut' }], async (server, client) => {
    await assert.rejects(take(client.follow({ maxConsecutiveFailures: 3 }), 1), (thrown) => {
      assert.ok(thrown instanceof ReplicatedLogError);
      assert.equal(thrown.code, 'UNREACHABLE');
      assert.equal(thrown.attempts, 3);
      assert.match(thrown.message, /3 connection attempts in a row failed/);
      return true;
    });
    assert.equal(server.requests.length, 3);
  });
});

test('an opened stream resets the count of failures', async () => {
  const cut = { kind: 'cut' } as const;
  const steps = [cut, cut, stream([events(1, 1)], 'end'), cut, cut, stream([events(2, 2)], 'hold')];
  await withServer(steps, async (server, client) => {
    assert.deepEqual(await take(client.follow({ maxConsecutiveFailures: 3 }), 2), [1, 2]);
    assert.equal(server.requests.length, 6);
  });
});

test('a silent stream is taken as dead after idleTimeoutMs and reconnected', async () => {
  await withServer([stream([], 'hold'), stream([events(1, 1)], 'hold')], async (server, client) => {
    const reconnects: Reconnect[] = [];
    const follow = client.follow({ idleTimeoutMs: 50, onReconnect: (r) => reconnects.push(r) });
    assert.deepEqual(await take(follow, 1), [1]);
    assert.match(reconnects[0]?.reason ?? '', /nothing came for 50 ms, not even a keep-alive/);
    await server.requests[0]?.closed;
  });
});

test("the caller's signal stops a waiting follow with ABORTED and closes the stream", async () => {
  await withServer([stream([events(1, 1)], 'hold')], async (server, client) => {
    const controller = new AbortController();
    const follow = client.follow({ signal: controller.signal });
    assert.equal((await follow.next()).value?.id, 1);
    const waiting = follow.next();
    controller.abort();
    await assert.rejects(waiting, { code: 'ABORTED', message: /after entry 1/ });
    await server.requests[0]?.closed;
  });
});

test('return() while a next() waits ends the iteration and closes the stream', async () => {
  await withServer([stream([events(1, 1)], 'hold')], async (server, client) => {
    const follow = client.follow();
    assert.equal((await follow.next()).value?.id, 1);
    const waiting = follow.next();
    await follow.return();
    assert.deepEqual(await waiting, { done: true, value: undefined });
    assert.deepEqual(await follow.next(), { done: true, value: undefined });
    await server.requests[0]?.closed;
  });
});

test('return() before the first next() opens no connection', async () => {
  await withServer([stream([events(1, 1)], 'hold')], async (server, client) => {
    const follow = client.follow();
    await follow.return();
    assert.deepEqual(await follow.next(), { done: true, value: undefined });
    assert.equal(server.requests.length, 0);
  });
});

test('follow options are checked when it is called', () => {
  const client = new ReplicatedLogClient('http://127.0.0.1:1');
  assert.throws(() => client.follow({ since: -1 }), /since must be a whole number from 0/);
  assert.throws(
    () => client.follow({ maxConsecutiveFailures: 0 }),
    /maxConsecutiveFailures must be an integer from 1/,
  );
  assert.throws(() => client.follow({ idleTimeoutMs: 0 }), /idleTimeoutMs must be an integer/);
});
