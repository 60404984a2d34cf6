import type { FailoverNemesisVersion } from './failover-nemesis.js';
import { checkHistory } from '../checker/check-history.js';
import type { History, LogObservation } from '../checker/history.js';
import { loadNodeConfig, type MasterConfig, type SecondaryConfig } from '../config/config.js';
import type { CoreEvent } from '../core/master-core.js';
import { refusalError } from '../http/refusals.js';
import type { AppendRequest, AppendResult } from '../node/append-outcome.js';
import { Nemesis, type Cluster } from './nemesis.js';
import { Prng } from '../core/prng.js';
import { SafetyChecker, type NodeView } from './safety-checker.js';
import { Scheduler } from './scheduler.js';
import {
  SimClient,
  toHistory,
  type AppendAnswer,
  type AppendTarget,
  type ClientConfig,
} from './sim-client.js';
import { SimDisk, type FsyncPolicy } from './sim-disk.js';
import { SimNetwork } from './sim-network.js';
import { MasterProcess, SecondaryProcess, type SimWorld } from './sim-nodes.js';
import { guaranteeLabel, SimViolation } from './sim-violation.js';
import { settled, TraceHash } from './sim-trace.js';

export interface SimulationOptions {
  readonly seed: number;
  /** Overrides the secondaries' pending window (entries held back behind a gap). */
  readonly maxPendingEntries?: number;
  /** Simulated time with clients and faults; healing and settling follow. */
  readonly faultPhaseMs?: number;
  readonly settleMs?: number;
  /** Failover only: the nemesis's version (FAILOVER_NEMESIS_VERSIONS; the latest by default). */
  readonly failoverNemesis?: FailoverNemesisVersion;
}

export interface SimulationStats {
  readonly seed: number;
  /** Events run by the scheduler; safety is checked after each. */
  readonly steps: number;
  /** Faults the nemesis injected (partitions, crashes, pauses, ...). */
  readonly faults: number;
  readonly faultKinds: Readonly<Record<string, number>>;
  /** Store writes that failed (injected EIO, ENOSPC) and were rolled back. */
  readonly storeFailures: number;
  readonly messagesDropped: number;
  readonly messagesDuplicated: number;
  readonly operations: number;
  readonly entries: number;
  readonly simulatedMs: number;
  /** A hash of everything that happened: equal for equal seeds. */
  readonly traceHash: string;
  /** Final outcomes of client appends, by kind (and refusal code). */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Instants at which a secondary had been unreachable past the detection bound (G13 applied). */
  readonly detectionChecks: number;
  /** Symptoms of known core bugs seen and tolerated (see known-bugs.ts). */
}

const MASTER = 'master';
const OBSERVE_EVERY_MS = 500;
/** After healing: nodes have this long to become Healthy again, then none may leave Healthy. */
const RECOVER_AFTER_HEAL_MS = 4000;
/** After healing, each client sends one last append that must succeed. */
const FINAL_APPENDS_AFTER_HEAL_MS = 6000;
const TRACE_LINES = 60;
/** Timer granularity on top of the failure detector's own bound (probes every interval). */
const DETECTION_SLACK_MS = 5;

/** A secondary's configuration, read through the real option table. */
function secondaryConfig(name: string, maxPendingEntries: number): SecondaryConfig {
  const env = {
    NODE_NAME: name,
    MAX_PENDING_ENTRIES: String(maxPendingEntries),
    FAULT_INJECTION: 'true',
  };
  const { config } = loadNodeConfig('secondary', [], env);
  if (config.role !== 'secondary') throw new Error('secondary options gave a master');
  return config;
}

/** One run: a seed in, stats out, or a SimViolation naming the guarantee, seed and step. */
export function runSimulation(options: SimulationOptions): Promise<SimulationStats> {
  return new Simulation(options).run();
}

class Simulation implements Cluster, AppendTarget, SimWorld {
  readonly #options: SimulationOptions;
  readonly prng: Prng;
  readonly scheduler = new Scheduler();
  readonly network: SimNetwork;
  readonly name = MASTER;
  readonly #checker: SafetyChecker;
  readonly #hash = new TraceHash();
  readonly #trace: string[] = [];
  readonly master: MasterProcess;
  readonly secondaries: SecondaryProcess[] = [];
  readonly #clients: SimClient[] = [];
  readonly #nemesis: Nemesis;
  readonly #config: MasterConfig;
  /** The first error a node threw where it must not: the run fails with it after the step. */
  #fatalError: { error: unknown } | undefined;
  #storeFailures = 0;
  readonly #observations: LogObservation[] = [];
  /**
   * Ids a secondary lost in a crash (volatile storage, or a wiped directory) that the master has
   * not noticed yet, and which of its processes lost them: only an answer from a process started
   * after that one tells the master the truth.
   */
  readonly #unnoticedLoss = new Map<string, { upToId: number; lostByProcess: number }>();
  /** Nodes restarted with volatile storage since their last observation. */
  readonly #volatileRestarts = new Set<string>();
  /** Since when each secondary has been unreachable from the master (down, paused, cut). */
  readonly #unreachableSinceMs = new Map<string, number>();
  #masterRunningSinceMs: number | undefined;
  /** Times a secondary was unreachable long enough for G13's bound to apply. */
  #detectionChecks = 0;
  #healedAtMs = Infinity;
  #lastHealthCheckMs = -1;
  readonly #faultPhaseMs: number;
  readonly #configLine: string;
  readonly #settleMs: number;

  /** Draws the cluster from the seed; the order of the draws is the seed's meaning, keep it. */
  constructor(options: SimulationOptions) {
    this.#options = options;
    const prng = new Prng(options.seed);
    this.prng = prng;
    this.network = new SimNetwork(this.scheduler, prng);
    this.#checker = new SafetyChecker((guarantee, details) => this.#fail(guarantee, details));
    this.#faultPhaseMs = options.faultPhaseMs ?? 20_000;
    this.#settleMs = options.settleMs ?? 15_000;
    const names = Array.from({ length: prng.int(1, 4) }, (_, index) => `sub${index + 1}`);
    this.#config = this.#masterConfig(names);
    // Entries beyond a secondary's pending window are dropped and must be sent again: small
    // windows exercise that path, the production default never fills.
    const maxPendingEntries = options.maxPendingEntries ?? prng.pick([4, 16, 100_000]);
    this.master = this.#createMaster();
    this.#addSecondaries(names, maxPendingEntries);
    this.#addClients();
    this.#nemesis = this.#createNemesis();
    this.#configLine = this.#describeConfig(names, maxPendingEntries);
    this.#hash.addString(this.#configLine);
  }

  /** The master process; it reaches the secondaries' nodes by name, as they are now. */
  #createMaster(): MasterProcess {
    return new MasterProcess(
      this,
      this.#config,
      (name) => this.secondaries.find((secondary) => secondary.name === name)?.node,
      (event) => {
        this.#onCoreEvent(event);
      },
    );
  }

  /** One secondary per name, each drawing its fsync policy in turn. */
  #addSecondaries(names: readonly string[], maxPendingEntries: number): void {
    for (const name of names) {
      const fsync: FsyncPolicy = this.prng.chance(0.8) ? 'always' : 'never';
      const config = secondaryConfig(name, maxPendingEntries);
      this.secondaries.push(new SecondaryProcess(this, config, new SimDisk(fsync)));
    }
  }

  /** The clients: their think time is drawn before their number. */
  #addClients(): void {
    const prng = this.prng;
    const clientConfig: ClientConfig = {
      requestTimeoutMs: 2000,
      maxAttempts: 8,
      meanThinkMs: prng.pick([20, 60, 150]),
    };
    const clientCount = prng.int(2, 4);
    for (let index = 1; index <= clientCount; index++) {
      this.#clients.push(
        new SimClient(
          `client${index}`,
          this.scheduler,
          this.network,
          prng,
          this,
          this.#checker,
          clientConfig,
          (line) => {
            this.note(line);
          },
        ),
      );
    }
  }

  /** The nemesis: its mean gap is drawn before whether it crashes the master. */
  #createNemesis(): Nemesis {
    const prng = this.prng;
    return new Nemesis(
      this,
      this.scheduler,
      this.network,
      prng,
      {
        untilMs: this.#faultPhaseMs,
        maxFaults: 60,
        meanGapMs: prng.pick([150, 400, 1000]),
        maxFaultMs: (this.#config.unhealthyAfterMisses + 3) * this.#config.heartbeatIntervalMs,
        masterCrashes: prng.chance(0.7),
      },
      (line) => {
        this.note(line);
      },
    );
  }

  /** The drawn configuration as one line: it heads every failure's trace and starts the hash. */
  #describeConfig(names: readonly string[], maxPendingEntries: number): string {
    const shown = {
      secondaries: names,
      heartbeatIntervalMs: this.#config.heartbeatIntervalMs,
      unhealthyAfterMisses: this.#config.unhealthyAfterMisses,
      replicationTimeoutMs: this.#config.replicationTimeoutMs,
      maxInflightBatches: this.#config.maxInflightBatches,
      maxBatchEntries: this.#config.maxBatchEntries,
      retryMaxMs: this.#config.retryMaxMs,
      maxWaitingAppends: this.#config.maxWaitingAppends,
      maxPendingEntries,
      clientCount: this.#clients.length,
      fsync: this.secondaries.map((secondary) => secondary.disk.fsync),
    };
    return `config ${JSON.stringify(shown)}`;
  }

  /** The master's configuration, drawn from the seed and read through the real option table. */
  #masterConfig(names: readonly string[]): MasterConfig {
    const prng = this.prng;
    const env = {
      SECONDARIES: names.map((name) => `${name}=http://${name}.sim:8001`).join(','),
      HEARTBEAT_INTERVAL_MS: String(prng.pick([100, 150, 200])),
      SUSPECT_AFTER_MISSES: '2',
      UNHEALTHY_AFTER_MISSES: String(prng.pick([3, 4])),
      REPLICATION_TIMEOUT_MS: String(prng.pick([200, 400, 800])),
      MAX_INFLIGHT_BATCHES: String(prng.int(1, 4)),
      MAX_BATCH_ENTRIES: String(prng.pick([4, 16, 64])),
      RETRY_BASE_MS: '20',
      RETRY_MAX_MS: String(prng.pick([200, 500])),
      // Small limits against 2-4 clients make the overload refusal a common path.
      MAX_WAITING_APPENDS: String(prng.pick([2, 3, 64, 100_000])),
      MAX_IDEMPOTENCY_KEYS: '1000000',
    };
    const { config } = loadNodeConfig('master', [], { ...env, NODE_NAME: MASTER });
    if (config.role !== 'master') throw new Error('master options gave a secondary');
    return config;
  }

  get clients(): readonly string[] {
    return this.#clients.map((client) => client.name);
  }

  async run(): Promise<SimulationStats> {
    try {
      return await this.#run();
    } catch (error) {
      if (error instanceof SimViolation) throw error;
      // A core invariant that threw (or a bug in the simulator): report it like a violation.
      const details = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new SimViolation('core invariant', this.#position(), details, [
        this.#configLine,
        ...this.#trace,
      ]);
    }
  }

  async #run(): Promise<SimulationStats> {
    const scheduler = this.scheduler;
    this.master.start();
    for (const secondary of this.secondaries) secondary.start();
    await settled();
    for (const client of this.#clients) client.runWorkload(this.#faultPhaseMs);
    this.#nemesis.start();
    scheduler.at(this.#faultPhaseMs, undefined, () => {
      this.#healedAtMs = scheduler.nowMs;
      this.#nemesis.healAll();
    });
    scheduler.at(this.#faultPhaseMs + FINAL_APPENDS_AFTER_HEAL_MS, undefined, () => {
      this.#finalAppends();
    });
    const observe = (): void => {
      this.#observe();
      scheduler.after(OBSERVE_EVERY_MS, undefined, observe);
    };
    scheduler.after(OBSERVE_EVERY_MS, undefined, observe);
    const endMs = this.#faultPhaseMs + this.#settleMs;
    while (scheduler.step(endMs)) {
      await settled();
      this.#throwFatal();
      this.#hash.addNumber(scheduler.nowMs);
      this.#checkStep();
    }
    this.#observe();
    this.#checkLiveness();
    this.#checkHistory();
    return this.#stats();
  }

  // --- the cluster, as the nemesis acts on it ---------------------------------------------

  crashSecondary(secondary: SecondaryProcess, wipe?: boolean): void {
    const before = secondary.disk.lastId;
    secondary.crash();
    const outcome = secondary.disk.crash(this.scheduler.nowMs, this.prng);
    if (wipe ?? this.prng.chance(0.1)) secondary.wipe();
    const after = secondary.disk.lastId;
    if (after < before) {
      const upToId = Math.max(this.#unnoticedLoss.get(secondary.name)?.upToId ?? 0, before);
      const lostByProcess = secondary.incarnations.length - 1;
      this.#unnoticedLoss.set(secondary.name, { upToId, lostByProcess });
    }
    this.note(
      `crash ${secondary.name}: showed ${before}, disk keeps ${after} (${outcome.lostRecords} records lost${outcome.torn ? ', torn tail' : ''})`,
    );
  }

  restartSecondary(secondary: SecondaryProcess): void {
    secondary.start();
    const volatile = secondary.disk.fsync === 'never' || secondary.disk.lastId === 0;
    this.#checker.restarted(secondary.name, volatile);
    if (volatile) this.#volatileRestarts.add(secondary.name);
    this.note(
      `restart ${secondary.name} ${secondary.incarnation} holding ${secondary.disk.lastId}`,
    );
  }

  crashMaster(): void {
    const before = this.master.disk.lastId;
    this.master.crash();
    const outcome = this.master.disk.crash(this.scheduler.nowMs, this.prng);
    this.note(
      `crash master: showed ${before}, disk keeps ${this.master.disk.lastId} (${outcome.lostRecords} records lost)`,
    );
  }

  restartMaster(): void {
    this.master.start();
    // A new core knows nothing of what the secondaries held: nothing it counts is stale.
    this.#unnoticedLoss.clear();
    this.#checker.restarted(MASTER, this.master.disk.fsync === 'never');
    this.note(`restart master holding ${this.master.disk.lastId}`);
  }

  strayBatch(secondary: SecondaryProcess): boolean {
    const node = secondary.node;
    // An empty secondary joins the first log that reaches it: only a non-empty one must refuse.
    const hwm = node?.lastVisibleId() ?? 0;
    if (node === undefined || hwm === 0) return false;
    const entries = [{ id: hwm + 1, epoch: 1, message: `stray-${this.prng.hex(8)}` }];
    node.replicate({ logId: 'stray-log', epoch: 1, entries }).then((outcome) => {
      this.note(`stray batch to ${secondary.name}: ${JSON.stringify(outcome)}`);
    }, this.fatal);
    return true;
  }

  // --- the world, as the nodes see it -----------------------------------------------------

  get clusterSize(): number {
    return this.secondaries.length + 1;
  }

  /** POST /logs on the master: the real node's append, answered as the HTTP layer would. */
  serveAppend(
    request: AppendRequest,
    respond: (answer: AppendAnswer) => void,
    _node: string,
  ): boolean {
    const node = this.master.node;
    if (node === undefined) return false;
    node
      .append(request)
      .then((result) => {
        respond(this.#answered(result));
      })
      // A broken invariant in the node, or a guarantee the answer breaks: the run fails.
      .catch(this.fatal);
    return true;
  }

  /** G1 and G9 at the moment the master answers; the answer as the client reads it. */
  #answered(result: AppendResult): AppendAnswer {
    if (result.kind === 'refused') {
      return { kind: 'refused', code: refusalError(result.refusal)?.code ?? 'INTERNAL_ERROR' };
    }
    const ids = result.entries.map((entry) => entry.id);
    const lastId = ids[ids.length - 1] ?? 0;
    const expired = result.outcome === 'timed-out';
    this.#checker.answered(lastId, result.w, result.acks, expired, this.#holders(lastId));
    const statusCode = result.outcome === 'created' ? 201 : expired ? 504 : 200;
    return { kind: 'ok', statusCode, ids, w: result.w, acks: result.acks };
  }

  readonly storeFailed = (): void => {
    this.#storeFailures += 1;
  };

  readonly fatal = (error: unknown): void => {
    this.#fatalError ??= { error };
  };

  #throwFatal(): void {
    if (this.#fatalError !== undefined) throw this.#fatalError.error;
  }

  #onCoreEvent(event: CoreEvent): void {
    if (event.kind === 'peer-restarted') {
      // An answer of the process that lost the entries (or an older one) still claims them.
      const loss = this.#unnoticedLoss.get(event.peer);
      const secondary = this.secondaries.find((candidate) => candidate.name === event.peer);
      const process = secondary?.incarnations.indexOf(event.incarnation) ?? -1;
      if (loss !== undefined && process > loss.lostByProcess)
        this.#unnoticedLoss.delete(event.peer);
    }
    if (event.kind === 'health-changed' || event.kind === 'read-only-changed') {
      this.note(`core ${JSON.stringify(event)}`);
    }
    if (
      event.kind === 'health-changed' &&
      event.to !== 'Healthy' &&
      this.scheduler.nowMs >= this.#healedAtMs + RECOVER_AFTER_HEAL_MS
    ) {
      this.#fail(
        guaranteeLabel(13),
        `${event.peer} became ${event.to} in a healed network (${event.missedProbes} missed probes)`,
      );
    }
  }

  /** Nodes that hold `id` now: durably on the master, as stored on each secondary. */
  #holders(id: number): number {
    let holders = this.master.disk.durableLastId(this.scheduler.nowMs) >= id ? 1 : 0;
    for (const secondary of this.secondaries) {
      // A volatile secondary that lost entries still counts until the master notices: its
      // storage, not the protocol, broke the promise.
      const lost = this.#unnoticedLoss.get(secondary.name)?.upToId ?? 0;
      if (secondary.disk.lastId >= id || lost >= id) holders += 1;
    }
    return holders;
  }

  #nodes(): NodeView[] {
    return [this.master, ...this.secondaries];
  }

  // --- checks ------------------------------------------------------------------------------

  #checkStep(): void {
    this.#checker.checkStep(this.#nodes(), this.master.disk.durableLastId(this.scheduler.nowMs));
    this.#checkNoWaiterHeldUp();
    this.#trackReachability();
    if (this.scheduler.nowMs !== this.#lastHealthCheckMs) {
      this.#lastHealthCheckMs = this.scheduler.nowMs;
      this.#checkFailureDetection();
    }
  }

  /** G12: after every step, no append whose write concern is met is still waiting. */
  #checkNoWaiterHeldUp(): void {
    for (const stuck of this.master.node?.stuckWaiters() ?? []) {
      this.#fail(
        guaranteeLabel(12),
        `an append up to id ${stuck.lastId} waits for w=${stuck.w} although ${stuck.acks} nodes hold it`,
      );
    }
  }

  /**
   * G13, first half: a secondary that stopped answering (down, paused, cut off in either
   * direction) becomes Suspected, then Unhealthy, within the configured number of probe
   * intervals, counted from when the master last could have heard from it.
   */
  #checkFailureDetection(): void {
    const nowMs = this.scheduler.nowMs;
    const master = this.master;
    const masterSinceMs = this.#masterRunningSinceMs;
    if (masterSinceMs === undefined) return;
    const config = this.#config;
    const hb = config.heartbeatIntervalMs;
    let snapshots: readonly { name: string; status: string }[] | undefined;
    for (const [name, since] of this.#unreachableSinceMs) {
      // Answers already on their way when it became unreachable may still arrive: the bound
      // counts from the last answer the master actually received.
      const lastAnswerMs = this.network.lastAnswerAtMs(name, MASTER) ?? 0;
      const fromMs = Math.max(since, masterSinceMs, lastAnswerMs) + DETECTION_SLACK_MS;
      const suspectByMs = fromMs + (config.suspectAfterMisses + 1) * hb;
      const unhealthyByMs = fromMs + (config.unhealthyAfterMisses + 1) * hb;
      if (nowMs <= suspectByMs) continue;
      this.#detectionChecks += 1;
      snapshots ??= master.node?.health().secondaries ?? [];
      const status = snapshots.find((peer) => peer.name === name)?.status;
      if (status === 'Healthy' || (status === 'Suspected' && nowMs > unhealthyByMs)) {
        this.#fail(
          guaranteeLabel(13),
          `${name} has not been reachable since ${since}ms but the master still sees it ${status}`,
        );
      }
    }
  }

  /** After every step: which secondaries the master cannot hear from, and since when. */
  #trackReachability(): void {
    const nowMs = this.scheduler.nowMs;
    const running = this.master.up && !this.scheduler.isPaused(MASTER);
    if (!running) this.#masterRunningSinceMs = undefined;
    else this.#masterRunningSinceMs ??= nowMs;
    for (const secondary of this.secondaries) {
      const name = secondary.name;
      const reachable =
        secondary.up &&
        !this.scheduler.isPaused(name) &&
        !this.network.link(MASTER, name).cut &&
        !this.network.link(name, MASTER).cut;
      if (reachable) this.#unreachableSinceMs.delete(name);
      else if (!this.#unreachableSinceMs.has(name)) this.#unreachableSinceMs.set(name, nowMs);
    }
  }

  #checkLiveness(): void {
    const master = this.master;
    const node = master.node;
    if (node === undefined) this.#fail(guaranteeLabel(11), 'the master is down after healing');
    const health = node.health();
    const masterLength = master.shownLength();
    const masterLast = master.shownEntry(masterLength - 1);
    for (const secondary of this.secondaries) {
      if (
        secondary.shownLength() !== masterLength ||
        secondary.shownEntry(masterLength - 1)?.message !== masterLast?.message ||
        secondary.pendingCount !== 0
      ) {
        const view = health.secondaries.find((peer) => peer.name === secondary.name);
        this.#fail(
          guaranteeLabel(11),
          `${secondary.name} shows ${secondary.shownLength()} entries (${secondary.pendingCount} pending), the master ${masterLength}, ${this.#settleMs}ms after healing; master's view: ${JSON.stringify(view)}`,
        );
      }
    }
    for (const client of this.#clients) {
      for (const operation of client.operations) {
        if (operation.outcome === undefined) {
          this.#fail(guaranteeLabel(12), `${operation.messages[0]} never got an outcome`);
        }
        if (operation.afterHealing && operation.outcome.kind !== 'ok') {
          this.#fail(
            // Refused: appends were not accepted again once the majority was back (G10);
            // otherwise an append whose w was reachable did not get its answer (G12).
            guaranteeLabel(operation.outcome.kind === 'refused' ? 10 : 12),
            `${operation.messages[0]} (w=${String(operation.request.w)}) sent after healing ended ${operation.outcome.kind}`,
          );
        }
      }
    }
    if (health.waitingAppends !== 0) {
      this.#fail(
        guaranteeLabel(12),
        `${health.waitingAppends} appends still wait for their write concern after healing`,
      );
    }
    if (health.readOnly) this.#fail(guaranteeLabel(10), 'the master is read-only after healing');
    for (const peer of health.secondaries) {
      if (peer.status !== 'Healthy')
        this.#fail(guaranteeLabel(13), `${peer.name} is ${peer.status} after healing`);
      if (peer.ackedId !== masterLength)
        this.#fail(guaranteeLabel(11), `${peer.name} acked ${peer.ackedId} of ${masterLength}`);
    }
  }

  #checkHistory(): void {
    const history: History = {
      appends: this.#clients.flatMap((client) => client.operations.map(toHistory)),
      observations: this.#observations,
      master: MASTER,
      nodes: this.#nodes().map((node) => node.name),
      healed: true,
    };
    const violations = checkHistory(history);
    const first = violations[0];
    if (first !== undefined) {
      this.#fail(
        `history checker: ${first.guarantee}`,
        `${first.message} (${violations.length} violations)`,
      );
    }
  }

  // --- workload and records ----------------------------------------------------------------

  /** After healing, every client sends a w=all append and a w=1 one: both must succeed. */
  #finalAppends(): void {
    for (const client of this.#clients) {
      client.submit({ count: 1, w: 'all', timeoutMs: undefined, keyed: true }, true, () => {
        client.submit({ count: 1, w: 1, timeoutMs: undefined, keyed: true }, true, () => {
          // The run ends on its own; nothing follows these.
        });
      });
    }
  }

  #observe(): void {
    const at = this.scheduler.nowMs;
    for (const node of this.#nodes()) {
      if (!node.up) continue;
      // What GET /logs shows, read through the node as a client would, in one read.
      const entries = node.shownLog().map(({ id, message }) => ({ id, message }));
      const volatile = this.#volatileRestarts.delete(node.name);
      this.#observations.push({
        node: node.name,
        at,
        entries,
        ...(volatile ? { afterVolatileRestart: true } : {}),
      });
    }
  }

  note(line: string): void {
    const stamped = `${this.scheduler.nowMs}ms ${line}`;
    this.#hash.addString(stamped);
    this.#trace.push(stamped);
    if (this.#trace.length > TRACE_LINES) this.#trace.shift();
  }

  #position(): { seed: number; step: number; nowMs: number } {
    return {
      seed: this.#options.seed,
      step: this.scheduler.steps,
      nowMs: this.scheduler.nowMs,
    };
  }

  #fail(guarantee: string, details: string): never {
    throw new SimViolation(guarantee, this.#position(), details, [
      this.#configLine,
      ...this.#trace,
    ]);
  }

  #stats(): SimulationStats {
    this.#hash.addString(
      this.#nodes()
        .map((node) => `${node.name}:${node.shownLength()}`)
        .join(','),
    );
    return {
      seed: this.#options.seed,
      steps: this.scheduler.steps,
      faults: this.#nemesis.faults,
      faultKinds: Object.fromEntries(this.#nemesis.kinds),
      storeFailures: this.#storeFailures,
      messagesDropped: this.network.stats.dropped,
      messagesDuplicated: this.network.stats.duplicated,
      operations: this.#clients.reduce((sum, client) => sum + client.operations.length, 0),
      entries: this.master.shownLength(),
      simulatedMs: this.scheduler.nowMs,
      traceHash: this.#hash.hex,
      outcomes: this.#outcomeCounts(),
      detectionChecks: this.#detectionChecks,
    };
  }

  #outcomeCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const client of this.#clients) {
      for (const { outcome } of client.operations) {
        const label =
          outcome === undefined
            ? 'pending'
            : outcome.kind === 'refused'
              ? `refused ${outcome.code}`
              : outcome.kind;
        counts[label] = (counts[label] ?? 0) + 1;
      }
    }
    return counts;
  }
}
