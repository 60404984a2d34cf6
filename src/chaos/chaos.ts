/**
 * Real-process fault injection: a master and secondaries as real processes with durable storage
 * (FSYNC=always), a fault proxy between the master and each secondary, keyed retrying clients, a
 * seeded nemesis (kill -9 and restart of any node, SIGSTOP/SIGCONT, partitions through
 * /admin/faults and, in network namespaces, iptables, injected 500s and delays, replies lost after
 * the secondary stored the batch, delayed replies), and periodic reads of every node's log. The
 * whole run is recorded as a `History` and judged by `checkHistory`. Every loop is bounded in
 * count and time; every fault is healed at the end and the nodes must converge.
 */
import { performance } from 'node:perf_hooks';
import { checkHistory } from '../checker/check-history.js';
import type { History, LogObservation, Violation } from '../checker/history.js';
import { request, sleep } from '../e2e/harness.js';
import { LocalCluster, type NodePlacement } from '../launcher/cluster.js';
import type { NodeProcess } from '../launcher/node-process.js';
import { freePort } from '../launcher/ports.js';
import { ClientLoad, type ClientStats } from './clients.js';
import { FaultProxy, type FaultProxyStats } from './fault-proxy.js';
import { NetnsLab, netnsSupport, type PartitionMode } from './netns.js';
import { Prng } from '../core/prng.js';
import { failoverRecord, masterNow } from '../e2e/failover-cluster.js';

export const FAULT_KINDS = [
  'kill-secondary',
  'kill-master',
  'pause-secondary',
  'pause-master',
  'partition-admin',
  'error-rate',
  'delay',
  'lost-replies',
  'proxy-delay',
  'iptables-partition',
  'iptables-one-way',
  'kill-current-master',
  'pause-current-master',
  'partition-current-master',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Fault kinds that need network namespaces. */
export const NETNS_FAULTS: readonly FaultKind[] = ['iptables-partition', 'iptables-one-way'];

/** Fault kinds aimed at whichever node is master now (found through GET /health): failover only. */
export const CURRENT_MASTER_FAULTS: readonly FaultKind[] = [
  'kill-current-master',
  'pause-current-master',
  'partition-current-master',
];

/**
 * The kinds a failover run can use: no fault proxy can sit between failover nodes (each talks to
 * every other), and the iptables ones are written for one master; partitions go through the
 * nodes' own fault injection (PUT /admin/faults {"partitioned": true}).
 */
export const FAILOVER_FAULTS: readonly FaultKind[] = [
  ...CURRENT_MASTER_FAULTS,
  'kill-secondary',
  'pause-secondary',
  'partition-admin',
];

/** The stand-in target of the current-master kinds: one such fault at a time. */
const CURRENT_MASTER = 'current-master';

export interface ChaosOptions {
  /** How long the clients and the nemesis run (the heal and checks come after). */
  readonly durationMs: number;
  readonly seed: number;
  readonly clients: number;
  /** Number of secondaries (default 2: three nodes). */
  readonly secondaries?: number;
  /** Network namespaces: `auto` uses them when permitted. Default `off`. */
  readonly netns?: 'auto' | 'on' | 'off';
  /** `random` (seeded) or `round-robin` through the enabled kinds (every kind happens). */
  readonly schedule?: 'random' | 'round-robin';
  /** Enabled fault kinds; default all (the iptables ones only with namespaces). */
  readonly faults?: readonly FaultKind[];
  /** Faults in force at the same time, at most (default 2; one per node). */
  readonly maxConcurrentFaults?: number;
  /** How long a fault holds, [min, max] ms (default [300, 2500]). */
  readonly holdMs?: readonly [number, number];
  /** Pause between starting two faults, [min, max] ms (default [100, 800]). */
  readonly gapMs?: readonly [number, number];
  /** Pause between two reads of one node's log (default 300 ms). */
  readonly observeIntervalMs?: number;
  /** Bound on the wait for convergence after healing (default 40 s). */
  readonly settleTimeoutMs?: number;
  /**
   * Negative control: nodes keep their log in memory (no DATA_DIR), so kill -9 loses acknowledged
   * entries and the checker must report violations.
   */
  readonly inMemory?: boolean;
  /**
   * Automatic failover: three or more failover nodes (no fault proxy), clients pinned to different
   * nodes, the current-master fault kinds, and the history checked against F1–F5 too.
   */
  readonly failover?: boolean;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface OperationSummary {
  total: number;
  ok: number;
  stored: number;
  unknown: number;
  refused: Record<string, number>;
  /** Entries (messages) in the operations; batches count each message. */
  messages: number;
}

export interface ChaosResult {
  readonly seed: number;
  readonly netns: boolean;
  readonly inMemory: boolean;
  /** Why namespaces were not used, when they were asked for (`auto`) but not available. */
  readonly netnsNote: string | undefined;
  readonly runMs: number;
  readonly totalMs: number;
  readonly operations: OperationSummary;
  readonly clientStats: ClientStats;
  readonly faults: Record<FaultKind, number>;
  readonly enabledFaults: readonly FaultKind[];
  readonly nemesisErrors: readonly string[];
  readonly proxies: Readonly<Record<string, FaultProxyStats>>;
  readonly observations: number;
  readonly finalLength: number;
  readonly converged: boolean;
  readonly convergenceNote: string;
  readonly violations: readonly Violation[];
  readonly history: History;
  /** The nodes' recent output, when something went wrong. */
  readonly diagnostics: string;
}

export interface ChaosCluster {
  /** The processes (and the proxies' lifetime). */
  readonly local: LocalCluster;
  readonly master: NodeProcess;
  readonly secondaries: readonly NodeProcess[];
  readonly nodes: readonly NodeProcess[];
  readonly proxies: ReadonlyMap<string, FaultProxy>;
  readonly lab: NetnsLab | undefined;
}

const NODE_PORT_IN_NETNS = 7000;
/** A node's start, bounded; generous, as a restarted node replays its durable log. */
const START_TIMEOUT_MS = 30_000;

/** Starts master + secondaries (durable, fault injection on) behind one fault proxy each. */
export async function startChaosCluster(
  secondaryCount: number,
  lab: NetnsLab | undefined,
  durable = true,
  /** The proxies' drops and delays draw from it, so a seed replays them too. */
  random: Prng = new Prng(1),
): Promise<ChaosCluster> {
  const proxies = new Map<string, FaultProxy>();
  const common = { LOG_LEVEL: 'warn', FAULT_INJECTION: 'true', FSYNC: 'always' };
  const local = await LocalCluster.launch(
    {
      secondaries: secondaryCount,
      ...(lab === undefined
        ? {}
        : { place: (name: string) => Promise.resolve(placeIn(lab, name)) }),
      env: common,
      masterEnv: {
        HEARTBEAT_INTERVAL_MS: '100',
        RETRY_BASE_MS: '10',
        RETRY_MAX_MS: '200',
        REPLICATION_TIMEOUT_MS: '1000',
      },
      ...(durable ? { dataDirs: { temporary: 'rlog-chaos-' } } : {}),
      proxy: async (sub) => {
        const draws = random.fork(proxies.size + 1);
        const proxy = await FaultProxy.start({
          target: sub.url,
          random: () => draws.float(),
          ...(lab === undefined
            ? {}
            : { host: lab.proxyIp, localAddress: lab.proxyIp, port: await freePort() }),
        });
        proxies.set(sub.name, proxy);
        return proxy;
      },
    },
    { timeoutMs: START_TIMEOUT_MS },
  );
  return {
    local,
    master: local.master,
    secondaries: local.secondaries,
    nodes: local.nodes,
    proxies,
    lab,
  };
}

/**
 * Failover nodes (FAILOVER=true, PEERS of all, durable, fault injection on), no proxy: with
 * failover every node talks to every other, so faults go through each node's /admin/faults.
 */
export async function startFailoverChaosCluster(secondaryCount: number): Promise<ChaosCluster> {
  const local = await LocalCluster.launch(
    {
      secondaries: secondaryCount,
      failover: true,
      env: { LOG_LEVEL: 'warn', FAULT_INJECTION: 'true', FSYNC: 'always' },
      dataDirs: { temporary: 'rlog-chaos-failover-' },
    },
    { timeoutMs: START_TIMEOUT_MS },
  );
  const nodes = local.nodes;
  return {
    local,
    master: local.master,
    secondaries: local.secondaries,
    nodes,
    proxies: new Map(),
    lab: undefined,
  };
}

/** In network namespaces: the node's own address, and `ip netns exec` into its namespace. */
function placeIn(lab: NetnsLab, name: string): NodePlacement {
  return { host: lab.ipOf(name), port: NODE_PORT_IN_NETNS, wrap: lab.wrap(name) };
}

/** Kills every node, closes the proxies, removes the data directories. */
export async function stopChaosCluster(cluster: ChaosCluster): Promise<void> {
  await cluster.local.stop();
}

/** A sleep that `cut()` ends early. */
function cuttableSleep(ms: number): { done: Promise<void>; cut: () => void } {
  let cut = (): void => undefined;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    cut = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, cut };
}

interface ActiveFault {
  readonly kind: FaultKind;
  readonly target: string;
  readonly cut: () => void;
  readonly healed: Promise<void>;
}

class Nemesis {
  readonly counts = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<
    FaultKind,
    number
  >;
  readonly errors: string[] = [];
  readonly #active = new Map<string, ActiveFault>();
  #step = 0;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly kinds: readonly FaultKind[],
    private readonly random: Prng,
    private readonly options: ChaosOptions,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts faults until `endAt` (performance.now()), then heals every one in force. */
  async run(endAt: number): Promise<void> {
    const maxConcurrent = this.options.maxConcurrentFaults ?? 2;
    const [gapMin, gapMax] = this.options.gapMs ?? [100, 800];
    for (let iteration = 0; iteration < 100_000 && performance.now() < endAt; iteration++) {
      const choice = this.#active.size < maxConcurrent ? this.#choose() : undefined;
      if (choice === undefined) {
        await sleep(50);
        continue;
      }
      await this.#start(choice.kind, choice.target);
      await sleep(this.random.int(gapMin, gapMax));
    }
    await this.healAll();
  }

  /** Ends every fault in force now and waits (bounded by each heal) for the heals. */
  async healAll(): Promise<void> {
    const active = [...this.#active.values()];
    for (const fault of active) fault.cut();
    await Promise.all(active.map((fault) => fault.healed));
  }

  get active(): string[] {
    return [...this.#active.values()].map((fault) => `${fault.kind}@${fault.target}`);
  }

  #targets(kind: FaultKind): string[] {
    if (kind === 'kill-master' || kind === 'pause-master') return ['master'];
    if (CURRENT_MASTER_FAULTS.includes(kind)) return [CURRENT_MASTER];
    return this.cluster.secondaries.map((sub) => sub.name);
  }

  #choose(): { kind: FaultKind; target: string } | undefined {
    const free = (target: string): boolean => !this.#active.has(target);
    if (this.options.schedule === 'round-robin') {
      // The next kind in order, on the next free target (secondaries in rotation).
      const kind = this.kinds[this.#step % this.kinds.length]!;
      const targets = this.#targets(kind);
      const rotation = Math.floor(this.#step / this.kinds.length);
      for (let i = 0; i < targets.length; i++) {
        const target = targets[(rotation + i) % targets.length]!;
        if (free(target)) {
          this.#step++;
          return { kind, target };
        }
      }
      return undefined;
    }
    const kind = this.random.pick(this.kinds);
    const targets = this.#targets(kind).filter(free);
    if (targets.length === 0) return undefined;
    return { kind, target: this.random.pick(targets) };
  }

  async #start(kind: FaultKind, target: string): Promise<void> {
    let heal: () => Promise<void>;
    let what: string;
    try {
      [heal, what] = await this.#apply(kind, target);
    } catch (error) {
      this.errors.push(`${kind} on ${target}: ${(error as Error).message}`);
      return;
    }
    this.counts[kind]++;
    const [holdMin, holdMax] = this.options.holdMs ?? [300, 2500];
    const hold = cuttableSleep(this.random.int(holdMin, holdMax));
    const started = performance.now();
    this.log(`fault  + ${kind} on ${target}${what === '' ? '' : ` (${what})`}`);
    const healed = hold.done
      .then(heal)
      .then(() => {
        this.log(
          `fault  - ${kind} on ${target} after ${Math.round(performance.now() - started)} ms`,
        );
      })
      .catch((error: unknown) => {
        this.errors.push(`healing ${kind} on ${target}: ${(error as Error).message}`);
      })
      .finally(() => {
        this.#active.delete(target);
      });
    this.#active.set(target, { kind, target, cut: hold.cut, healed });
  }

  /** Applies a fault; returns how to heal it and a description of its parameters. */
  async #apply(kind: FaultKind, target: string): Promise<[() => Promise<void>, string]> {
    const cluster = this.cluster;
    if (target === CURRENT_MASTER) return this.#applyToMaster(kind);
    const node = cluster.nodes.find((candidate) => candidate.name === target)!;
    switch (kind) {
      case 'kill-master':
      case 'kill-secondary':
        await node.kill();
        return [() => restart(node), 'kill -9'];
      case 'pause-master':
      case 'pause-secondary':
        node.pause();
        return [
          () => {
            node.resume();
            return Promise.resolve();
          },
          'SIGSTOP',
        ];
      case 'partition-admin':
        await setFaults(node, { partitioned: true });
        return [() => setFaults(node, { partitioned: false }), 'partitioned'];
      case 'error-rate': {
        const errorRate = this.random.int(20, 70) / 100;
        await setFaults(node, { errorRate });
        return [() => setFaults(node, { errorRate: 0 }), `errorRate ${errorRate}`];
      }
      case 'delay': {
        const max = this.random.int(20, 400);
        await setFaults(node, { delayMs: [0, max] });
        return [() => setFaults(node, { delayMs: 0 }), `delayMs 0-${max}`];
      }
      case 'lost-replies':
      case 'proxy-delay':
        return this.#applyToProxy(kind, target);
      case 'kill-current-master':
      case 'pause-current-master':
      case 'partition-current-master':
        throw new Error(`${kind} is aimed at the current master, not at ${target}`);
      case 'iptables-partition':
      case 'iptables-one-way':
        return this.#applyIptables(kind, target);
    }
  }

  /** A fault of the proxy in front of secondary `target`: replies dropped or delayed. */
  #applyToProxy(
    kind: 'lost-replies' | 'proxy-delay',
    target: string,
  ): [() => Promise<void>, string] {
    const proxy = this.cluster.proxies.get(target);
    if (kind === 'lost-replies') {
      const dropReplyRate = this.random.int(20, 80) / 100;
      proxy!.configure({ dropReplyRate });
      return [
        () => {
          proxy!.configure({ dropReplyRate: 0 });
          return Promise.resolve();
        },
        `dropReplyRate ${dropReplyRate}`,
      ];
    }
    const max = this.random.int(20, 300);
    proxy!.configure({ delayMs: [0, max] });
    return [
      () => {
        proxy!.configure({ delayMs: 0 });
        return Promise.resolve();
      },
      `reply delay 0-${max} ms`,
    ];
  }

  /** An iptables DROP between secondary `target` and the master and proxy, in namespaces only. */
  async #applyIptables(
    kind: 'iptables-partition' | 'iptables-one-way',
    target: string,
  ): Promise<[() => Promise<void>, string]> {
    const lab = this.cluster.lab;
    if (lab === undefined) throw new Error('needs network namespaces');
    const mode: PartitionMode =
      kind === 'iptables-partition'
        ? 'both'
        : this.random.pick<PartitionMode>(['inbound', 'outbound']);
    await lab.partition(target, [lab.ipOf('master'), lab.proxyIp], mode);
    return [() => lab.heal(target), `iptables DROP ${mode}`];
  }

  /** A current-master kind, on whichever node GET /health says is master now (if any). */
  async #applyToMaster(kind: FaultKind): Promise<[() => Promise<void>, string]> {
    const found = await masterNow(this.cluster.nodes);
    if (found === undefined) return [() => Promise.resolve(), 'no master now: nothing done'];
    const node = found.node;
    const where = `${node.name}, epoch ${found.health.epoch}`;
    if (kind === 'kill-current-master') {
      await node.kill();
      return [() => restart(node), `kill -9 of ${where}`];
    }
    if (kind === 'pause-current-master') {
      node.pause();
      return [
        () => {
          node.resume();
          return Promise.resolve();
        },
        `SIGSTOP of ${where}`,
      ];
    }
    await setFaults(node, { partitioned: true });
    return [() => setFaults(node, { partitioned: false }), `/admin/faults partitioned: ${where}`];
  }
}

async function restart(node: NodeProcess): Promise<void> {
  let last: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      if (!node.running) await node.start(START_TIMEOUT_MS);
      return;
    } catch (error) {
      last = error;
      await node.kill();
      await sleep(200);
    }
  }
  throw new Error(`restart of ${node.name} failed 3 times: ${(last as Error).message}`);
}

async function setFaults(node: NodeProcess, faults: Record<string, unknown>): Promise<void> {
  const answer = await request(`${node.url}/admin/faults`, {
    method: 'PUT',
    json: faults,
    timeoutMs: 20_000,
  });
  if (answer.status !== 200)
    throw new Error(`PUT /admin/faults on ${node.name}: ${answer.status} ${answer.text}`);
}

export interface Entry {
  readonly id: number;
  readonly message: string;
}

/**
 * Reads every node's log periodically into observations (sharing unchanged entry objects). With
 * `markRestarts` (failover nodes, whose commit point is not durable), the first read after a
 * node's restart is marked `afterRestart`.
 */
export class Observer {
  readonly observations: LogObservation[] = [];
  errors = 0;
  readonly #previous = new Map<string, readonly Entry[]>();
  /** The node's start count at its previous read. */
  readonly #startsSeen = new Map<string, number>();
  /** One read at a time per node, so observations of a node are in the order the node served them. */
  readonly #locks = new Map<string, Promise<unknown>>();
  #stopping = false;
  #loops: Promise<void> = Promise.resolve();

  constructor(
    private readonly nodes: readonly NodeProcess[],
    private readonly options: { readonly markRestarts?: boolean } = {},
  ) {}

  start(intervalMs: number, endAt: number): void {
    this.#loops = Promise.all(
      this.nodes.map(async (node) => {
        for (let i = 0; i < 1_000_000 && !this.#stopping && performance.now() < endAt; i++) {
          if (node.running && !node.paused) await this.observe(node);
          await sleep(intervalMs);
        }
      }),
    ).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loops;
  }

  /** One read of `node`'s log; returns the entries, or undefined when it did not answer. */
  observe(node: NodeProcess): Promise<readonly Entry[] | undefined> {
    const before = this.#locks.get(node.name) ?? Promise.resolve();
    const next = before.then(() => this.#observe(node));
    this.#locks.set(
      node.name,
      next.catch(() => undefined),
    );
    return next;
  }

  async #observe(node: NodeProcess): Promise<readonly Entry[] | undefined> {
    let entries: Entry[];
    const starts = node.starts;
    try {
      const answer = await request<Entry[]>(`${node.url}/logs`, { timeoutMs: 3000 });
      if (answer.status !== 200 || !Array.isArray(answer.body)) {
        this.errors++;
        return undefined;
      }
      entries = answer.body;
    } catch {
      this.errors++;
      return undefined;
    }
    const at = performance.now();
    const previous = this.#previous.get(node.name) ?? [];
    for (let i = 0; i < entries.length && i < previous.length; i++) {
      const mine = entries[i]!;
      const before = previous[i]!;
      if (mine.id === before.id && mine.message === before.message) entries[i] = before;
    }
    this.#previous.set(node.name, entries);
    const seen = this.#startsSeen.get(node.name);
    this.#startsSeen.set(node.name, starts);
    const restarted = this.options.markRestarts === true && seen !== undefined && seen !== starts;
    this.observations.push({
      node: node.name,
      at,
      entries,
      ...(restarted ? { afterRestart: true } : {}),
    });
    return entries;
  }
}

function summarizeOperations(history: History): OperationSummary {
  const summary: OperationSummary = {
    total: 0,
    ok: 0,
    stored: 0,
    unknown: 0,
    refused: {},
    messages: 0,
  };
  for (const operation of history.appends) {
    summary.total++;
    summary.messages += operation.messages.length;
    const outcome = operation.outcome;
    if (outcome.kind === 'refused')
      summary.refused[outcome.code] = (summary.refused[outcome.code] ?? 0) + 1;
    else summary[outcome.kind]++;
  }
  return summary;
}

/** Runs one chaos session; cleans up every process, proxy, namespace and directory it made. */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((): void => undefined);
  const started = performance.now();
  const random = new Prng(options.seed);
  const failover = options.failover === true;
  // A usage error is thrown before anything is made; past this point `finally` removes it all.
  checkFaultKinds(options);
  const { lab, netnsNote } = await openNetns(options, failover, log);
  const session: Session = { options, log, random, failover, lab };
  let cluster: ChaosCluster | undefined;
  const observer = { current: undefined as Observer | undefined };
  let load: ClientLoad | undefined;
  try {
    const enabled = enabledKinds(options, lab !== undefined);
    if (enabled.length === 0) throw new Error('no fault kind enabled');
    cluster = await startSessionCluster(session);
    const clients = startClients(session, cluster);
    load = clients;
    const obs = new Observer(cluster.nodes, { markRestarts: failover });
    observer.current = obs;
    const { nemesis, runMs } = await runFaults(session, cluster, enabled, clients, obs);
    const settle = await healAndSettle(session, cluster, clients, obs, nemesis);
    const history = await recordHistory(cluster, clients, obs, failover);
    const violations = checkHistory(history);
    const masterLast = [...obs.observations].reverse().find((o) => o.node === 'master');
    const proxies = Object.fromEntries(
      [...cluster.proxies].map(([name, proxy]) => [name, { ...proxy.stats }]),
    );
    const broken = violations.length > 0 || !settle.converged || nemesis.errors.length > 0;
    return {
      seed: options.seed,
      netns: lab !== undefined,
      inMemory: options.inMemory === true,
      netnsNote,
      runMs,
      totalMs: performance.now() - started,
      operations: summarizeOperations(history),
      clientStats: clients.stats,
      faults: nemesis.counts,
      enabledFaults: enabled,
      nemesisErrors: nemesis.errors,
      proxies,
      observations: obs.observations.length,
      finalLength: masterLast?.entries.length ?? 0,
      converged: settle.converged,
      convergenceNote: settle.note,
      violations,
      history,
      diagnostics: broken ? cluster.local.dump(40) : '',
    };
  } finally {
    // On an error midway: no more attempts, so no client outlives the run.
    load?.stopNew();
    load?.giveUpAt(0);
    await observer.current?.stop();
    if (cluster !== undefined) await stopChaosCluster(cluster);
    await lab?.destroy();
  }
}

/** What the steps of one session share: its options, seeded draws and namespaces, if any. */
interface Session {
  readonly options: ChaosOptions;
  readonly log: (line: string) => void;
  /** Forked in a fixed order (proxies, clients, nemesis), so that a seed replays the run. */
  readonly random: Prng;
  readonly failover: boolean;
  readonly lab: NetnsLab | undefined;
}

/**
 * Network namespaces when asked for and available (never with failover); `netnsNote` says why
 * not when `auto` found them unavailable.
 */
async function openNetns(
  options: ChaosOptions,
  failover: boolean,
  log: (line: string) => void,
): Promise<{ lab: NetnsLab | undefined; netnsNote: string | undefined }> {
  const mode = options.netns ?? 'off';
  if (failover && mode === 'on')
    throw new Error(
      '--netns on with --failover: the iptables faults are written for a fixed master; use --netns off',
    );
  if (mode === 'off' || failover) return { lab: undefined, netnsNote: undefined };
  const support = await netnsSupport();
  if (support.ok) {
    const lab = await NetnsLab.create(['master', ...secondaryNames(options.secondaries ?? 2)]);
    log(`netns: namespaces on ${lab.subnet}.0/24, ${lab.iptables}`);
    return { lab, netnsNote: undefined };
  }
  if (mode === 'on') {
    throw new Error(`--netns on, but network namespaces are not available: ${support.reason}`);
  }
  log(`netns: not used (${support.reason})`);
  return { lab: undefined, netnsNote: support.reason };
}

/** The failover nodes, or master and secondaries behind their fault proxies; logs where. */
async function startSessionCluster(session: Session): Promise<ChaosCluster> {
  const { options, random } = session;
  const cluster = session.failover
    ? await startFailoverChaosCluster(options.secondaries ?? 2)
    : await startChaosCluster(
        options.secondaries ?? 2,
        session.lab,
        options.inMemory !== true,
        random.fork(0x9e37),
      );
  session.log(
    `cluster: ${cluster.nodes.map((node) => `${node.name}=${node.url}`).join(' ')}; proxies ${[
      ...cluster.proxies,
    ]
      .map(([name, proxy]) => `${name}=${proxy.url}`)
      .join(' ')}`,
  );
  return cluster;
}

/** The keyed retrying clients; with failover, spread over every node. */
function startClients(session: Session, cluster: ChaosCluster): ClientLoad {
  const options = session.options;
  return new ClientLoad({
    masterUrl: cluster.master.url,
    clients: options.clients,
    nodes: cluster.nodes.length,
    prefix: `chaos-${options.seed}-${Date.now().toString(36)}`,
    random: session.random.fork(1),
    maxPerClient: 1_000_000,
    ...(session.failover ? { urls: cluster.nodes.map((node) => node.url) } : {}),
  });
}

/**
 * The run proper: the observer's reads and the nemesis's faults for options.durationMs, with a
 * progress line every 5 s. Returns the nemesis (its counts and errors) and how long it ran.
 */
async function runFaults(
  session: Session,
  cluster: ChaosCluster,
  enabled: readonly FaultKind[],
  clients: ClientLoad,
  obs: Observer,
): Promise<{ nemesis: Nemesis; runMs: number }> {
  const { options, log } = session;
  const runStart = performance.now();
  const endAt = runStart + options.durationMs;
  obs.start(options.observeIntervalMs ?? 300, endAt + 120_000);
  const nemesis = new Nemesis(cluster, enabled, session.random.fork(2), options, log);
  const progress = setInterval(() => {
    log(
      `t=${((performance.now() - runStart) / 1000).toFixed(0)}s ops ${clients.operations.length} in flight ${clients.inFlight} faults [${nemesis.active.join(', ')}]`,
    );
  }, 5000);
  try {
    await nemesis.run(endAt);
  } finally {
    clearInterval(progress);
  }
  return { nemesis, runMs: performance.now() - runStart };
}

/**
 * After the run: every fault healed, the clients' last appends ended, then a bounded wait for
 * every node to show the same log, and a last read of each.
 */
async function healAndSettle(
  session: Session,
  cluster: ChaosCluster,
  clients: ClientLoad,
  obs: Observer,
  nemesis: Nemesis,
): Promise<{ converged: boolean; note: string }> {
  // Heal: every fault removed (the nemesis healed its own; make sure of everything).
  session.log('heal: every fault removed, every node up; waiting for the clients and convergence');
  await healEverything(cluster, nemesis);
  clients.stopNew();
  clients.giveUpAt(performance.now() + 20_000);
  await clients.finished();
  await obs.stop();
  const settle = await waitForConvergence(
    cluster,
    obs,
    session.options.settleTimeoutMs ?? 40_000,
    nemesis,
  );
  // Final observations: the last of each node, after everything settled.
  for (const node of cluster.nodes) await obs.observe(node);
  return settle;
}

/** The session as the checker sees it; with failover, the master at the end and the F-record. */
async function recordHistory(
  cluster: ChaosCluster,
  clients: ClientLoad,
  obs: Observer,
  failover: boolean,
): Promise<History> {
  return {
    appends: clients.operations,
    observations: obs.observations,
    master: failover
      ? ((await masterNow(cluster.nodes))?.node.name ?? cluster.master.name)
      : cluster.master.name,
    nodes: cluster.nodes.map((node) => node.name),
    healed: true,
    ...(failover ? { failover: await failoverRecord(cluster.nodes) } : {}),
  };
}

/** Throws if a fault kind asked for cannot be used in this mode (fixed master or failover). */
function checkFaultKinds(options: ChaosOptions): void {
  if (options.failover === true) {
    const unusable = (options.faults ?? []).filter((kind) => !FAILOVER_FAULTS.includes(kind));
    if (unusable.length > 0)
      throw new Error(
        `with failover the fault kinds are ${FAILOVER_FAULTS.join(', ')}; ${unusable.join(', ')} cannot be used (no fault proxy between failover nodes)`,
      );
    return;
  }
  const failoverOnly = (options.faults ?? []).filter((kind) =>
    CURRENT_MASTER_FAULTS.includes(kind),
  );
  if (failoverOnly.length > 0)
    throw new Error(`${failoverOnly.join(', ')} need failover (--failover)`);
}

/**
 * The kinds of this run: those asked for (checked already), by default every one that applies;
 * with failover those of FAILOVER_FAULTS only, without namespaces none that needs them.
 */
function enabledKinds(options: ChaosOptions, netns: boolean): FaultKind[] {
  if (options.failover === true) return [...(options.faults ?? FAILOVER_FAULTS)];
  return (options.faults ?? FAULT_KINDS).filter(
    (kind) => (netns || !NETNS_FAULTS.includes(kind)) && !CURRENT_MASTER_FAULTS.includes(kind),
  );
}

function secondaryNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `sub${i + 1}`);
}

async function healEverything(cluster: ChaosCluster, nemesis: Nemesis): Promise<void> {
  await nemesis.healAll();
  for (const node of cluster.nodes) if (node.paused) node.resume();
  await cluster.lab?.healAll();
  for (const proxy of cluster.proxies.values()) proxy.configure({ dropReplyRate: 0, delayMs: 0 });
  for (const node of cluster.nodes) {
    try {
      await restart(node);
    } catch (error) {
      nemesis.errors.push(`final heal: ${(error as Error).message}`);
    }
  }
  // A failover node can be partitioned whatever its role; a fixed master has no faults.
  const faulted =
    cluster.proxies.size === 0 && cluster.lab === undefined ? cluster.nodes : cluster.secondaries;
  for (const sub of faulted) {
    try {
      await setFaults(sub, { partitioned: false, errorRate: 0, delayMs: 0 });
    } catch (error) {
      nemesis.errors.push(`final heal: ${(error as Error).message}`);
    }
  }
}

/** Waits (bounded) until every node shows the same log twice in a row. */
async function waitForConvergence(
  cluster: ChaosCluster,
  observer: Observer,
  timeoutMs: number,
  nemesis: Nemesis,
): Promise<{ converged: boolean; note: string }> {
  const deadline = performance.now() + timeoutMs;
  const begun = performance.now();
  let stable = 0;
  let note = '';
  for (let i = 0; i < 10_000 && performance.now() < deadline; i++) {
    const logs: (readonly Entry[] | undefined)[] = [];
    for (const node of cluster.nodes) logs.push(await observer.observe(node));
    const master = logs[0];
    const same =
      master !== undefined &&
      logs.every((entries) => entries !== undefined && sameLog(entries, master));
    if (same) {
      stable++;
      if (stable >= 2) {
        return {
          converged: true,
          note: `converged at ${master.length} entries in ${Math.round(performance.now() - begun)} ms`,
        };
      }
    } else {
      stable = 0;
      note = cluster.nodes
        .map((node, index) => `${node.name}: ${logs[index]?.length ?? 'no answer'}`)
        .join(', ');
    }
    await sleep(250);
  }
  const health = await request(`${cluster.master.url}/health`, { timeoutMs: 3000 }).catch(
    (error: unknown) => ({ text: String(error) }),
  );
  nemesis.errors.push(`no convergence within ${timeoutMs} ms`);
  return {
    converged: false,
    note: `no convergence within ${timeoutMs} ms (${note}); master /health: ${health.text}`,
  };
}

function sameLog(a: readonly Entry[], b: readonly Entry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y && (x.id !== y.id || x.message !== y.message)) return false;
  }
  return true;
}

/** A human-readable summary: operations by outcome, faults by kind, and every violation. */
export function formatSummary(result: ChaosResult): string {
  const lines: string[] = [];
  const ops = result.operations;
  const refused = Object.entries(ops.refused)
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
  lines.push(
    `chaos: seed ${result.seed}${result.inMemory ? ' (NEGATIVE CONTROL: logs in memory)' : ''}, ${result.netns ? 'network namespaces + iptables' : `loopback${result.netnsNote === undefined ? '' : ` (no namespaces: ${result.netnsNote})`}`}, faults+load ${(result.runMs / 1000).toFixed(1)} s, total ${(result.totalMs / 1000).toFixed(1)} s`,
  );
  lines.push(
    `operations: ${ops.total} appends (${ops.messages} messages): ok ${ops.ok}, stored (504) ${ops.stored}, refused ${Object.values(ops.refused).reduce((a, b) => a + b, 0)}${refused === '' ? '' : ` (${refused})`}, unknown ${ops.unknown}`,
  );
  const stats = result.clientStats;
  lines.push(
    `attempts: ${stats.attempts} (${stats.networkErrors} without an answer, ${stats.retried503} retried after 503)`,
  );
  lines.push(
    `faults: ${result.enabledFaults.map((kind) => `${kind} ${result.faults[kind]}`).join(', ')}`,
  );
  for (const [name, proxy] of Object.entries(result.proxies)) {
    lines.push(
      `proxy ${name}: ${proxy.requests} requests, ${proxy.repliesDropped} replies dropped after storing, ${proxy.delayed} delayed, ${proxy.upstreamErrors} upstream errors`,
    );
  }
  lines.push(
    `observations: ${result.observations} log reads; final log ${result.finalLength} entries; ${result.converged ? 'converged' : 'NOT CONVERGED'}: ${result.convergenceNote}`,
  );
  for (const error of result.nemesisErrors) lines.push(`nemesis error: ${error}`);
  for (const anomaly of stats.anomalies.slice(0, 20)) lines.push(`unexpected answer: ${anomaly}`);
  if (stats.anomalies.length > 20)
    lines.push(`... ${stats.anomalies.length - 20} more unexpected answers`);
  lines.push(`violations: ${result.violations.length}`);
  for (const violation of result.violations) {
    lines.push(`  [${violation.guarantee}] ${violation.message}`);
    for (const index of violation.operations.slice(0, 4)) {
      const operation = result.history.appends[index];
      if (operation === undefined) continue;
      lines.push(
        `      op ${index}: ${JSON.stringify(operation.messages)} key ${operation.idempotencyKey ?? '-'} ${JSON.stringify(operation.outcome)} invoked ${operation.invokedAt.toFixed(0)} completed ${operation.completedAt.toFixed(0)}`,
      );
    }
  }
  return lines.join('\n');
}
