/**
 * The cluster token: internal and admin endpoints refuse requests without it, so a client cannot
 * write into a secondary's log; replication with the token works (docs/API.md "Internal
 * endpoints", "Fault injection").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request, waitFor, withCluster, type ErrorBody, type SecondaryHealth } from './harness.js';

const TOKEN = 's3cret-cluster-token';

test('CLUSTER_TOKEN: internal and admin endpoints answer 401 without the right token; replication works with it', async () => {
  await withCluster(
    { token: TOKEN, secondaries: 2, secondaryEnv: { FAULT_INJECTION: 'true' } },
    async (cluster) => {
      const sub1 = cluster.node('sub1');
      const forged = {
        logId: 'forged-log',
        epoch: 1,
        fromId: 1,
        epochs: [1],
        messages: ['forged entry'],
      };
      const heartbeat = { logId: 'forged-log', epoch: 1, lastId: 1 };
      const wrongHeaders: [string, Record<string, string>][] = [
        ['no Authorization', {}],
        ['wrong token', { authorization: 'Bearer not-the-token' }],
        ['token without Bearer', { authorization: TOKEN }],
        ['token with a suffix', { authorization: `Bearer ${TOKEN}x` }],
        [
          'Basic scheme',
          { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
        ],
      ];
      for (const [what, headers] of wrongHeaders) {
        for (const [path, json, method] of [
          ['/internal/replicate', forged, 'POST'],
          ['/internal/heartbeat', heartbeat, 'POST'],
          ['/admin/faults', { partitioned: true }, 'PUT'],
          ['/admin/faults', undefined, 'GET'],
        ] as const) {
          const answer = await request<ErrorBody>(`${sub1.url}${path}`, {
            method,
            ...(json === undefined ? {} : { json }),
            headers,
          });
          assert.equal(answer.status, 401, `${method} ${path} with ${what}: ${answer.text}`);
          assert.equal(answer.body.status, 'error');
          assert.equal(answer.body.error.code, 'UNAUTHORIZED');
        }
      }
      // Nothing was stored, no fault was set.
      assert.deepEqual(await cluster.logs(sub1), []);
      const health = await request<SecondaryHealth>(`${sub1.url}/health`);
      assert.equal(health.body.log.lastId, 0);
      assert.equal(health.body.log.pending, 0);
      const faults = await request<{ partitioned: boolean }>(`${sub1.url}/admin/faults`, {
        headers: cluster.authHeaders(),
      });
      assert.equal(faults.status, 200, faults.text);
      assert.equal(faults.body.partitioned, false);

      // The master, which has the token, replicates normally.
      const answer = await cluster.append({ message: 'real entry', w: 3 }, { timeoutMs: 10_000 });
      assert.equal(answer.status, 201, answer.text);
      assert.equal(answer.body.acks, 3);
      const log = await cluster.converged(1);
      assert.deepEqual(log, [{ id: 1, message: 'real entry' }]);
      await waitFor(
        async () => (await cluster.health()).secondaries.every((peer) => peer.status === 'Healthy'),
        10_000,
        'secondaries Healthy with the token',
      );

      // Even with the token, entries of another log are never mixed in.
      const foreign = await request(`${sub1.url}/internal/replicate`, {
        method: 'POST',
        json: { ...forged, fromId: 2, epochs: [1], messages: ['foreign entry'] },
        headers: cluster.authHeaders(),
      });
      assert.ok(foreign.status >= 400, `a batch of another log was accepted: ${foreign.text}`);
      assert.deepEqual(await cluster.logs(sub1), [{ id: 1, message: 'real entry' }]);

      // Every /admin/ path on every node, known or not, asks for the token first.
      for (const [node, path, knownAs] of [
        [cluster.master, '/admin/faults', 'FAULT_INJECTION_DISABLED'],
        [cluster.master, '/admin/secondaries/sub1/faults', undefined],
        [cluster.master, '/admin/nothing/here', 'NOT_FOUND'],
        [sub1, '/admin/nothing', 'NOT_FOUND'],
      ] as const) {
        const anonymous = await request<ErrorBody>(`${node.url}${path}`);
        assert.equal(anonymous.status, 401, `${node.name} ${path} without the token`);
        const known = await request<ErrorBody>(`${node.url}${path}`, {
          headers: cluster.authHeaders(),
        });
        if (knownAs === undefined) assert.equal(known.status, 200, known.text);
        else assert.equal(known.body.error.code, knownAs, `${node.name} ${path} with the token`);
      }

      // Public reads and health need no token.
      assert.equal((await request(`${sub1.url}/logs`)).status, 200);
      assert.equal((await request(`${cluster.master.url}/health`)).status, 200);
    },
  );
});

test('a master with the wrong CLUSTER_TOKEN gets nothing into the secondaries', async () => {
  // Secondaries require TOKEN; the master presents another: nothing reaches them.
  await withCluster(
    {
      secondaries: 2,
      secondaryEnv: { CLUSTER_TOKEN: TOKEN },
      masterEnv: { CLUSTER_TOKEN: 'other' },
    },
    async (cluster) => {
      // Stored on the master if it still counts the secondaries, else refused as READ_ONLY.
      const answer = await cluster.append({ message: 'not replicated', w: 1 });
      assert.ok(answer.status === 201 || answer.status === 503, answer.text);
      await cluster.waitForStatus('sub1', 'Unhealthy', 5000);
      await cluster.waitForStatus('sub2', 'Unhealthy', 5000);
      for (const sub of cluster.secondaries) assert.deepEqual(await cluster.logs(sub), []);
      const refused = await cluster.append<ErrorBody>({ message: 'w2', w: 2, timeoutMs: 200 });
      assert.equal(refused.status, 503, refused.text);
      assert.equal(refused.body.error.code, 'READ_ONLY');
      // The dashboard's fault proxy says which token is wrong: not the caller's, the master's.
      const proxied = await request<ErrorBody>(
        `${cluster.master.url}/admin/secondaries/sub1/faults`,
        { headers: { authorization: 'Bearer other' } },
      );
      assert.equal(proxied.status, 502, proxied.text);
      assert.equal(proxied.body.error.code, 'SECONDARY_UNREACHABLE');
      assert.match(proxied.body.error.message, /every node needs the same CLUSTER_TOKEN/);
    },
  );
});
