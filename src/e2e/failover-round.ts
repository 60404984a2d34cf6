/**
 * The failover round, one scenario for `npm test` (src/e2e/failover.test.ts) and
 * `npm run bench:failover` (src/bench/failover.ts): three failover nodes as real processes
 * (FSYNC=always, each its own data directory), writers appending w="majority" (and a share w=1)
 * through the typed client that knows every node; then, N times: find the master through
 * GET /health, kill -9 it, time the kill to the first append acknowledged by another node, restart
 * the killed node on its data directory, and wait until every node has converged on one log. Every
 * node's log is read all along; at the end the history, every node's final log and rollbacks go
 * through the history checker (F1–F5). Every wait is bounded.
 */
import { performance } from 'node:perf_hooks';
import { checkHistory } from '../checker/check-history.js';
import { majorityAcknowledged } from '../checker/check-failover.js';
import type { FailoverRecord, History, Violation } from '../checker/history.js';
import { Observer } from '../chaos/chaos.js';
import { Prng } from '../core/prng.js';
import { LocalCluster } from '../launcher/cluster.js';
import type { Env, NodeProcess } from '../launcher/node-process.js';
import {
  describe,
  failoverRecord,
  healthOf,
  waitForConvergence,
  waitForMaster,
} from './failover-cluster.js';
import { FailoverLoad } from './failover-load.js';
import { waitFor } from './harness.js';

export interface FailoverRoundsOptions {
  /** Kills of the master, one per round. */
  readonly kills: number;
  /** Concurrent writers (default 3). */
  readonly writers?: number;
  /** The share of appends with w=1 (default 0.2); the others ask w="majority". */
  readonly minorityShare?: number;
  /** Bound on each wait of a round: for a master, an acknowledgement, convergence (default 20 s). */
  readonly stepTimeoutMs?: number;
  /** Appends acknowledged by the master before it is killed (default 20). */
  readonly acksBeforeKill?: number;
  /** Pause between two reads of one node's log (default 300 ms). */
  readonly observeIntervalMs?: number;
  /** More environment for every node (ELECTION_TIMEOUT_MS, LOG_LEVEL, ...). */
  readonly env?: Env;
  readonly seed?: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface KillRound {
  readonly round: number;
  readonly killed: string;
  readonly epochBefore: number;
  /** The master found after the kill, and its epoch. */
  readonly newMaster: string;
  readonly epochAfter: number;
  /** From the kill -9 to the first append acknowledged by another node. */
  readonly killToAckMs: number;
  /** From the kill -9 until another node's GET /health said master, status ok (polled: 100 ms). */
  readonly killToMasterMs: number;
  /** From the killed node's restart until every node converged. */
  readonly rejoinMs: number;
  /** The killed node's role once converged (a node that comes back does not depose: F7). */
  readonly rejoinedAs: string;
}

export interface FailoverFigures {
  readonly appends: number;
  readonly majorityAcknowledged: number;
  readonly minorityAcknowledged: number;
  readonly stored: number;
  readonly unknown: number;
  readonly refused: number;
  /** Majority-acknowledged appends missing from some node's final log (F1: must be 0). */
  readonly majorityLost: number;
  /** Minority-acknowledged appends listed at some node's GET /admin/rollbacks (F3). */
  readonly minorityRolledBack: number;
  /** Every entry the nodes list at GET /admin/rollbacks. */
  readonly rolledBackEntries: number;
  /** Epochs begun during the run (the master's epoch at the end minus at the start). */
  readonly epochs: number;
  readonly finalLength: number;
  /** Appends that ended in an error, by code. */
  readonly failures: Readonly<Record<string, number>>;
}

export interface FailoverRoundsResult {
  readonly rounds: readonly KillRound[];
  readonly history: History;
  readonly violations: readonly Violation[];
  readonly figures: FailoverFigures;
  /** The nodes' recent output. */
  readonly diagnostics: string;
}

const DEFAULT_STEP_TIMEOUT_MS = 20_000;
/** A node's start, bounded; generous, as it replays its durable log. */
const START_TIMEOUT_MS = 30_000;

/** Runs the rounds; stops every process and removes the data directories on every way out. */
export async function runFailoverRounds(
  options: FailoverRoundsOptions,
): Promise<FailoverRoundsResult> {
  const log = options.log ?? ((): void => undefined);
  const cluster = await launchCluster(options);
  let load: FailoverLoad | undefined;
  let observer: Observer | undefined;
  try {
    const nodes = cluster.nodes;
    const step = options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
    const first = await waitForMaster(nodes, step, options.signal);
    log(
      `cluster: ${nodes.map((node) => `${node.name}=${node.url}`).join(' ')}; master ${first.node.name}`,
    );
    load = new FailoverLoad({
      urls: nodes.map((node) => node.url),
      writers: options.writers ?? 3,
      prefix: `failover-${Date.now().toString(36)}`,
      minorityShare: options.minorityShare ?? 0.2,
      random: new Prng(options.seed ?? 1),
    });
    observer = new Observer(nodes, { markRestarts: true });
    observer.start(options.observeIntervalMs ?? 300, Number.POSITIVE_INFINITY);
    const rounds = await killRounds(nodes, load, options, log);
    const judged = await judgeRun(nodes, load, observer, first.health.epoch, options);
    return { rounds, ...judged, diagnostics: cluster.dump(40) };
  } catch (error) {
    throw await failureWithState(error, cluster, load);
  } finally {
    await load?.stop(0);
    await observer?.stop();
    await cluster.stop();
  }
}

/** Three failover nodes as real processes, each on its own temporary data directory. */
function launchCluster(options: FailoverRoundsOptions): Promise<LocalCluster> {
  return LocalCluster.launch(
    {
      secondaries: 2,
      failover: true,
      dataDirs: { temporary: 'rlog-failover-' },
      env: { FSYNC: 'always', LOG_LEVEL: 'warn', ...options.env },
    },
    {
      timeoutMs: START_TIMEOUT_MS,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    },
  );
}

/** The rounds one after the other, a progress line after each. */
async function killRounds(
  nodes: readonly NodeProcess[],
  load: FailoverLoad,
  options: FailoverRoundsOptions,
  log: (line: string) => void,
): Promise<KillRound[]> {
  const rounds: KillRound[] = [];
  for (let round = 1; round <= options.kills; round++) {
    const done = await killRound(round, nodes, load, options);
    rounds.push(done);
    log(
      `round ${round}: killed ${done.killed} (epoch ${done.epochBefore}); ${done.newMaster} master in epoch ${done.epochAfter}, first ack ${Math.round(done.killToAckMs)} ms after the kill; ${done.killed} back as ${done.rejoinedAs}, converged ${Math.round(done.rejoinMs)} ms after its restart`,
    );
  }
  return rounds;
}

/**
 * Stops the load, lets the nodes converge, observes each once more, and judges the history with
 * every node's final log and rollbacks.
 */
async function judgeRun(
  nodes: readonly NodeProcess[],
  load: FailoverLoad,
  observer: Observer,
  firstEpoch: number,
  options: FailoverRoundsOptions,
): Promise<Pick<FailoverRoundsResult, 'history' | 'violations' | 'figures'>> {
  const step = options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  await load.stop(performance.now() + step);
  await observer.stop();
  await waitForConvergence(nodes, step, options.signal);
  for (const node of nodes) await observer.observe(node);
  const final = await waitForMaster(nodes, step, options.signal);
  const failover = await failoverRecord(nodes);
  const history: History = {
    appends: load.operations,
    observations: observer.observations,
    master: final.node.name,
    nodes: nodes.map((node) => node.name),
    healed: true,
    failover,
  };
  const violations = checkHistory(history);
  const figures = {
    ...figuresOf(history, failover, final.health.epoch - firstEpoch),
    failures: { ...load.failures },
  };
  return { history, violations, figures };
}

/** The error, with what the nodes said and did, for the one who reads the failure. */
async function failureWithState(
  error: unknown,
  cluster: LocalCluster,
  load: FailoverLoad | undefined,
): Promise<Error> {
  const state = await describe(cluster.nodes).catch(() => 'no state');
  const failures = JSON.stringify(load?.failures ?? {});
  return new Error(
    `${(error as Error).message}\nnodes now: ${state}\nappend errors: ${failures}\n${cluster.dump(60)}`,
    { cause: error },
  );
}

/** One round: kill -9 the master now, time the first acknowledgement elsewhere, restart, converge. */
async function killRound(
  round: number,
  nodes: readonly NodeProcess[],
  load: FailoverLoad,
  options: FailoverRoundsOptions,
): Promise<KillRound> {
  const step = options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  const { node: master, health } = await waitForMaster(nodes, step, options.signal);
  const since = performance.now();
  const wanted = options.acksBeforeKill ?? 20;
  await waitFor(
    () =>
      load.acknowledgements.filter((ack) => ack.at > since && ack.node === master.url).length >=
      wanted,
    step,
    `round ${round}: ${wanted} appends acknowledged by the master ${master.name} before its kill`,
  );
  const killedAt = performance.now();
  await master.kill();
  const others = nodes.filter((node) => node !== master);
  const elected = waitForMaster(others, step, options.signal).then(() => performance.now());
  const ack = await waitFor(
    () => load.firstAcknowledgementAfter(killedAt, master.url),
    step,
    `round ${round}: an append acknowledged by another node after the kill of ${master.name}`,
  );
  const electedAt = await elected;
  const next = await waitForMaster(nodes, step, options.signal);
  const restartedAt = performance.now();
  await master.start(START_TIMEOUT_MS);
  // No new appends while the nodes converge (under load the logs never stand still).
  load.hold();
  try {
    await waitFor(() => load.inFlight === 0, step, `round ${round}: appends in flight to finish`);
    await waitForConvergence(nodes, step, options.signal);
  } finally {
    load.release();
  }
  return {
    round,
    killed: master.name,
    epochBefore: health.epoch,
    newMaster: next.node.name,
    epochAfter: next.health.epoch,
    killToAckMs: ack.at - killedAt,
    killToMasterMs: electedAt - killedAt,
    rejoinMs: performance.now() - restartedAt,
    rejoinedAs: (await healthOf(master))?.role ?? 'no answer',
  };
}

function figuresOf(
  history: History,
  failover: FailoverRecord,
  epochs: number,
): Omit<FailoverFigures, 'failures'> {
  const size = failover.clusterSize;
  const listed = new Set(failover.rolledBack.map((entry) => entry.message));
  const finals = Object.values(failover.finalLogs).map(
    (entries) => new Map(entries.map((entry) => [entry.id, entry.message])),
  );
  let majority = 0;
  let minority = 0;
  let majorityLost = 0;
  let minorityRolledBack = 0;
  const count = { stored: 0, unknown: 0, refused: 0 };
  for (const operation of history.appends) {
    const outcome = operation.outcome;
    if (outcome.kind !== 'ok') {
      count[outcome.kind]++;
      continue;
    }
    if (majorityAcknowledged(operation, size)) {
      majority++;
      const kept = outcome.ids.every((id, i) =>
        finals.every((final) => final.get(id) === operation.messages[i]),
      );
      if (!kept) majorityLost++;
    } else {
      minority++;
      if (operation.messages.some((message) => listed.has(message))) minorityRolledBack++;
    }
  }
  return {
    appends: history.appends.length,
    majorityAcknowledged: majority,
    minorityAcknowledged: minority,
    ...count,
    majorityLost,
    minorityRolledBack,
    rolledBackEntries: failover.rolledBack.length,
    epochs,
    finalLength: Math.max(0, ...Object.values(failover.finalLogs).map((entries) => entries.length)),
  };
}
