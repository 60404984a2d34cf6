import { setTimeout as sleep } from 'node:timers/promises';
import { LocalCluster } from '../launcher/cluster.js';
import type { NodeProcess } from '../launcher/node-process.js';
import { DEFAULT_MASTER_URL } from './commands.js';
import {
  clusterClient,
  masterChangeText,
  waitForMaster,
  watchMaster,
  type MasterNow,
} from './master-watch.js';
import { prettyLogLine } from '../adapters/pretty-log.js';

export interface ClusterOptions {
  readonly secondaries: number;
  readonly basePort: number;
  readonly host: string;
  /** Print the nodes' JSON lines as they are instead of the short human form. */
  readonly json: boolean;
  /** Extra environment for every node (LOG_LEVEL, ...). */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Each node keeps its log in `dataDir/<node name>`; undefined: in memory, or with failover (the
   * nodes need a disk) in a temporary directory removed when the cluster stops.
   */
  readonly dataDir: string | undefined;
  /** Extra environment for the master only (HEARTBEAT_INTERVAL_MS, ...); with failover, every node's. */
  readonly masterEnv: Readonly<Record<string, string>>;
  /** Automatic failover (the default): the nodes elect the master; false keeps `master` fixed. */
  readonly failover: boolean;
}

/** How long a node has to stop on Ctrl-C before it is killed. */
const STOP_GRACE_MS = 10_000;
/** How long each node has to answer GET /health before the cluster is reported as not started. */
const START_TIMEOUT_MS = 15_000;
/** How long a started failover cluster has to name its master before the greeting says none. */
const ELECTED_TIMEOUT_MS = 15_000;

/**
 * `rlog cluster`: a master and N secondaries as child processes of this one, each started exactly
 * as a container would start it (`rlog master` / `rlog secondary` with environment variables),
 * their log lines merged on this terminal. With failover (the default) every node gets PEERS and
 * `master` only leads the first epoch; a line names each new master. Ctrl-C stops them all.
 */
export async function runCluster(options: ClusterOptions): Promise<number> {
  const names = ['master', ...Array.from({ length: options.secondaries }, (_, i) => `sub${i + 1}`)];
  const width = Math.max(...names.map((name) => name.length));
  const color = process.stdout.isTTY;
  // An object, not a boolean: it is flipped from signal handlers the compiler cannot see.
  const state = { stopping: false, stopped: Promise.resolve() };
  const { failover } = options;
  const cluster = await LocalCluster.create({
    secondaries: options.secondaries,
    host: options.host,
    ports: names.map((_, index) => options.basePort + index),
    inherit: 'all',
    env: { FAULT_INJECTION: 'true', ...options.env, ...(failover ? options.masterEnv : {}) },
    masterEnv: options.masterEnv,
    ...dataDirsOf(options),
    failover,
    stopGraceMs: STOP_GRACE_MS,
    onLine: (name, line) => {
      process.stdout.write(
        `${options.json ? `[${name}] ${line}` : prettyLogLine(line, width, color)}\n`,
      );
    },
    onExit: (name, how) => {
      if (!state.stopping)
        process.stdout.write(
          `${name} exited (${how}); the other nodes keep running${failover ? ' (and elect a new master if it was the master)' : ''}\n`,
        );
    },
  });
  const abort = new AbortController();
  const stop = (): void => {
    if (state.stopping) return;
    state.stopping = true;
    abort.abort(new Error('stopping'));
    state.stopped = cluster.stop();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const up = await startNodes(cluster, failover, abort.signal);
  const portsLost = cluster.nodes.filter(lostItsPort);
  if (portsLost.length > 0) {
    // Another process took a port between the check and the start: nothing of this cluster runs.
    stop();
    await state.stopped;
    const ports = portsLost.map((node) => `${node.name}'s port ${node.port}`).join(', ');
    process.stderr.write(
      `cluster: ${ports} already taken (EADDRINUSE); every node of this cluster is stopped: stop what holds ${portsLost.length === 1 ? 'it' : 'them'}, or start with another --base-port\n`,
    );
    return 1;
  }
  let watching = Promise.resolve();
  if (up && failover) {
    const client = clusterClient(cluster.nodes.map((node) => node.url));
    const master = await waitForMaster(client, ELECTED_TIMEOUT_MS, abort.signal);
    if (!state.stopping) process.stdout.write(readyText(cluster, options, master));
    watching = watchMaster(client, master, abort.signal, (now) => {
      process.stdout.write(`${masterChangeText(now)}\n`);
    });
  } else if (up) {
    process.stdout.write(readyText(cluster, options, undefined));
  } else if (!state.stopping) {
    process.stdout.write(
      'cluster: some nodes did not start (see their lines above); Ctrl-C stops the rest\n',
    );
  }
  // Until every node has ended: Ctrl-C, or each exits by itself.
  await Promise.all(cluster.nodes.map((node) => node.whenExited()));
  abort.abort(new Error('stopped'));
  await watching;
  await state.stopped;
  return 0;
}

/** The nodes' data directories: `dataDir`, else with failover a temporary one, else none. */
function dataDirsOf(
  options: ClusterOptions,
): { dataDirs: { root: string } | { temporary: string } } | Record<string, never> {
  if (options.dataDir !== undefined) return { dataDirs: { root: options.dataDir } };
  return options.failover ? { dataDirs: { temporary: 'rlog-cluster-' } } : {};
}

/**
 * Secondaries first, so that the master's first requests find them listening; the master even if
 * one of them did not answer in time (it still runs and may come up). With failover all at once,
 * so that `master` (which leads epoch 1 of a fresh cluster) is up before a secondary that hears
 * no master stands for election. True when all answered, each from its own process: a node
 * answering GET /health may be another cluster's on the same port, so a node counts as up only
 * once it has said that it listens, and while it still runs.
 */
async function startNodes(
  cluster: LocalCluster,
  failover: boolean,
  signal: AbortSignal,
): Promise<boolean> {
  const started = (node: NodeProcess): Promise<boolean> =>
    node.start(START_TIMEOUT_MS, signal).then(
      () => listensItself(node, signal),
      () => false,
    );
  if (failover) return (await Promise.all(cluster.nodes.map(started))).every(Boolean);
  const secondariesUp = await Promise.all(cluster.secondaries.map(started));
  if (signal.aborted) return false;
  const masterUp = await started(cluster.master);
  return masterUp && secondariesUp.every(Boolean) && !signal.aborted;
}

/** How often a started node's output is checked for its own "listening on" line. */
const LISTEN_POLL_MS = 25;

/** Waits (bounded) until `node` says it listens; false if it exits, is stopped, or stays silent. */
async function listensItself(node: NodeProcess, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (node.running && !signal.aborted && Date.now() < deadline) {
    if (node.output.some((line) => line.includes(' listening on '))) return true;
    await sleep(LISTEN_POLL_MS);
  }
  return false;
}

/** True when the node could not listen because its port was taken. */
function lostItsPort(node: NodeProcess): boolean {
  return !node.running && node.output.some((line) => line.includes('EADDRINUSE'));
}

function readyText(
  cluster: LocalCluster,
  options: ClusterOptions,
  master: MasterNow | undefined,
): string {
  const { dataDir, failover } = options;
  const storage =
    dataDir !== undefined
      ? `logs in ${dataDir}/<node> (--in-memory to keep them ${failover ? 'in a temporary directory' : 'in memory'})`
      : failover
        ? `logs in ${cluster.dataRoot ?? '?'}/<node>, removed on exit (--data-dir DIR keeps them)`
        : 'logs in memory';
  const url = master?.url ?? cluster.master.url;
  const others = cluster.nodes.filter((node) => node.url !== url);
  const nodes = others.map((node) => `${node.name} ${node.url}`).join(', ');
  const head = !failover
    ? `cluster ready: master ${url}, ${nodes}`
    : master === undefined
      ? `cluster ready (failover on): no master elected yet; nodes ${cluster.nodes.map((node) => `${node.name} ${node.url}`).join(', ')}`
      : `cluster ready (failover on): master ${master.name} ${url} (epoch ${master.epoch}), ${nodes}`;
  const client = failover
    ? `npx rlog shell --nodes ${cluster.nodes.map((node) => node.url).join(',')}`
    : `npx rlog shell${url === DEFAULT_MASTER_URL ? '' : ` --master ${url}`}`;
  const failoverLine = failover
    ? 'failover: if the master dies, the others elect a new one (a line here names it); --no-failover keeps a fixed master\n'
    : '';
  return (
    `${head}; ${storage}; Ctrl-C stops all\n${failoverLine}` +
    `dashboard: ${url}/   terminal client: ${client}   API: ${url}/docs\n`
  );
}
