/**
 * Partitions of a failover cluster of real processes, through the nodes' own fault injection
 * (`PUT /admin/faults {"partitioned":true}` cuts a node from the other nodes; clients still reach
 * it). Two properties of the contract that the kill rounds do not show:
 * - F7: a secondary that was away (cut off for several election timeouts) comes back without
 *   deposing the master, which kept its majority: same master, same epoch.
 * - F2, with clients on both sides: a master cut off from the majority acknowledges no majority
 *   write, and answers the appends waiting on it (those without a timeoutMs too) with 504 as it
 *   steps down; the majority elects another master, which takes appends; once healed, the old
 *   master follows the new one and holds what it acknowledged.
 * Waits are bounded only so that a stuck cluster fails; nothing asserts on speed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LocalCluster } from '../launcher/cluster.js';
import type { NodeProcess } from '../launcher/node-process.js';
import { healthOf, waitForConvergence, waitForMaster } from './failover-cluster.js';
import { request, sleep, waitFor } from './harness.js';

const ELECTION_TIMEOUT_MS = 600;
const BOUND_MS = 20_000;

let cluster: LocalCluster;

before(async () => {
  cluster = await LocalCluster.launch({
    secondaries: 2,
    failover: true,
    dataDirs: { temporary: 'rlog-failover-partition-' },
    env: { FAULT_INJECTION: 'true', ELECTION_TIMEOUT_MS: String(ELECTION_TIMEOUT_MS) },
  });
});

after(async () => {
  await cluster.stop();
});

async function partition(node: NodeProcess, partitioned: boolean): Promise<void> {
  const answer = await request(`${node.url}/admin/faults`, {
    method: 'PUT',
    json: { partitioned },
  });
  assert.equal(answer.status, 200, answer.text);
}

async function append(node: NodeProcess, message: string, timeoutMs: number) {
  return request<{ log?: { id: number }; error?: { code: string } }>(`${node.url}/logs`, {
    json: { message, w: 'majority', timeoutMs },
    timeoutMs: timeoutMs + 2000,
  });
}

test('every node serves /metrics in every role, and stays up', async () => {
  const master = await waitForMaster(cluster.nodes, BOUND_MS);
  for (const node of cluster.nodes) {
    const answer = await request<string>(`${node.url}/metrics`);
    assert.equal(answer.status, 200, `${node.name}: ${answer.text.slice(0, 200)}`);
    assert.match(answer.text, /^rlog_epoch \d+$/m, `${node.name} exposes its epoch`);
    const role = node === master.node ? 'master' : 'secondary';
    assert.match(answer.text, new RegExp(`^rlog_role\\{role="${role}"\\} 1$`, 'm'), node.name);
  }
  // A scrape of a follower once stopped it (its idle master gauges broke an invariant).
  for (const node of cluster.nodes) assert.ok(node.running, `${node.name} still runs`);
});

test('F7: a secondary back from a partition does not depose the master', async () => {
  const before = await waitForMaster(cluster.nodes, BOUND_MS);
  const away = cluster.nodes.find((node) => node !== before.node)!;
  await partition(away, true);
  // Several election timeouts: the node away has long stopped hearing the master.
  await sleep(5 * ELECTION_TIMEOUT_MS);
  await partition(away, false);
  // It hears the master again and follows it, in the same epoch.
  const back = await waitFor(
    async () => {
      const health = await healthOf(away);
      return health?.role === 'secondary' && health.master !== null ? health : undefined;
    },
    BOUND_MS,
    `${away.name} following a master again`,
    100,
  );
  await waitForConvergence(cluster.nodes, BOUND_MS);
  const after = await waitForMaster(cluster.nodes, BOUND_MS);
  assert.equal(after.node.name, before.node.name, 'the master kept its role');
  assert.equal(after.health.epoch, before.health.epoch, 'no election happened');
  assert.equal(back.master?.name, before.node.name);
  assert.equal(back.epoch, before.health.epoch);
});

test('F2: a master cut off from the majority acknowledges no majority write; the majority moves on', async () => {
  const old = await waitForMaster(cluster.nodes, BOUND_MS);
  await partition(old.node, true);
  // A client on the old master's side: its majority append can never be acknowledged.
  const cutOff = append(old.node, 'sent to the master cut off', 4 * ELECTION_TIMEOUT_MS);
  // One without timeoutMs: nothing but the step-down can answer it (it once waited forever).
  const untimed = request<{ acks?: number; error?: { code: string } }>(`${old.node.url}/logs`, {
    json: { message: 'sent to the master cut off, no timeout', w: 'majority' },
    timeoutMs: BOUND_MS,
  });
  // Clients on the majority's side: an append goes through once they elected a master.
  const others = cluster.nodes.filter((node) => node !== old.node);
  const elected = await waitFor(
    async () => {
      const found = await waitForMaster(others, BOUND_MS);
      return found.health.epoch > old.health.epoch ? found : undefined;
    },
    BOUND_MS,
    'a master of a higher epoch on the majority side',
    100,
  );
  const accepted = await append(elected.node, 'sent to the new master', 10_000);
  assert.equal(accepted.status, 201, accepted.text);
  const stepDown = await untimed;
  assert.equal(stepDown.status, 504, stepDown.text);
  assert.equal(stepDown.body.error?.code, 'WRITE_CONCERN_TIMEOUT', stepDown.text);
  assert.equal(stepDown.body.acks, 1, 'only the master itself is known to hold it');
  const refused = await cutOff;
  assert.notEqual(refused.status, 201, `the cut-off master acknowledged: ${refused.text}`);
  assert.notEqual(refused.status, 200, `the cut-off master acknowledged: ${refused.text}`);
  await partition(old.node, false);
  await waitForConvergence(cluster.nodes, BOUND_MS);
  const rejoined = await healthOf(old.node);
  assert.equal(rejoined?.role, 'secondary', 'the old master follows the new one');
  assert.equal(rejoined.epoch, elected.health.epoch);
  const id = accepted.body.log?.id ?? 0;
  for (const node of cluster.nodes) {
    const entry = await request<{ message: string }>(`${node.url}/logs/${id}`);
    assert.equal(entry.body.message, 'sent to the new master', `${node.name} at id ${id}`);
  }
});
