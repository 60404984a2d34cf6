import { loadNodeConfig } from '../config/config.js';
import { Prng } from '../core/prng.js';
import { majorityOf } from '../core/quorum.js';
import { refusalError } from '../http/refusals.js';
import type { AppendRequest, AppendResult } from '../node/append-outcome.js';
import type { FailoverNode, RoleChange } from '../node/failover/failover-node.js';
import type { Rollback } from '../node/failover/rollbacks.js';
import { FailoverChecker, type FailoverView } from './failover-checker.js';
import {
  FailoverNemesis,
  LATEST_FAILOVER_NEMESIS,
  type FailoverCluster,
} from './failover-nemesis.js';
import { FailoverProcess, failoverNodeConfigOf } from './failover-process.js';
import { SafetyChecker } from './safety-checker.js';
import { Scheduler } from './scheduler.js';
import {
  SimClient,
  type AppendAnswer,
  type AppendTarget,
  type ClientConfig,
  type ClientOperation,
} from './sim-client.js';
import { CALM_LINK, SimNetwork } from './sim-network.js';
import type { SimWorld } from './sim-nodes.js';
import { SimViolation } from './sim-violation.js';
import { settled, TraceHash } from './sim-trace.js';
import type { SimulationOptions, SimulationStats } from './simulation.js';

const OBSERVE_EVERY_MS = 500;
/** Timers fire at their time; a step may land just after it. */
const TIMER_SLACK_MS = 5;
const TRACE_LINES = Number(process.env['SIM_TRACE_LINES'] ?? 80);
/** After healing, each client sends one last append that must succeed. */
const FINAL_APPENDS_AFTER_HEAL_MS = 6000;
/**
 * After healing, an append acknowledged with w=all is shown on every node within this long of
 * its answer: the commit point reaches a follower with the next request, and a master with no
 * entries to send sends it alone COMMIT_ALONE_AFTER_MS (2 ms) after its last request
 * (`ReplicationProgress`), not with the next heartbeat (a third to a fifth of the election
 * timeout here). Three calm links' delays: the 2 ms and two delays, with room.
 */
const SHOWN_ALL_WITHIN_MS = 3 * CALM_LINK.maxDelayMs;

/** One failover run: the seed picks the cluster (3 or 5 nodes), timings, clients and faults. */
export function runFailoverSimulation(options: SimulationOptions): Promise<SimulationStats> {
  return new FailoverSimulation(options).run();
}

/**
 * The deterministic simulation of a failover cluster (issue 14): every node is the shipped
 * FailoverNode (src/node/failover) over the simulated disk, network and clock, attacked by
 * FailoverNemesis, used by SimClients that follow NOT_MASTER, and checked after every step by
 * FailoverChecker (F1, F2, F4, F5, guarantee 3) and at the end for convergence (F6's second
 * half), F1 on every node and F3's reporting.
 */
class FailoverSimulation implements SimWorld, FailoverCluster, AppendTarget {
  readonly prng: Prng;
  readonly scheduler = new Scheduler();
  readonly network: SimNetwork;
  readonly processes: FailoverProcess[] = [];
  readonly name = 'cluster';
  readonly #options: SimulationOptions;
  readonly #clients: SimClient[] = [];
  readonly #checker: FailoverChecker;
  /** Guarantees 3-6 and 8 on every node, as for the fixed master (the same checker). */
  readonly #safety: SafetyChecker;
  readonly #nemesis: FailoverNemesis;
  readonly #trace: string[] = [];
  readonly #guess = new Map<string, string>();
  readonly #rollbacks: { node: string; rollback: Rollback }[] = [];
  readonly #faultPhaseMs: number;
  readonly #settleMs: number;
  readonly #configLine: string;
  readonly #hash = new TraceHash();
  #fatalError: { error: unknown } | undefined;
  #elections = 0;
  /** When each node became master (this process of it), while it is. */
  readonly #masterSinceMs = new Map<string, number>();
  /** Nodes paused at the last step, and when each was last resumed. */
  readonly #paused = new Set<string>();
  readonly #resumedAtMs = new Map<string, number>();
  readonly #electionTimeoutMs: number;
  #lastWholeCheckMs = 0;

  constructor(options: SimulationOptions) {
    this.#options = options;
    const prng = new Prng(options.seed);
    this.prng = prng;
    this.network = new SimNetwork(this.scheduler, prng);
    this.#faultPhaseMs = options.faultPhaseMs ?? 20_000;
    this.#settleMs = options.settleMs ?? 15_000;
    const size = prng.pick([3, 3, 5]);
    const names = Array.from({ length: size }, (_, index) => `n${index + 1}`);
    const env = this.#env(names);
    this.#checker = new FailoverChecker(size, (guarantee, details) =>
      this.#fail(guarantee, details),
    );
    this.#safety = new SafetyChecker(
      (guarantee, details) => this.#fail(guarantee, details),
      majorityOf(size),
    );
    for (const [index, name] of names.entries()) {
      const role = index === 0 ? 'master' : 'secondary';
      const { config } = loadNodeConfig(role, [], { ...env, NODE_NAME: name });
      if (config.role !== 'failover') throw new Error('FAILOVER=true gave a fixed role');
      this.processes.push(
        new FailoverProcess(this, failoverNodeConfigOf(config), (peer) => this.#serving(peer), {
          roleChanged: (node, change) => {
            this.#roleChanged(node, change);
          },
          voted: (node, epoch, candidate) => {
            const durable = this.#processNamed(node)?.electionDisk.durable;
            this.#checker.voted(node, epoch, candidate, durable);
            this.#crashAfterVote(node, epoch);
          },
          rolledBack: (node, rollback) => {
            this.#rollbacks.push({ node, rollback });
            this.note(
              `${node} rolled back ${rollback.fromId}..${rollback.toId} in epoch ${rollback.epoch}`,
            );
          },
        }),
      );
    }
    this.#clients = this.#makeClients();
    const electionTimeoutMs = Number(env['ELECTION_TIMEOUT_MS']);
    this.#electionTimeoutMs = electionTimeoutMs;
    this.#nemesis = new FailoverNemesis(
      this,
      this.scheduler,
      this.network,
      prng,
      {
        untilMs: this.#faultPhaseMs,
        maxFaults: 40,
        meanGapMs: prng.pick([200, 500, 1000]),
        maxFaultMs: 4 * electionTimeoutMs,
        electionTimeoutMs,
        replicationTimeoutMs: Number(env['REPLICATION_TIMEOUT_MS']),
        version: options.failoverNemesis ?? LATEST_FAILOVER_NEMESIS,
      },
      (line) => {
        this.note(line);
      },
    );
    this.#configLine = `config failover ${JSON.stringify({ names, ...env })}`;
    this.#hash.addString(this.#configLine);
  }

  #env(names: readonly string[]): Record<string, string> {
    const prng = this.prng;
    const electionTimeoutMs = prng.pick([300, 500, 800]);
    return {
      FAILOVER: 'true',
      PEERS: names.map((name) => `${name}=http://${name}.sim:8000`).join(','),
      DATA_DIR: '/sim',
      ELECTION_TIMEOUT_MS: String(electionTimeoutMs),
      HEARTBEAT_INTERVAL_MS: String(Math.floor(electionTimeoutMs / prng.pick([3, 4, 5]))),
      SUSPECT_AFTER_MISSES: '2',
      UNHEALTHY_AFTER_MISSES: String(prng.pick([3, 4])),
      REPLICATION_TIMEOUT_MS: String(prng.pick([200, 400])),
      MAX_INFLIGHT_BATCHES: String(prng.int(1, 4)),
      MAX_BATCH_ENTRIES: String(prng.pick([4, 16, 64])),
      RETRY_BASE_MS: '20',
      RETRY_MAX_MS: String(prng.pick([200, 500])),
      MAX_WAITING_APPENDS: String(prng.pick([3, 64, 100_000])),
      MAX_IDEMPOTENCY_KEYS: '1000000',
      MAX_PENDING_ENTRIES: String(prng.pick([4, 16, 100_000])),
      FAULT_INJECTION: 'true',
    };
  }

  #makeClients(): SimClient[] {
    const prng = this.prng;
    const config: ClientConfig = {
      requestTimeoutMs: 2000,
      maxAttempts: 20,
      meanThinkMs: prng.pick([20, 60, 150]),
    };
    const safety = this.#safety;
    return Array.from({ length: prng.int(2, 4) }, (_, index) => {
      const name = `client${index + 1}`;
      // Clients start at different nodes: some on each side of a partition.
      this.#guess.set(name, prng.pick(this.processes).name);
      return new SimClient(
        name,
        this.scheduler,
        this.network,
        prng,
        this,
        safety,
        config,
        (line) => {
          this.note(line);
        },
      );
    });
  }

  get clients(): readonly string[] {
    return this.#clients.map((client) => client.name);
  }

  get clusterSize(): number {
    return this.processes.length;
  }

  async run(): Promise<SimulationStats> {
    try {
      return await this.#run();
    } catch (error) {
      if (error instanceof SimViolation) throw error;
      const details = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new SimViolation('core invariant', this.#position(), details, [
        this.#configLine,
        ...this.#trace,
      ]);
    }
  }

  async #run(): Promise<SimulationStats> {
    const scheduler = this.scheduler;
    for (const process of this.processes) process.start();
    await settled();
    for (const client of this.#clients) client.runWorkload(this.#faultPhaseMs);
    this.#nemesis.start();
    scheduler.at(this.#faultPhaseMs, undefined, () => {
      this.#nemesis.healAll();
    });
    scheduler.at(this.#faultPhaseMs + FINAL_APPENDS_AFTER_HEAL_MS, undefined, () => {
      this.#finalAppends();
    });
    const endMs = this.#faultPhaseMs + this.#settleMs;
    while (scheduler.step(endMs)) {
      await settled();
      if (this.#fatalError !== undefined) throw this.#fatalError.error;
      this.#hash.addNumber(scheduler.nowMs);
      this.#checker.checkFrontier(this.#views());
      this.#safety.checkStep(this.processes, undefined);
      this.#checkQuorumBound();
      this.#checkLeases();
      if (scheduler.nowMs - this.#lastWholeCheckMs >= OBSERVE_EVERY_MS) {
        this.#lastWholeCheckMs = scheduler.nowMs;
        this.#checker.checkWhole(this.#views());
      }
    }
    this.#checker.checkWhole(this.#views());
    this.#checkLiveness();
    return this.#stats();
  }

  // ---- the cluster, as the nemesis acts on it ---------------------------------------------

  currentMaster(): FailoverProcess | undefined {
    let found: FailoverProcess | undefined;
    for (const process of this.processes) {
      const node = process.node;
      if (node?.electionRole !== 'master') continue;
      if (found === undefined || (found.node?.epoch ?? 0) < node.epoch) found = process;
    }
    return found;
  }

  crash(process: FailoverProcess): void {
    this.#masterSinceMs.delete(process.name);
    const before = process.disk.lastId;
    process.crash();
    const outcome = process.disk.crash(this.scheduler.nowMs, this.prng);
    this.note(
      `crash ${process.name}: disk ${before} -> ${process.disk.lastId} (${outcome.lostRecords} records lost)`,
    );
  }

  restart(process: FailoverProcess): void {
    process.start();
    // A new process shows nothing until a master tells it the commit point: it may show less.
    this.#safety.restarted(process.name, true);
    this.note(`restart ${process.name} holding ${process.disk.lastId}`);
  }

  /**
   * Now and then, a node that just granted its vote dies at once and comes back soon after: if
   * its vote was not durable before the answer left (it must be), it may vote again in the same
   * epoch, for another candidate, and two masters share it (F2).
   */
  #crashAfterVote(node: string, epoch: number): void {
    if (this.scheduler.nowMs >= this.#faultPhaseMs || !this.prng.chance(0.5)) return;
    const process = this.#processNamed(node);
    if (process === undefined) return;
    this.scheduler.after(0, undefined, () => {
      if (!process.up) return;
      this.note(`fault crash-after-vote ${node} (epoch ${epoch})`);
      this.crash(process);
      this.scheduler.after(this.prng.int(1, 30), undefined, () => {
        if (!process.up) this.restart(process);
      });
    });
  }

  // ---- the world, as nodes and clients see it ---------------------------------------------

  #processNamed(name: string): FailoverProcess | undefined {
    return this.processes.find((process) => process.name === name);
  }

  #serving(name: string): FailoverNode | undefined {
    return this.#processNamed(name)?.node;
  }

  nodeFor(client: string): string {
    return this.#guess.get(client) ?? this.processes[0]!.name;
  }

  redirected(client: string, master: string | null): void {
    const next =
      master ??
      this.prng.pick(this.processes.filter((p) => p.name !== this.#guess.get(client))).name;
    this.#guess.set(client, next);
  }

  serveAppend(
    request: AppendRequest,
    respond: (answer: AppendAnswer) => void,
    node: string,
  ): boolean {
    const target = this.#serving(node);
    if (target === undefined) return false;
    target
      .append(request)
      .then((result) => {
        if (result.kind === 'appended') this.#checkHeld(node, result);
        const answer = this.#answered(request, result);
        this.note(`${node} answers ${request.messages[0] ?? ''}: ${JSON.stringify(answer)}`);
        respond(answer);
      })
      .catch(this.fatal);
    return true;
  }

  /**
   * G1 as the master answers: the master itself holds the entries durably (it is always one of
   * the w nodes, even while it replicates in parallel with its own fsync), and `acks` counts no
   * more nodes than durably hold them.
   */
  #checkHeld(node: string, result: Extract<AppendResult, { kind: 'appended' }>): void {
    const lastId = result.entries[result.entries.length - 1]?.id ?? 0;
    const nowMs = this.scheduler.nowMs;
    const holders = this.processes.filter((p) => p.disk.durableLastId(nowMs) >= lastId).length;
    const master = this.#processNamed(node);
    this.#checker.answered(node, lastId, result.acks, holders, master?.disk.durableLastId(nowMs));
  }

  #answered(request: AppendRequest, result: AppendResult): AppendAnswer {
    if (result.kind === 'refused') {
      const code = refusalError(result.refusal)?.code ?? 'INTERNAL_ERROR';
      if (result.refusal.reason !== 'not-master') return { kind: 'refused', code };
      const url = result.refusal.master;
      const master =
        url === null
          ? null
          : (this.processes.find((p) => url.includes(`//${p.name}.`))?.name ?? null);
      return { kind: 'refused', code, master };
    }
    const ids = result.entries.map((entry) => entry.id);
    const expired = result.outcome === 'timed-out';
    if (!expired) this.#checker.acknowledged(ids, request.messages, result.w);
    const statusCode = result.outcome === 'created' ? 201 : expired ? 504 : 200;
    return { kind: 'ok', statusCode, ids, w: result.w, acks: result.acks };
  }

  readonly storeFailed = (): void => undefined;

  readonly fatal = (error: unknown): void => {
    this.#fatalError ??= { error };
  };

  #roleChanged(node: string, change: RoleChange): void {
    this.note(`${node} ${change.from} -> ${change.to} epoch ${change.epoch} (${change.reason})`);
    if (change.to === 'master') {
      this.#elections += 1;
      this.#checker.masterElected(node, change.epoch);
      this.#masterSinceMs.set(node, this.scheduler.nowMs);
      const process = this.#processNamed(node);
      if (process !== undefined) this.#nemesis.elected(process);
    } else {
      this.#masterSinceMs.delete(node);
    }
  }

  /**
   * F2's bound: a running master that has not heard from a majority (itself included) for one
   * election timeout no longer leads. What it heard is what the network delivered to it: the last
   * answer from each other node since it became master.
   */
  #checkQuorumBound(): void {
    const nowMs = this.scheduler.nowMs;
    for (const process of this.processes) {
      const paused = this.scheduler.isPaused(process.name);
      if (paused) this.#paused.add(process.name);
      else if (this.#paused.delete(process.name)) this.#resumedAtMs.set(process.name, nowMs);
    }
    for (const process of this.processes) {
      const sinceMs = this.#masterSinceMs.get(process.name);
      const node = process.node;
      if (sinceMs === undefined || node?.electionRole !== 'master') continue;
      // A paused process's time stands still; resumed, its overdue timers run first.
      if (this.#paused.has(process.name)) continue;
      if (nowMs <= (this.#resumedAtMs.get(process.name) ?? -Infinity) + TIMER_SLACK_MS) continue;
      const heard = [nowMs];
      for (const other of this.processes) {
        if (other === process) continue;
        const answeredAtMs = this.network.lastAnswerAtMs(other.name, process.name) ?? sinceMs;
        heard.push(Math.max(sinceMs, answeredAtMs));
      }
      heard.sort((a, b) => b - a);
      const quorumHeardAtMs = heard[majorityOf(this.processes.length) - 1] ?? sinceMs;
      if (nowMs > quorumHeardAtMs + this.#electionTimeoutMs + TIMER_SLACK_MS) {
        this.#fail(
          'F2 a master without a majority stops',
          `${process.name} still leads epoch ${node.epoch} ${nowMs - quorumHeardAtMs} ms after it last heard from a majority (election timeout ${this.#electionTimeoutMs} ms)`,
        );
      }
    }
  }

  /** G1's lease, as each running master believes it now (FailoverChecker.checkLeaseHeld). */
  #checkLeases(): void {
    const nowMs = this.scheduler.nowMs;
    for (const process of this.processes) {
      const node = process.node;
      if (node?.electionRole !== 'master') continue;
      this.#checker.checkLeaseHeld(process.name, node.epoch, node.leaseEndsAtMs(), nowMs);
    }
  }

  #views(): FailoverView[] {
    const nowMs = this.scheduler.nowMs;
    return this.processes.map((process) => ({
      name: process.name,
      up: process.up,
      shownLength: () => process.shownLength(),
      shownEntry: (index: number) => process.shownEntry(index),
      shownLog: () => process.shownLog(),
      durableMessage: (id: number) =>
        id <= process.disk.durableLastId(nowMs) ? process.disk.read(id, 1)[0]?.message : undefined,
    }));
  }

  // ---- the end ------------------------------------------------------------------------------

  #finalAppends(): void {
    for (const client of this.#clients) {
      client.submit({ count: 1, w: 'majority', timeoutMs: undefined, keyed: true }, true, () => {
        const last = client.submit(
          { count: 1, w: 'all', timeoutMs: undefined, keyed: true },
          true,
          () => {
            this.#checkShownEverywhereSoon(last);
          },
        );
      });
    }
  }

  /** An append acknowledged with w=all after healing is shown on every node soon after. */
  #checkShownEverywhereSoon(operation: ClientOperation): void {
    const outcome = operation.outcome;
    if (outcome?.kind !== 'ok') return;
    const id = Math.max(...outcome.ids);
    const answeredAtMs = this.scheduler.nowMs;
    this.scheduler.after(SHOWN_ALL_WITHIN_MS, undefined, () => {
      for (const process of this.processes) {
        const shown = process.node?.lastVisibleId() ?? 0;
        if (shown >= id) continue;
        this.#fail(
          'F4 reads show the commit point',
          `${operation.messages[0]} was acknowledged with w=all at id ${id} at ${answeredAtMs} ms, and ${process.name} still shows only ${shown} entries ${SHOWN_ALL_WITHIN_MS} ms later: the commit point did not reach it`,
        );
      }
    });
  }

  /** After healing and settling: one master, every node up and showing the same whole log. */
  #checkLiveness(): void {
    const master = this.currentMaster();
    const node = master?.node;
    if (master === undefined || node === undefined)
      this.#fail('F6 failover', 'no master after healing');
    const masterHealth = node.health();
    if (masterHealth.readOnly)
      this.#fail('F6 failover', `${master.name} is master but read-only after healing`);
    const length = node.lastVisibleId();
    const lastId = node.health().log.lastId;
    if (length !== lastId)
      this.#fail(
        'G11 convergence',
        `${master.name} shows ${length} of the ${lastId} entries it holds after healing`,
      );
    for (const process of this.processes) {
      const shown = process.node?.lastVisibleId();
      const epoch = process.node?.epoch;
      if (shown !== length || epoch !== node.epoch) {
        this.#fail(
          'G11 convergence',
          `${process.name} shows ${String(shown)} entries in epoch ${String(epoch)}, the master ${master.name} ${length} in epoch ${node.epoch}`,
        );
      }
    }
    this.#checker.checkFinal(this.#views());
    this.#checkOperations();
  }

  /** Every operation ended; those sent after healing succeeded; none shows twice; F3 reporting. */
  #checkOperations(): void {
    const shown = new Map<string, number>();
    for (const entry of this.processes[0]?.shownLog() ?? []) {
      if (shown.has(entry.message))
        this.#fail('G5 no duplicates', `${entry.message} is shown twice`);
      shown.set(entry.message, entry.id);
    }
    const rolledBack = new Set(
      this.#rollbacks.flatMap(({ rollback }) => rollback.entries.map((e) => e.message)),
    );
    for (const client of this.#clients) {
      for (const operation of client.operations) {
        const outcome = operation.outcome;
        if (outcome === undefined)
          this.#fail('G12', `${operation.messages[0]} never got an outcome`);
        if (operation.afterHealing && outcome.kind !== 'ok') {
          this.#fail(
            'F6 failover',
            `${operation.messages[0]} sent after healing ended ${outcome.kind}`,
          );
        }
        if (outcome.kind !== 'ok' && outcome.kind !== 'stored') continue;
        outcome.ids.forEach((id, index) => {
          const message = operation.messages[index] ?? '';
          if (shown.get(message) === id) return;
          if (!rolledBack.has(message)) {
            this.#fail(
              'F3 minority writes lost only in the open',
              `${message} was acknowledged at id ${id} (w=${outcome.w}) and is gone, but no node reported it rolled back`,
            );
          }
        });
      }
    }
  }

  note(line: string): void {
    const stamped = `${this.scheduler.nowMs}ms ${line}`;
    this.#hash.addString(stamped);
    this.#trace.push(stamped);
    if (this.#trace.length > TRACE_LINES) this.#trace.shift();
  }

  #position(): { seed: number; step: number; nowMs: number } {
    return { seed: this.#options.seed, step: this.scheduler.steps, nowMs: this.scheduler.nowMs };
  }

  #fail(guarantee: string, details: string): never {
    throw new SimViolation(guarantee, this.#position(), details, [
      this.#configLine,
      ...this.#trace,
    ]);
  }

  #stats(): SimulationStats {
    const outcomes: Record<string, number> = {};
    for (const client of this.#clients) {
      for (const { outcome } of client.operations) {
        const label =
          outcome === undefined
            ? 'pending'
            : outcome.kind === 'refused'
              ? `refused ${outcome.code}`
              : outcome.kind;
        outcomes[label] = (outcomes[label] ?? 0) + 1;
      }
    }
    outcomes['elections'] = this.#elections;
    outcomes['rolled-back entries'] = this.#rollbacks.reduce(
      (sum, { rollback }) => sum + rollback.entries.length,
      0,
    );
    return {
      seed: this.#options.seed,
      steps: this.scheduler.steps,
      faults: this.#nemesis.faults,
      faultKinds: Object.fromEntries(this.#nemesis.kinds),
      storeFailures: 0,
      messagesDropped: this.network.stats.dropped,
      messagesDuplicated: this.network.stats.duplicated,
      operations: this.#clients.reduce((sum, client) => sum + client.operations.length, 0),
      entries: this.#checker.shownLength,
      simulatedMs: this.scheduler.nowMs,
      traceHash: this.#hash.hex,
      outcomes,
      detectionChecks: 0,
    };
  }
}
