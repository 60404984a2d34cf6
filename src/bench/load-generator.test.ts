import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { LatencyHistogram } from './histogram.js';
import { runLoad, type LoadResult } from './load-generator.js';
import { createNoopServer } from './noop-server.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

/** The invariants every result must hold, whatever the speed of the machine. */
function assertConsistent(result: LoadResult, messagesPerRequest: number): void {
  const successes = result.requests - result.errors;
  assert.ok(result.errors >= 0 && successes >= 0, `errors ${result.errors} of ${result.requests}`);
  assert.equal(result.messages, successes * messagesPerRequest);
  assert.ok(Math.abs(result.throughput - result.messages / result.durationS) < 1e-6);
  assert.ok(Math.abs(result.requestsPerS - result.requests / result.durationS) < 1e-6);
  if (successes > 0) {
    assert.ok(result.p50Ms > 0, `p50 ${result.p50Ms}`);
    assert.ok(result.p50Ms <= result.p99Ms, `p50 ${result.p50Ms} > p99 ${result.p99Ms}`);
    assert.ok(result.p99Ms <= result.p999Ms, `p99 ${result.p99Ms} > p999 ${result.p999Ms}`);
    assert.ok(result.p999Ms <= result.maxMs, `p999 ${result.p999Ms} > max ${result.maxMs}`);
    assert.ok(result.meanMs > 0 && result.meanMs <= result.maxMs, `mean ${result.meanMs}`);
  } else {
    assert.deepEqual([result.p50Ms, result.p99Ms, result.p999Ms], [0, 0, 0]);
  }
}

describe('LatencyHistogram', () => {
  it('reports nearest-rank percentiles within its precision', () => {
    const histogram = new LatencyHistogram();
    for (let valueUs = 1; valueUs <= 100_000; valueUs++) histogram.recordUs(valueUs);
    assert.equal(histogram.count, 100_000);
    assert.equal(histogram.minUs, 1);
    assert.equal(histogram.maxUs, 100_000);
    assert.ok(Math.abs(histogram.meanUs - 50_000.5) < 1e-6);
    for (const [percentile, expectedUs] of [
      [50, 50_000],
      [99, 99_000],
      [99.9, 99_900],
      [100, 100_000],
    ] as const) {
      const valueUs = histogram.valueAtPercentileUs(percentile);
      // Reported as the bucket's highest value: never below the true one, at most 1/128 above.
      assert.ok(
        valueUs >= expectedUs && valueUs <= expectedUs * (1 + 1 / 128),
        `p${percentile}: ${valueUs} for ${expectedUs}`,
      );
    }
    assert.equal(histogram.valueAtPercentileUs(0), 1);
  });

  it('is exact below 256 µs, clamps huge values and answers 0 when empty', () => {
    const histogram = new LatencyHistogram();
    assert.equal(histogram.valueAtPercentileUs(99), 0);
    for (const valueUs of [3, 3, 3, 7]) histogram.recordUs(valueUs);
    assert.equal(histogram.valueAtPercentileUs(75), 3);
    assert.equal(histogram.valueAtPercentileUs(76), 7);
    histogram.recordUs(1e12);
    assert.equal(histogram.maxUs, 2 ** 31 - 1);
    assert.equal(histogram.valueAtPercentileUs(100), 2 ** 31 - 1);
    assert.throws(() => histogram.valueAtPercentileUs(101), RangeError);
  });
});

describe('runLoad', () => {
  it('counts requests, messages and latencies consistently against a no-op server', async () => {
    const server = createNoopServer();
    let posts = 0;
    server.prependListener('request', () => (posts += 1));
    const origin = await listen(server);
    try {
      const result = await runLoad({
        origin,
        path: '/logs',
        body: JSON.stringify({ messages: ['a', 'b', 'c'], w: 1 }),
        messagesPerRequest: 3,
        clients: 4,
        durationMs: 500,
        warmupMs: 100,
      });
      assert.equal(result.clients, 4);
      // The window is computed from two clock readings, so allow floating-point rounding.
      assert.ok(Math.abs(result.durationS - 0.5) < 1e-6, `durationS ${result.durationS}`);
      assert.ok(result.requests > 0, 'no request completed in half a second');
      assert.equal(result.errors, 0, result.errorSamples.join('; '));
      assertConsistent(result, 3);
      // Warm-up and drain requests reach the server too but are not counted.
      assert.ok(posts >= result.requests, `server saw ${posts}, counted ${result.requests}`);
    } finally {
      await close(server);
    }
  });

  it('counts non-2xx answers as errors and leaves them out of the messages', async () => {
    let seen = 0;
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        seen += 1;
        const failing = seen % 2 === 0;
        response.writeHead(failing ? 503 : 201, { 'content-type': 'application/json' });
        response.end(failing ? '{"status":"error","error":{"code":"OVERLOADED"}}' : '{}');
      });
    });
    const origin = await listen(server);
    try {
      const result = await runLoad({
        origin,
        path: '/logs',
        body: '{"message":"x","w":1}',
        messagesPerRequest: 1,
        clients: 1,
        durationMs: 300,
        warmupMs: 0,
      });
      assert.ok(result.errors > 0, 'no error counted');
      assert.ok(result.errors < result.requests, 'no success counted');
      assertConsistent(result, 1);
      assert.ok(result.errorSamples.some((sample) => sample.startsWith('HTTP 503')));
    } finally {
      await close(server);
    }
  });

  it('counts requests that get no answer as errors', async () => {
    // A port that was just free: the connection is refused.
    const server = createServer();
    const origin = await listen(server);
    await close(server);
    const result = await runLoad({
      origin,
      path: '/logs',
      body: '{}',
      messagesPerRequest: 1,
      clients: 2,
      durationMs: 200,
      warmupMs: 0,
    });
    assert.equal(result.messages, 0);
    assert.equal(result.errors, result.requests);
    assert.ok(result.errors > 0);
    assertConsistent(result, 1);
  });

  it('stops early on its signal and reports the time it ran', async () => {
    const server = createNoopServer();
    const origin = await listen(server);
    try {
      const result = await runLoad({
        origin,
        path: '/logs',
        body: '{}',
        messagesPerRequest: 1,
        clients: 2,
        durationMs: 60_000,
        warmupMs: 0,
        signal: AbortSignal.timeout(200),
      });
      assert.ok(result.durationS > 0 && result.durationS < 60, `durationS ${result.durationS}`);
      assertConsistent(result, 1);
    } finally {
      await close(server);
    }
  });

  it('drives any connection: one per client, one request in flight, answered failures counted', async () => {
    let opened = 0;
    let closed = 0;
    let inFlight = 0;
    let mostInFlight = 0;
    let sent = 0;
    const result = await runLoad({
      connect: (signal) => {
        opened += 1;
        let busy = false;
        return {
          send: async () => {
            assert.equal(busy, false, 'a second request on a connection with one in flight');
            assert.equal(signal.aborted, false);
            busy = true;
            inFlight += 1;
            mostInFlight = Math.max(mostInFlight, inFlight);
            await new Promise((resolve) => setTimeout(resolve, 1));
            inFlight -= 1;
            busy = false;
            sent += 1;
            // Every third request is answered with a failure.
            return sent % 3 === 0 ? 'WAIT 2 0 answered 1' : undefined;
          },
          close: () => {
            closed += 1;
            return Promise.resolve();
          },
        };
      },
      messagesPerRequest: 1,
      clients: 3,
      durationMs: 300,
      warmupMs: 0,
    });
    assert.equal(opened, 3);
    assert.equal(closed, 3);
    assert.ok(mostInFlight <= 3, `${mostInFlight} requests in flight for 3 clients`);
    assert.ok(
      result.errors > 0 && result.errors < result.requests,
      `${result.errors} of ${result.requests}`,
    );
    assert.deepEqual(result.errorSamples, ['WAIT 2 0 answered 1']);
    assertConsistent(result, 1);
  });
});
