import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { systemClock } from '../adapters/clock.js';
import { createServer } from '../http/create-server.js';
import type { ClusterState } from './client/cluster-wire.js';
import { registerClusterDashboard } from './cluster-routes.js';
import { RoleChangeFeed } from './role-change-feed.js';
import { SecondaryCallError, type CallSecondary, type SecondaryCall } from './secondary-client.js';

const TOKEN = 'cluster-route-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const limits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 1024,
  maxInflightBodyBytes: 64 * 1024 * 1024,
};

let assetsDir: string;
before(() => {
  assetsDir = mkdtempSync(join(tmpdir(), 'rlog-cluster-assets-'));
  writeFileSync(join(assetsDir, 'index.html'), '<title>fixed master</title>');
  writeFileSync(join(assetsDir, 'cluster.html'), '<title>cluster</title>');
});
after(() => {
  rmSync(assetsDir, { recursive: true, force: true });
});

/** Node b of a, b; a answers its health and takes faults; "gone" is in PEERS but down. */
function server() {
  const calls: (SecondaryCall & { readonly url: string })[] = [];
  const call: CallSecondary = (url, request) => {
    calls.push({ url, ...request });
    if (url === 'http://gone') return Promise.reject(new SecondaryCallError('refused'));
    const text =
      request.path === '/health'
        ? JSON.stringify({
            failover: true,
            role: 'master',
            epoch: 4,
            master: { name: 'a' },
            log: { lastId: 1, commitId: 1 },
          })
        : JSON.stringify({ node: 'a', fault: request.path.slice('/admin/'.length) });
    const status = request.path === '/health' ? 200 : 202;
    return Promise.resolve({
      status,
      contentType: 'application/json; charset=utf-8',
      retryAfter: undefined,
      text,
    });
  };
  const app = createServer({
    logger: pino({ enabled: false }),
    clock: systemClock,
    maxBodyBytes: 1 << 20,
    maxMessageBytes: 1024,
    limits,
  });
  registerClusterDashboard(app, {
    node: {
      config: {
        self: 'b',
        peers: [
          { name: 'a', url: 'http://a' },
          { name: 'b', url: 'http://b' },
          { name: 'gone', url: 'http://gone' },
        ],
      },
      health: () => ({
        role: 'secondary',
        epoch: 4,
        master: { name: 'a' },
        log: { lastId: 1, commitId: 1 },
      }),
    },
    feed: new RoleChangeFeed(systemClock),
    clusterToken: TOKEN,
    logger: pino({ enabled: false }),
    clock: systemClock,
    assetsDir,
    call,
  });
  return { app, calls };
}

void describe('the failover dashboard routes', () => {
  void it('serve the cluster page and the whole cluster once', async () => {
    const { app } = server();
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<title>cluster<\/title>/);
    const answer = await app.inject({ method: 'GET', url: '/dashboard/state' });
    const state = answer.json<ClusterState>();
    assert.deepEqual(
      [state.kind, state.self, state.master, state.epoch],
      ['failover', 'b', 'a', 4],
    );
    assert.deepEqual(
      state.nodes.map((view) => view.reach),
      ['reachable', 'reachable', 'unreachable'],
    );
    assert.equal(state.faultsNeedToken, true);
    await app.close();
  });

  void it('forward Kill and Stop to the named node, with its answer', async () => {
    const { app, calls } = server();
    const kill = await app.inject({ method: 'POST', url: '/admin/nodes/a/kill', headers: auth });
    assert.equal(kill.statusCode, 202);
    assert.deepEqual(kill.json(), { node: 'a', fault: 'kill' });
    const stop = await app.inject({
      method: 'POST',
      url: '/admin/nodes/a/stop',
      headers: auth,
      payload: { durationMs: 10_000 },
    });
    assert.equal(stop.statusCode, 202);
    assert.deepEqual(
      calls.map((sent) => [sent.url, sent.method, sent.path, sent.body]),
      [
        ['http://a', 'POST', '/admin/kill', undefined],
        ['http://a', 'POST', '/admin/stop', '{"durationMs":10000}'],
      ],
    );
    await app.close();
  });

  void it('refuse without the token, name the nodes for a stranger, 502 for a dead node', async () => {
    const { app, calls } = server();
    const anonymous = await app.inject({ method: 'POST', url: '/admin/nodes/a/kill' });
    assert.equal(anonymous.statusCode, 401);
    const stranger = await app.inject({
      method: 'POST',
      url: '/admin/nodes/zz/kill',
      headers: auth,
    });
    assert.equal(stranger.statusCode, 404);
    assert.match(stranger.body, /the nodes are: a, b, gone/);
    const dead = await app.inject({ method: 'POST', url: '/admin/nodes/gone/kill', headers: auth });
    assert.equal(dead.statusCode, 502);
    assert.deepEqual(
      calls.map((sent) => sent.url),
      ['http://gone'],
    );
    await app.close();
  });
});
