/**
 * What a test needs to know about a failover cluster of real processes, read the way an operator
 * would: which node is master now (GET /health of every node: `LocalCluster.master` is only the
 * node NAMED master), whether every node has converged on one log, and at the end every node's
 * log and the entries it lists at GET /admin/rollbacks, for the history checker (F1–F5).
 */
import type { FailoverRecord, LoggedEntry } from '../checker/history.js';
import type { NodeProcess } from '../launcher/node-process.js';
import { request, sleep } from './harness.js';

/** The fields of a failover node's GET /health these runs read. */
export interface FailoverNodeHealth {
  readonly role: 'master' | 'secondary' | 'candidate';
  readonly status: string;
  readonly epoch: number;
  readonly master: { readonly name: string; readonly url: string } | null;
  readonly log: { readonly lastId: number; readonly commitId: number };
}

const HEALTH_TIMEOUT_MS = 2000;
const LOG_READ_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

/** A node's health, or undefined when it is down, paused or does not answer in time. */
export async function healthOf(node: NodeProcess): Promise<FailoverNodeHealth | undefined> {
  if (!node.running || node.paused) return undefined;
  try {
    const answer = await request<FailoverNodeHealth>(`${node.url}/health`, {
      timeoutMs: HEALTH_TIMEOUT_MS,
    });
    return answer.status === 200 ? answer.body : undefined;
  } catch {
    return undefined;
  }
}

/** The node that says it is master and accepts appends (status ok) now, if one does. */
export async function masterNow(
  nodes: readonly NodeProcess[],
): Promise<{ readonly node: NodeProcess; readonly health: FailoverNodeHealth } | undefined> {
  const healths = await Promise.all(nodes.map(healthOf));
  let found: { node: NodeProcess; health: FailoverNodeHealth } | undefined;
  for (const [index, health] of healths.entries()) {
    if (health?.role !== 'master' || health.status !== 'ok') continue;
    // Two nodes saying master (an old one not yet told): the higher epoch is the current one.
    if (found === undefined || health.epoch > found.health.epoch)
      found = { node: nodes[index]!, health };
  }
  return found;
}

/** Waits (bounded) for a master that accepts appends; throws naming every node's state. */
export async function waitForMaster(
  nodes: readonly NodeProcess[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ readonly node: NodeProcess; readonly health: FailoverNodeHealth }> {
  const deadline = performance.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    signal?.throwIfAborted();
    const found = await masterNow(nodes);
    if (found !== undefined) return found;
    if (performance.now() >= deadline) break;
    await sleep(POLL_MS);
  }
  throw new Error(
    `no node was master (status ok) within ${timeoutMs} ms: ${await describe(nodes)}`,
  );
}

/** One line per node: role, epoch, master, lastId/commitId, or why it did not answer. */
export async function describe(nodes: readonly NodeProcess[]): Promise<string> {
  const healths = await Promise.all(nodes.map(healthOf));
  return nodes
    .map((node, index) => {
      const health = healths[index];
      if (health === undefined)
        return `${node.name}: ${node.running ? (node.paused ? 'paused' : 'no answer') : 'down'}`;
      return `${node.name}: ${health.role} (${health.status}) epoch ${health.epoch}, master ${health.master?.name ?? 'none'}, lastId ${health.log.lastId}, commitId ${health.log.commitId}`;
    })
    .join('; ');
}

/**
 * Converged: every node up, one master, every other node its secondary, every node's lastId and
 * commitId equal to the master's, and every node's GET /logs the same. Returns the log's length.
 */
export async function converged(nodes: readonly NodeProcess[]): Promise<number | undefined> {
  const healths = await Promise.all(nodes.map(healthOf));
  const master = healths.find((health) => health?.role === 'master');
  if (master === undefined) return undefined;
  for (const health of healths) {
    if (health === undefined || health.epoch !== master.epoch) return undefined;
    if (health.log.lastId !== master.log.lastId || health.log.commitId !== master.log.lastId)
      return undefined;
  }
  const logs = await Promise.all(nodes.map(readLog));
  const reference = JSON.stringify(logs[0]);
  return logs.every((entries) => JSON.stringify(entries) === reference)
    ? master.log.lastId
    : undefined;
}

/** Waits (bounded) until `converged`; throws naming every node's state. */
export async function waitForConvergence(
  nodes: readonly NodeProcess[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    signal?.throwIfAborted();
    const length = await converged(nodes).catch(() => undefined);
    if (length !== undefined) return length;
    if (performance.now() >= deadline) break;
    await sleep(POLL_MS * 2);
  }
  throw new Error(`the nodes did not converge within ${timeoutMs} ms: ${await describe(nodes)}`);
}

/** A node's whole visible log (GET /logs); throws when it does not answer 200. */
export async function readLog(node: NodeProcess): Promise<LoggedEntry[]> {
  const answer = await request<LoggedEntry[]>(`${node.url}/logs`, {
    timeoutMs: LOG_READ_TIMEOUT_MS,
  });
  if (answer.status !== 200 || !Array.isArray(answer.body))
    throw new Error(`GET ${node.url}/logs answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  return answer.body.map(({ id, message }) => ({ id, message }));
}

interface RollbacksBody {
  readonly rolledBackEntries: number;
  readonly rollbacks: readonly { readonly entries: readonly LoggedEntry[] }[];
}

/** The entries a node lists at GET /admin/rollbacks (no cluster token: test clusters have none). */
export async function rollbacksOf(node: NodeProcess): Promise<LoggedEntry[]> {
  const answer = await request<RollbacksBody>(`${node.url}/admin/rollbacks`, {
    timeoutMs: LOG_READ_TIMEOUT_MS,
  });
  if (answer.status !== 200)
    throw new Error(`GET ${node.url}/admin/rollbacks answered ${answer.status}: ${answer.text}`);
  return answer.body.rollbacks.flatMap((rollback) =>
    rollback.entries.map(({ id, message }) => ({ id, message })),
  );
}

/** Every node's final log and rollbacks, for `History.failover`. */
export async function failoverRecord(nodes: readonly NodeProcess[]): Promise<FailoverRecord> {
  const finalLogs: Record<string, LoggedEntry[]> = {};
  const rolledBack: (LoggedEntry & { node: string })[] = [];
  for (const node of nodes) {
    finalLogs[node.name] = await readLog(node);
    for (const entry of await rollbacksOf(node)) rolledBack.push({ ...entry, node: node.name });
  }
  return { clusterSize: nodes.length, finalLogs, rolledBack };
}
