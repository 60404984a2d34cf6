import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { systemClock, type Clock } from '../adapters/clock.js';
import { StreamReader } from '../e2e/follow-reader.js';
import { request, waitFor, type ErrorBody } from '../e2e/harness.js';
import { ManualClock } from '../testing/manual-clock.js';
import { createServer } from './create-server.js';
import { FakeLog } from './follow-fixtures.js';
import { registerReadRoutes, type ReadLimits } from './read-routes.js';

const LIMITS: ReadLimits = {
  maxReadLimit: 10_000,
  maxWaitMs: 30_000,
  maxFollowers: 8,
  streamKeepAliveMs: 15_000,
  maxStreamBufferBytes: 1024 * 1024,
};

interface Node {
  readonly app: FastifyInstance;
  readonly log: FakeLog;
  readonly registry: Registry;
}

function node(clock: Clock, limits: Partial<ReadLimits> = {}): Node {
  const log = new FakeLog();
  const registry = new Registry();
  const app = createServer({
    logger: pino({ enabled: false }),
    clock,
    maxBodyBytes: 1 << 20,
    maxMessageBytes: 1024,
  });
  registerReadRoutes(app, log, { ...LIMITS, ...limits }, { clock, registry });
  return { app, log, registry };
}

async function gauge(registry: Registry, name: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values[0]?.value;
}

/** Lets requests in flight reach their handler until `registry` counts `count` waiting reads. */
async function waitingReads(registry: Registry, count: number): Promise<void> {
  for (let turn = 0; turn < 1000; turn++) {
    if ((await gauge(registry, 'rlog_follow_waiting_reads')) === count) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail(`${count} waiting reads never showed`);
}

/** Whether `promise` has settled, after letting pending callbacks run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol('pending');
  const first = await Promise.race([
    promise,
    new Promise((resolve) => setImmediate(resolve, pending)),
  ]);
  return first !== pending;
}

void describe('GET /logs?waitMs= (long poll)', () => {
  void it('answers at once when the node shows entries after since', async () => {
    const { app, log } = node(new ManualClock());
    log.append(3);
    const answer = await app.inject(`/logs?since=1&waitMs=30000`);
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(answer.json(), [
      { id: 2, message: 'm2' },
      { id: 3, message: 'm3' },
    ]);
  });

  void it('waits for the first new entry and answers with it', async () => {
    const clock = new ManualClock();
    const { app, log, registry } = node(clock);
    log.append(1);
    const pending = app.inject(`/messages?since=1&waitMs=30000`);
    await waitingReads(registry, 1);
    await clock.advance(29_999);
    assert.equal(await settled(pending), false);
    log.append(1);
    const answer = await pending;
    assert.deepEqual(answer.json(), [{ id: 2, message: 'm2' }]);
    assert.equal(await gauge(registry, 'rlog_follow_waiting_reads'), 0);
  });

  void it('answers [] when waitMs passes, capping waitMs at MAX_WAIT_MS', async () => {
    const clock = new ManualClock();
    const { app, registry } = node(clock, { maxWaitMs: 1000 });
    const short = app.inject(`/logs?waitMs=500`);
    const long = app.inject(`/logs?waitMs=999999999`);
    await waitingReads(registry, 2);
    await clock.advance(499);
    assert.equal(await settled(short), false);
    await clock.advance(1);
    assert.deepEqual((await short).json(), []);
    await clock.advance(499);
    assert.equal(await settled(long), false);
    await clock.advance(1);
    const answer = await long;
    assert.equal(answer.statusCode, 200, 'a wait above the cap is capped, not refused');
    assert.deepEqual(answer.json(), []);
  });

  void it('does not wait with limit=0, and refuses a waitMs that is not a non-negative integer', async () => {
    const { app } = node(new ManualClock());
    assert.deepEqual((await app.inject('/logs?limit=0&waitMs=30000')).json(), []);
    const bad = await app.inject('/logs?waitMs=1e3');
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<ErrorBody>().error.message, /waitMs/);
  });

  void it('refuses a follower over MAX_FOLLOWERS with 503 OVERLOADED and Retry-After', async () => {
    const clock = new ManualClock();
    const { app, log, registry } = node(clock, { maxFollowers: 2 });
    const waiting = [app.inject('/logs?waitMs=1000'), app.inject('/logs?waitMs=1000')];
    await waitingReads(registry, 2);
    const refused = await app.inject('/logs?waitMs=1000');
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.json<ErrorBody>().error.code, 'OVERLOADED');
    assert.match(refused.json<ErrorBody>().error.message, /limit 2 together, MAX_FOLLOWERS/);
    log.append(1);
    for (const answer of await Promise.all(waiting)) assert.equal(answer.json<[]>().length, 1);
    await waitingReads(registry, 0);
    const next = app.inject('/logs?since=1&waitMs=1000');
    await waitingReads(registry, 1);
    log.append(1);
    assert.equal((await next).statusCode, 200, 'the slots were freed');
  });

  void it('answers a waiting read when the node closes', async () => {
    const clock = new ManualClock();
    const { app, registry } = node(clock);
    const pending = app.inject('/logs?waitMs=30000');
    await waitingReads(registry, 1);
    await app.close();
    assert.deepEqual((await pending).json(), []);
  });
});

void describe('GET /logs/stream', () => {
  async function listening(limits: Partial<ReadLimits> = {}): Promise<Node & { url: string }> {
    const started = node(systemClock, limits);
    const url = await started.app.listen({ host: '127.0.0.1', port: 0 });
    return { ...started, url };
  }

  void it('streams entries after since, then new ones; Last-Event-ID wins over since', async () => {
    const { app, log, url, registry } = await listening();
    log.append(5);
    try {
      const fromSince = await StreamReader.open(`${url}/logs/stream?since=3`);
      assert.equal(fromSince.status, 200);
      assert.equal(fromSince.headers['content-type'], 'text/event-stream; charset=utf-8');
      assert.equal(fromSince.headers['cache-control'], 'no-cache, no-transform');
      await waitFor(() => fromSince.events.length === 2, 10_000, 'entries 4 and 5');
      assert.equal(fromSince.retryMs, 1000);
      assert.deepEqual(fromSince.events[0], { id: '4', data: '{"id":4,"message":"m4"}' });
      const resumed = await StreamReader.open(`${url}/messages/stream?since=1`, {
        'last-event-id': '4',
      });
      log.append(1);
      await waitFor(() => resumed.ids().join() === '5,6', 10_000, 'entries 5 and 6 only');
      await waitFor(() => fromSince.ids().join() === '4,5,6', 10_000, 'entry 6 on the first');
      assert.equal(await gauge(registry, 'rlog_follow_streams'), 2);
      resumed.close();
      await waitFor(
        async () => (await gauge(registry, 'rlog_follow_streams')) === 1,
        10_000,
        'the closed stream to be counted out',
      );
      await app.close();
      await fromSince.ended;
      assert.equal(await gauge(registry, 'rlog_follow_streams'), 0);
    } finally {
      await app.close();
    }
  });

  void it('refuses a malformed Last-Event-ID and a stream over MAX_FOLLOWERS', async () => {
    const { app, url } = await listening({ maxFollowers: 1 });
    try {
      const bad = await request<ErrorBody>(`${url}/logs/stream`, {
        headers: { 'last-event-id': 'abc' },
      });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /Last-Event-ID must be the id of an entry/);
      const first = await StreamReader.open(`${url}/logs/stream`);
      assert.equal(first.status, 200);
      for (const path of ['/logs/stream', '/logs?waitMs=1000']) {
        const refused = await request<ErrorBody>(`${url}${path}`);
        assert.equal(refused.status, 503, path);
        assert.equal(refused.body.error.code, 'OVERLOADED');
        assert.equal(refused.headers.get('retry-after'), '1');
      }
      first.close();
    } finally {
      await app.close();
    }
  });
});
