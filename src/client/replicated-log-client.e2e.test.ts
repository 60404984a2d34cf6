/**
 * The client against a real cluster (src/launcher): through a proxy that kills the connection
 * after the master has taken each append, so that every append's outcome is unknown to the
 * client; its retry with the same key must never make a second entry.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { withCluster } from '../e2e/harness.js';
import { ReplicatedLogClient, ReplicatedLogError } from './index.js';

interface CuttingProxy {
  readonly url: string;
  /** Requests the master answered but the client never saw. */
  cut: number;
  close(): Promise<void>;
}

/**
 * Forwards each request to `target`; for the first request carrying a given Idempotency-Key it
 * waits for the master's answer, then destroys the client's connection instead of answering.
 */
async function cuttingProxy(target: string): Promise<CuttingProxy> {
  const seenKeys = new Set<string>();
  const proxy = { url: '', cut: 0, close: (): Promise<void> => Promise.resolve() };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void forward(request.method ?? 'GET', request.url ?? '/', request.headers, chunks).then(
        async (answer) => {
          const key = request.headers['idempotency-key'];
          if (typeof key === 'string' && !seenKeys.has(key)) {
            seenKeys.add(key);
            proxy.cut++;
            request.socket.destroy();
            return;
          }
          response.writeHead(answer.status, { 'content-type': 'application/json' });
          response.end(await answer.text());
        },
      );
    });
  });
  const forward = (
    method: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
    chunks: Buffer[],
  ): Promise<Response> => {
    const sent: Record<string, string> = {};
    for (const name of ['content-type', 'idempotency-key', 'authorization']) {
      const value = headers[name];
      if (typeof value === 'string') sent[name] = value;
    }
    return fetch(`${target}${path}`, {
      method,
      headers: sent,
      ...(method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
    });
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  };
  return proxy;
}

test('a retry after a killed connection replays the append: never a second entry', async () => {
  await withCluster({}, async (cluster) => {
    const proxy = await cuttingProxy(cluster.master.url);
    try {
      const client = new ReplicatedLogClient({
        url: proxy.url,
        retry: { baseDelayMs: 5, maxDelayMs: 50 },
      });
      const single = [];
      for (let index = 0; index < 10; index++) {
        single.push(await client.append(`single ${index}`, { w: index % 3 === 0 ? 'all' : 2 }));
      }
      const batch = await client.appendBatch(['batch a', 'batch b', 'batch c'], { w: 'majority' });
      assert.equal(proxy.cut, 11, 'the first answer of every append was cut');
      for (const result of [...single, batch]) {
        assert.equal(result.attempts, 2);
        assert.equal(result.replayed, true);
      }
      assert.deepEqual(
        single.map((result) => result.entry.id),
        Array.from({ length: 10 }, (_, index) => index + 1),
      );
      assert.deepEqual(
        batch.entries.map((entry) => entry.id),
        [11, 12, 13],
      );
      const log = await new ReplicatedLogClient(cluster.master.url).read();
      assert.equal(log.length, 13, 'one entry per message, none twice');
      assert.equal(new Set(log.map((entry) => entry.message)).size, 13);
    } finally {
      await proxy.close();
    }
  });
});

test('reads, one entry and health of a real cluster, typed; a refusal carries code and status', async () => {
  await withCluster({}, async (cluster) => {
    const client = new ReplicatedLogClient(cluster.master.url);
    const { entry } = await client.append('hello', { w: 'all' });
    const health = await client.health();
    assert.equal(health.role, 'master');
    assert.equal(health.log.lastId, entry.id);
    assert.deepEqual(
      health.secondaries?.map((peer) => peer.name),
      ['sub1', 'sub2'],
    );
    const sub1 = client.at(cluster.node('sub1').url);
    assert.deepEqual(await sub1.get(entry.id), entry);
    assert.deepEqual(await sub1.read({ since: 0, limit: 5 }), [entry]);
    assert.equal((await sub1.health()).role, 'secondary');
    await assert.rejects(client.get(99), { code: 'NOT_FOUND', status: 404 });
    await assert.rejects(client.append('too many', { w: 9 }), (error: unknown) => {
      assert.ok(error instanceof ReplicatedLogError);
      assert.equal(error.code, 'INVALID_REQUEST');
      assert.equal(error.attempts, 1);
      assert.match(error.message, /w must be an integer from 1 to 3/);
      return true;
    });
    // A secondary answers 421 naming the master: the append follows it there, once.
    const redirected = await sub1.append('to a secondary', { w: 'all' });
    assert.equal(redirected.node, cluster.master.url);
    assert.equal(redirected.entry.id, entry.id + 1);
    assert.equal(sub1.masterUrl, cluster.master.url);
    await assert.rejects(
      new ReplicatedLogClient({ url: cluster.node('sub2').url, maxRedirects: 0 }).append('no'),
      { code: 'NOT_MASTER', status: 421 },
    );
  });
});
