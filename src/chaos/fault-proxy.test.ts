import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { test } from 'node:test';
import { waitFor } from '../e2e/harness.js';
import { ManualClock } from '../testing/manual-clock.js';
import { FaultProxy } from './fault-proxy.js';

async function upstream(): Promise<{ server: Server; url: string; received: string[] }> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push(`${req.method ?? ''} ${req.url ?? ''} ${body}`);
      res.writeHead(200, { 'content-type': 'application/json', 'x-seen': String(received.length) });
      res.end(JSON.stringify({ stored: received.length }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}`, received };
}

test('fault proxy: forwards, drops replies after the target answered, delays, counts', async () => {
  const target = await upstream();
  const clock = new ManualClock();
  const proxy = await FaultProxy.start({ target: target.url, clock });
  try {
    const post = (path: string, body: string): Promise<Response> =>
      fetch(`${proxy.url}${path}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(5000),
      });

    const forwarded = await post('/internal/replicate', '{"a":1}');
    assert.equal(forwarded.status, 200);
    assert.deepEqual(await forwarded.json(), { stored: 1 });
    assert.equal(forwarded.headers.get('x-seen'), '1');

    proxy.configure({ dropReplyRate: 1 });
    await assert.rejects(post('/internal/replicate', '{"a":2}'), 'the reply must be lost');
    // ... yet the target got (stored) the request.
    assert.equal(target.received.length, 2);
    assert.equal(target.received[1], 'POST /internal/replicate {"a":2}');
    // Only replication replies are dropped: heartbeats pass.
    const heartbeat = await post('/internal/heartbeat', '{}');
    assert.equal(heartbeat.status, 200);

    proxy.configure({ dropReplyRate: 0, delayMs: 150 });
    let replied = false;
    const delayed = post('/internal/replicate', '{"a":3}').finally(() => (replied = true));
    // The target answered; the proxy holds the reply for 150 ms of its clock.
    await waitFor(() => clock.pendingTimers === 1, 5000, 'the reply held by the proxy');
    assert.equal(target.received.at(-1), 'POST /internal/replicate {"a":3}');
    await clock.advance(149);
    assert.equal(replied, false, 'the reply must be delayed');
    await clock.advance(1);
    assert.equal((await delayed).status, 200);
    assert.equal(replied, true);

    assert.equal(proxy.stats.requests, 4);
    assert.equal(proxy.stats.matching, 3);
    assert.equal(proxy.stats.repliesDropped, 1);
    assert.equal(proxy.stats.forwarded, 3);
    assert.equal(proxy.stats.delayed, 1);

    // The target down: the connection is cut, counted as an upstream error.
    await new Promise<void>((resolve) =>
      target.server.close(() => {
        resolve();
      }),
    );
    target.server.closeAllConnections();
    await assert.rejects(post('/internal/replicate', '{"a":4}'));
    assert.equal(proxy.stats.upstreamErrors, 1);
  } finally {
    await proxy.close();
    target.server.closeAllConnections();
    target.server.close();
  }
});
