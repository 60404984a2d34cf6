/**
 * Partitions with iptables inside network namespaces (root, `ip` and iptables needed; skipped
 * loudly with the reason otherwise): sub1 cut off from the master both ways, then one way, while
 * appends are recorded; the master must see sub1 leave Healthy, w=1 appends must work, and after
 * healing the nodes must converge with no violation found by the history checker. Afterwards no
 * namespace, veth or bridge of this process is left.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { checkHistory } from '../checker/check-history.js';
import type { AppendOperation, AppendOutcome, History } from '../checker/history.js';
import { request, sleep, waitFor, type MasterHealth } from '../e2e/harness.js';
import {
  Observer,
  runChaos,
  startChaosCluster,
  stopChaosCluster,
  type ChaosCluster,
} from './chaos.js';
import { leftovers, NetnsLab, netnsSupport } from './netns.js';

const support = await netnsSupport();
const skipReason = support.ok ? undefined : `network namespaces unavailable: ${support.reason}`;
if (skipReason !== undefined) {
  process.stderr.write(`\n*** SKIPPING netns/iptables chaos tests: ${skipReason} ***\n\n`);
}

/** Appends one message with a key and records the operation (retrying unknown outcomes a little). */
async function recordedAppend(
  cluster: ChaosCluster,
  operations: AppendOperation[],
  message: string,
  w: number,
  timeoutMs?: number,
): Promise<AppendOutcome> {
  const invokedAt = performance.now();
  let outcome: AppendOutcome = { kind: 'unknown' };
  let unknown = false;
  const key = `key-${message}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const answer = await request<{
        log?: { id: number };
        acks?: number;
        error?: { code: string };
      }>(`${cluster.master.url}/logs`, {
        json: timeoutMs === undefined ? { message, w } : { message, w, timeoutMs },
        headers: { 'idempotency-key': key },
        timeoutMs: 8000,
      });
      if ([200, 201, 504].includes(answer.status) && answer.body.log !== undefined) {
        outcome = {
          kind: answer.status === 504 ? 'stored' : 'ok',
          ids: [answer.body.log.id],
          w,
          acks: answer.body.acks ?? 0,
        };
      } else {
        const code = answer.body.error?.code ?? `HTTP_${answer.status}`;
        outcome = unknown ? { kind: 'unknown' } : { kind: 'refused', code };
      }
      break;
    } catch {
      unknown = true;
      outcome = { kind: 'unknown' };
      await sleep(100);
    }
  }
  operations.push({
    messages: [message],
    idempotencyKey: key,
    invokedAt,
    completedAt: performance.now(),
    outcome,
  });
  return outcome;
}

async function statusOf(cluster: ChaosCluster, name: string): Promise<string> {
  const health = await request<MasterHealth>(`${cluster.master.url}/health`, { timeoutMs: 3000 });
  return health.body.secondaries.find((peer) => peer.name === name)?.status ?? 'missing';
}

test(
  'netns: iptables partition of sub1 (both ways, then one way): detected, w=1 works, heal converges, no violation',
  { timeout: 120_000 },
  async (t) => {
    if (skipReason !== undefined) {
      t.diagnostic(`SKIPPED: ${skipReason}`);
      t.skip(skipReason);
      return;
    }
    const lab = await NetnsLab.create(['master', 'sub1', 'sub2']);
    let cluster: ChaosCluster | undefined;
    try {
      cluster = await startChaosCluster(2, lab);
      const c = cluster;
      const operations: AppendOperation[] = [];
      const observer = new Observer(c.nodes);
      observer.start(200, performance.now() + 100_000);
      let n = 0;
      const append = (w: number, timeoutMs?: number): Promise<AppendOutcome> =>
        recordedAppend(c, operations, `netns-${n++}`, w, timeoutMs);

      for (let i = 0; i < 5; i++) assert.equal((await append(3)).kind, 'ok');
      const sub1 = lab.ipOf('sub1');
      assert.ok(sub1.startsWith(lab.subnet));

      for (const mode of ['both', 'outbound'] as const) {
        await lab.partition('sub1', [lab.ipOf('master'), lab.proxyIp], mode);
        const rules = await lab.rules('sub1');
        assert.match(rules, /-j DROP/, `no DROP rule in sub1's namespace:\n${rules}`);
        // Reads from the chaos process (the bridge's first address) still reach sub1.
        assert.equal(
          (await request(`${c.secondaries[0]!.url}/health`, { timeoutMs: 3000 })).status,
          200,
        );
        await waitFor(
          async () => (await statusOf(c, 'sub1')) !== 'Healthy',
          20_000,
          `master to see sub1 (${mode}) leave Healthy`,
          50,
        );
        for (let i = 0; i < 5; i++) {
          const outcome = await append(1);
          assert.equal(
            outcome.kind,
            'ok',
            `w=1 under partition (${mode}): ${JSON.stringify(outcome)}`,
          );
          assert.equal((await append(2)).kind, 'ok', `w=2 with sub2 up (${mode})`);
        }
        // w=3 cannot be reached while sub1 is cut off: the entry is stored, not acknowledged.
        const all = await append(3, 400);
        assert.equal(
          all.kind,
          'stored',
          `w=3 with timeoutMs under partition: ${JSON.stringify(all)}`,
        );
        await waitFor(
          async () => (await statusOf(c, 'sub1')) === 'Unhealthy',
          20_000,
          `master to see sub1 (${mode}) Unhealthy`,
          50,
        );
        await lab.heal('sub1');
        await waitFor(
          async () => (await statusOf(c, 'sub1')) === 'Healthy',
          30_000,
          `sub1 Healthy again after healing (${mode})`,
          50,
        );
        assert.equal((await append(3)).kind, 'ok');
      }

      // Converge, then judge the whole history.
      await observer.stop();
      await waitFor(
        async () => {
          const logs = await Promise.all(c.nodes.map((node) => observer.observe(node)));
          const master = JSON.stringify(logs[0]);
          return (
            logs[0] !== undefined && logs.every((entries) => JSON.stringify(entries) === master)
          );
        },
        30_000,
        'every node to show the master log',
        200,
      );
      for (const node of c.nodes) await observer.observe(node);
      const history: History = {
        appends: operations,
        observations: observer.observations,
        master: 'master',
        nodes: c.nodes.map((node) => node.name),
        healed: true,
      };
      assert.deepEqual(checkHistory(history), []);
      assert.equal(
        operations.filter((op) => op.outcome.kind === 'ok').length,
        operations.length - 2,
      );
    } finally {
      if (cluster !== undefined) await stopChaosCluster(cluster);
      await lab.destroy();
    }
    assert.deepEqual(await leftovers(), [], 'namespaces/links left behind');
  },
);

test('netns: a chaos run refused for its fault kinds leaves no namespace, veth or bridge', async (t) => {
  if (skipReason !== undefined) {
    t.diagnostic(`SKIPPED: ${skipReason}`);
    t.skip(skipReason);
    return;
  }
  const refusals = [
    // Refused before the namespaces are made.
    { faults: ['kill-current-master' as const], error: /need failover/ },
    // Refused after they are made (none of the kinds asked for is left): they are removed.
    { faults: [], error: /no fault kind enabled/ },
  ];
  for (const { faults, error } of refusals) {
    await assert.rejects(
      runChaos({ durationMs: 1000, seed: 1, clients: 1, netns: 'on', faults }),
      error,
    );
    assert.deepEqual(await leftovers(), [], `left behind after faults ${JSON.stringify(faults)}`);
  }
});
