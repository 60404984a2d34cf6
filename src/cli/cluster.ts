import { setTimeout as sleep } from 'node:timers/promises';
import { LocalCluster } from '../launcher/cluster.js';
import type { NodeProcess } from '../launcher/node-process.js';
import { DEFAULT_MASTER_URL } from './commands.js';
import { prettyLogLine } from '../adapters/pretty-log.js';

export interface ClusterOptions {
  readonly secondaries: number;
  readonly basePort: number;
  readonly host: string;
  /** Print the nodes' JSON lines as they are instead of the short human form. */
  readonly json: boolean;
  /** Extra environment for every node (LOG_LEVEL, ...). */
  readonly env: Readonly<Record<string, string>>;
  /** Each node keeps its log in `dataDir/<node name>`; undefined: in memory. */
  readonly dataDir: string | undefined;
  /** Extra environment for the master only (HEARTBEAT_INTERVAL_MS, ...). */
  readonly masterEnv: Readonly<Record<string, string>>;
}

/** How long a node has to stop on Ctrl-C before it is killed. */
const STOP_GRACE_MS = 10_000;
/** How long each node has to answer GET /health before the cluster is reported as not started. */
const START_TIMEOUT_MS = 15_000;

/**
 * `rlog cluster`: a master and N secondaries as child processes of this one, each started exactly
 * as a container would start it (`rlog master` / `rlog secondary` with environment variables),
 * their log lines merged on this terminal. Ctrl-C stops them all.
 */
export async function runCluster(options: ClusterOptions): Promise<number> {
  const names = ['master', ...Array.from({ length: options.secondaries }, (_, i) => `sub${i + 1}`)];
  const width = Math.max(...names.map((name) => name.length));
  const color = process.stdout.isTTY;
  // An object, not a boolean: it is flipped from signal handlers the compiler cannot see.
  const state = { stopping: false, stopped: Promise.resolve() };
  const cluster = await LocalCluster.create({
    secondaries: options.secondaries,
    host: options.host,
    ports: names.map((_, index) => options.basePort + index),
    inherit: 'all',
    env: { FAULT_INJECTION: 'true', ...options.env },
    masterEnv: options.masterEnv,
    ...(options.dataDir === undefined ? {} : { dataDirs: { root: options.dataDir } }),
    stopGraceMs: STOP_GRACE_MS,
    onLine: (name, line) => {
      process.stdout.write(
        `${options.json ? `[${name}] ${line}` : prettyLogLine(line, width, color)}\n`,
      );
    },
    onExit: (name, how) => {
      if (!state.stopping)
        process.stdout.write(`${name} exited (${how}); the other nodes keep running\n`);
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

  const up = await startNodes(cluster, abort.signal);
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
  if (up) {
    process.stdout.write(readyText(cluster, options.dataDir));
  } else if (!state.stopping) {
    process.stdout.write(
      'cluster: some nodes did not start (see their lines above); Ctrl-C stops the rest\n',
    );
  }
  // Until every node has ended: Ctrl-C, or each exits by itself.
  await Promise.all(cluster.nodes.map((node) => node.whenExited()));
  await state.stopped;
  return 0;
}

/**
 * Secondaries first, so that the master's first requests find them listening; the master even if
 * one of them did not answer in time (it still runs and may come up). True when all answered,
 * each from its own process: a node answering GET /health may be another cluster's on the same
 * port, so a node counts as up only once it has said that it listens, and while it still runs.
 */
async function startNodes(cluster: LocalCluster, signal: AbortSignal): Promise<boolean> {
  const started = (node: NodeProcess): Promise<boolean> =>
    node.start(START_TIMEOUT_MS, signal).then(
      () => listensItself(node, signal),
      () => false,
    );
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

function readyText(cluster: LocalCluster, dataDir: string | undefined): string {
  const masterUrl = cluster.master.url;
  const storage =
    dataDir === undefined
      ? 'logs in memory'
      : `logs in ${dataDir}/<node> (--in-memory to keep them in memory)`;
  const secondaries = cluster.secondaries.map((node) => `${node.name} ${node.url}`).join(', ');
  return (
    `cluster ready: master ${masterUrl}, ${secondaries}; ${storage}; Ctrl-C stops all\n` +
    `dashboard: ${masterUrl}/   terminal client: npx rlog shell${masterUrl === DEFAULT_MASTER_URL ? '' : ` --master ${masterUrl}`}   API: ${masterUrl}/docs\n`
  );
}
