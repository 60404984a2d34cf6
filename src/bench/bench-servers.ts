/**
 * The server each bench run measures, started fresh for the run and stopped after it: the no-op
 * server (started once, shared), our cluster on a fixed master or with failover, Redis or etcd.
 * Each comes with what the generator drives and the processes whose CPU the bench samples.
 */
import { waitForMaster } from '../e2e/failover-cluster.js';
import { LocalCluster } from '../launcher/cluster.js';
import type { NodeProcess } from '../launcher/node-process.js';
import { freePortsIn, type PortRange } from '../launcher/ports.js';
import { etcdPath, ETCD_MISSING, ETCD_PUT_PATH, startEtcd } from './anchors/etcd.js';
import { REDIS_MISSING, redisConnect, redisServerPath, startRedis } from './anchors/redis.js';
import { HEALTH_TIMEOUT_MS, HOST, startBenchCluster } from './bench-cluster.js';
import { MESSAGE, requestBody, type Scenario } from './bench-scenarios.js';
import type { Connect, HttpTarget } from './load-generator.js';

/** A process whose CPU is sampled and whose end is noticed. */
export interface Watched {
  readonly name: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly exitText: string | undefined;
}

export interface RunServer {
  /** What the generator drives. */
  readonly target: HttpTarget | { readonly connect: Connect };
  readonly watched: readonly Watched[];
  /** Our nodes among them, whose warnings the bench reports. */
  readonly nodes: readonly NodeProcess[];
  stop(): Promise<void>;
}

export interface ServerContext {
  readonly ports: PortRange;
  /** Ports of the range held by the no-op server. */
  readonly taken: readonly number[];
  readonly signal: AbortSignal;
  readonly nodeEnv: Readonly<Record<string, string>>;
  readonly nodeArgs: (name: string) => readonly string[];
  readonly noop: NodeProcess;
}

const STOP_GRACE_MS = 3000;
/** The failover nodes wait for each other, then the node named master leads epoch 1. */
const FAILOVER_MASTER_TIMEOUT_MS = 30_000;

/** Why an anchor cannot run here (its binary is missing), or undefined when it can. */
export function anchorMissing(scenario: Scenario): string | undefined {
  if (scenario.server === 'redis')
    return redisServerPath() === undefined ? REDIS_MISSING : undefined;
  if (scenario.server === 'etcd') return etcdPath() === undefined ? ETCD_MISSING : undefined;
  return undefined;
}

export async function startServer(scenario: Scenario, context: ServerContext): Promise<RunServer> {
  const http = (origin: string): HttpTarget => ({
    origin,
    path: '/logs',
    body: requestBody(scenario),
  });
  switch (scenario.server) {
    case 'noop':
      return { target: http(context.noop.url), watched: [context.noop], nodes: [], stop: noStop };
    case 'cluster': {
      const cluster = await startBenchCluster({
        ports: context.ports,
        taken: context.taken,
        secondaries: 2,
        signal: context.signal,
        durable: scenario.fsync === true,
        nodeEnv: context.nodeEnv,
        nodeArgs: context.nodeArgs,
      });
      return ourCluster(cluster, http(cluster.master.url));
    }
    case 'failover':
      return startFailover(scenario, context, http);
    case 'redis':
      return startRedisServer(scenario, context);
    case 'etcd':
      return startEtcdServer(scenario, context);
  }
}

function noStop(): Promise<void> {
  return Promise.resolve();
}

function ourCluster(cluster: LocalCluster, target: HttpTarget): RunServer {
  return { target, watched: cluster.nodes, nodes: cluster.nodes, stop: () => cluster.stop() };
}

/** Three failover nodes on disk (FSYNC=always or never); the load goes to the master /health names. */
async function startFailover(
  scenario: Scenario,
  context: ServerContext,
  http: (origin: string) => HttpTarget,
): Promise<RunServer> {
  const ports = await freePortsIn(context.ports, 3, HOST, context.taken);
  const cluster = await LocalCluster.launch(
    {
      secondaries: 2,
      failover: true,
      ports,
      env: {
        LOG_LEVEL: 'warn',
        ...context.nodeEnv,
        FSYNC: scenario.fsync === true ? 'always' : 'never',
      },
      dataDirs: { temporary: 'rlog-bench-fo-' },
      nodeArgs: context.nodeArgs,
      stopGraceMs: STOP_GRACE_MS,
    },
    { timeoutMs: HEALTH_TIMEOUT_MS, signal: context.signal },
  );
  try {
    const { node } = await waitForMaster(cluster.nodes, FAILOVER_MASTER_TIMEOUT_MS, context.signal);
    return ourCluster(cluster, http(node.url));
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

async function startRedisServer(scenario: Scenario, context: ServerContext): Promise<RunServer> {
  const executable = redisServerPath();
  if (executable === undefined) throw new Error(REDIS_MISSING);
  const ports = await freePortsIn(context.ports, 3, HOST, context.taken);
  const redis = await startRedis(executable, ports, context.signal);
  const connect = redisConnect(redis.port, MESSAGE, scenario.redisReplicas ?? 2);
  return { target: { connect }, watched: redis.processes, nodes: [], stop: () => redis.stop() };
}

async function startEtcdServer(scenario: Scenario, context: ServerContext): Promise<RunServer> {
  const executable = etcdPath();
  if (executable === undefined) throw new Error(ETCD_MISSING);
  const ports = await freePortsIn(context.ports, 6, HOST, context.taken);
  const etcd = await startEtcd(executable, ports, context.signal);
  const target: HttpTarget = {
    origin: etcd.leaderUrl,
    path: ETCD_PUT_PATH,
    body: requestBody(scenario),
  };
  return { target, watched: etcd.processes, nodes: [], stop: () => etcd.stop() };
}
