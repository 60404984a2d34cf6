import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { InvariantError } from '../core/assert.js';
import { stopOnInvariant } from '../node/fatal.js';
import { systemClock, type Clock } from '../adapters/clock.js';
import { HttpReplicationTransport } from '../adapters/http-replication-transport.js';
import { createLogger, type Logger } from '../adapters/logger.js';
import { MemoryLogStore } from '../adapters/memory-log-store.js';
import { loadTlsMaterial, type TlsMaterial } from '../adapters/tls-material.js';
import { FileLogStore } from '../adapters/file-store/file-log-store.js';
import type { LogStore } from '../adapters/log-store.js';
import {
  advertisedUrlOf,
  failoverLogId,
  type FailoverConfig,
  type MasterConfig,
  type NodeConfig,
  type SecondaryConfig,
} from '../config/config.js';
import { assert } from '../core/assert.js';
import { quorumView } from '../core/quorum.js';
import { ElectionStateFile } from '../adapters/election-state-file.js';
import { RollbackFile } from '../adapters/rollback-file.js';
import { registerFailoverRoutes } from '../http/failover-routes.js';
import { FailoverMetrics } from '../node/failover/failover-metrics.js';
import { FailoverNode, type FailoverNodeConfig } from '../node/failover/failover-node.js';
import type { MasterHealth } from '../node/master-node.js';
import { createServer, type ServerOptions } from '../http/create-server.js';
import { appendEndpoint, type AppendingNode } from '../http/master-routes.js';
import { registerReadRoutes } from '../http/read-routes.js';
import { registerSecondaryRoutes } from '../http/secondary-routes.js';
import { replicationEndpoint, type RequestInterceptor } from '../http/replication-endpoint.js';
import { registerAdminFallback } from '../http/admin-routes.js';
import { registerApiDocsRoutes } from '../http/api-docs-routes.js';
import { registerMetricsRoutes } from '../http/metrics-routes.js';
import { MasterMetrics } from '../node/master-metrics.js';
import { MasterNode } from '../node/master-node.js';
import { NodeMetrics } from '../node/metrics.js';
import { SecondaryMetrics } from '../node/secondary-metrics.js';
import { SecondaryNode } from '../node/secondary-node.js';
import { processFaults } from '../adapters/process-faults.js';
import { registerProcessFaultRoutes } from '../http/process-fault-routes.js';
import { registerClusterDashboard } from '../web/cluster-routes.js';
import { registerDashboard } from '../web/dashboard-routes.js';
import { observeFailoverBoth, RoleChangeFeed } from '../web/role-change-feed.js';
import { observeBoth, ReplicationTimeline } from '../web/replication-timeline.js';

export interface RunningNode {
  readonly url: string;
  readonly logger: Logger;
  stop(): Promise<void>;
}

/** What the master and the secondary are wired with alike. */
interface Wiring {
  readonly logger: Logger;
  readonly store: LogStore;
  readonly metrics: NodeMetrics;
  readonly tls: TlsMaterial | undefined;
  readonly serverOptions: ServerOptions;
}

/** A node behind its HTTP server, not listening yet. */
interface Wired {
  readonly app: FastifyInstance;
  readonly stopNode: () => Promise<void>;
}

/**
 * The composition root: the one place that picks the real adapters (file or memory store, undici
 * transport, system clock, Math.random, crypto ids) and wires a node behind its HTTP server. The
 * simulator wires the same node classes to its own edges (src/sim/sim-nodes.ts).
 */
export async function startNode(
  config: NodeConfig,
  warnings: readonly string[] = [],
): Promise<RunningNode> {
  // A failover node's role and epoch change: each line says them as they are then.
  let describeNode = (): { role: string; epoch: number } => ({ role: 'starting', epoch: 0 });
  const logger = createLogger(
    config.name,
    config.role,
    config.logLevel,
    config.logFormat,
    config.role === 'failover' ? () => describeNode() : undefined,
  );
  // Read before anything starts: a missing or unreadable file stops the node with its name.
  const tls = loadTlsMaterial(config.tls);
  for (const warning of warnings) logger.warn({ event: 'config-warning' }, warning);
  warnAboutExposure(config, logger);
  const metrics = new NodeMetrics(config.name, config.role);
  const store = openStore(config, logger, metrics);
  const serverOptions: ServerOptions = {
    logger,
    clock: systemClock,
    maxBodyBytes: config.maxBodyBytes,
    maxMessageBytes: config.maxMessageBytes,
    limits: config,
    tls,
  };
  const wiring: Wiring = { logger, store, metrics, tls, serverOptions };
  const { app, stopNode } =
    config.role === 'master'
      ? await wireMaster(config, wiring)
      : config.role === 'secondary'
        ? await wireSecondary(config, wiring)
        : await wireFailover(config, wiring, (node) => {
            describeNode = () => node.describe();
          });
  registerMetricsRoutes(app, metrics);
  registerApiDocsRoutes(app);
  const listened = await app.listen({
    host: config.host,
    port: config.port,
    listenTextResolver: (url) =>
      `${config.role === 'failover' ? `failover node (${config.preferredRole} first)` : config.role} ${config.name} listening on ${https(url, tls)}`,
  });
  let stopping: Promise<void> | undefined;
  return {
    url: https(listened, tls),
    logger,
    stop() {
      stopping ??= (async () => {
        await stopNode();
        await app.close();
        await store.close();
      })();
      return stopping;
    },
  };
}

function warnAboutExposure(config: NodeConfig, logger: Logger): void {
  if (config.clusterToken === undefined && !isLoopback(config.host)) {
    logger.warn(
      { event: 'no-cluster-token', host: config.host },
      `no CLUSTER_TOKEN while listening on ${config.host}: anyone who reaches this port can call the internal and admin endpoints; set CLUSTER_TOKEN to the same secret on every node`,
    );
  }
  if (
    config.role !== 'secondary' &&
    config.tls !== undefined &&
    config.secondaries.some((peer) => peer.url.startsWith('http:'))
  ) {
    logger.warn(
      { event: 'cleartext-secondaries' },
      'TLS_CERT is set but some SECONDARIES URLs are http://: replication and the cluster token go to them in clear text; give them as https://',
    );
  }
}

function openStore(config: NodeConfig, logger: Logger, metrics: NodeMetrics): LogStore {
  if (config.dataDir === undefined) return new MemoryLogStore();
  return new FileLogStore({
    dataDir: config.dataDir,
    fsync: config.fsync,
    fsyncIntervalMs: config.fsyncIntervalMs,
    segmentBytes: config.segmentBytes,
    logger,
    onFsync: metrics.fsyncObserved,
  });
}

/** What both nodes take from the real world: the store, the system's clock, randomness and ids. */
function productionEdges(wiring: Wiring): {
  readonly store: LogStore;
  readonly clock: Clock;
  readonly random: () => number;
  readonly newId: () => string;
  readonly logger: Logger;
} {
  return {
    store: wiring.store,
    clock: systemClock,
    random: Math.random,
    newId: randomUUID,
    logger: wiring.logger,
  };
}

async function wireMaster(config: MasterConfig, wiring: Wiring): Promise<Wired> {
  const { logger, store, tls } = wiring;
  const transport = new HttpReplicationTransport({
    connectionsPerPeer: config.maxInflightBatches,
    clusterToken: config.clusterToken,
    ca: tls?.ca,
  });
  // The metrics read the node at scrape time; the node reports events to them, and to the
  // dashboard's timeline (its chart and space-time diagram).
  const timeline = new ReplicationTimeline(systemClock, () => node.health().secondaries);
  const observer = observeBoth(new MasterMetrics(wiring.metrics, () => node), timeline);
  const node: MasterNode = new MasterNode({
    ...productionEdges(wiring),
    config,
    transport,
    fatal: (error) => {
      if (error instanceof InvariantError) stopOnInvariant(logger, error);
      // Any other bug in reply handling: an uncaught error stops the process all the same.
      throw error;
    },
    observer,
  });
  await startOrClose(node, store);
  const app = createServer({
    ...wiring.serverOptions,
    routes: appendRoutes(node, config, logger),
  });
  registerReadRoutes(app, node, config, {
    clock: systemClock,
    registry: wiring.metrics.registry,
  });
  registerAdminFallback(app, config.clusterToken, 'master');
  registerDashboard(app, {
    node,
    timeline,
    clock: systemClock,
    clusterToken: config.clusterToken,
    appendsNeedToken: config.apiToken !== undefined,
    ca: tls?.ca,
    logger,
    maxMessageBytes: config.maxMessageBytes,
  });
  return { app, stopNode: () => node.stop() };
}

async function wireSecondary(config: SecondaryConfig, wiring: Wiring): Promise<Wired> {
  const { logger, store } = wiring;
  const observer = new SecondaryMetrics(wiring.metrics, () => node);
  const node: SecondaryNode = new SecondaryNode({
    ...productionEdges(wiring),
    config,
    observer,
  });
  await startOrClose(node, store);
  const app = createServer({
    ...wiring.serverOptions,
    intercept: replicationEndpoint(node, { clusterToken: config.clusterToken, logger }),
  });
  registerReadRoutes(app, node, config, {
    clock: systemClock,
    registry: wiring.metrics.registry,
  });
  registerSecondaryRoutes(app, node, {
    clusterToken: config.clusterToken,
    masterUrl: config.masterUrl,
    faultInjection: config.faultInjection,
  });
  registerAdminFallback(app, config.clusterToken, 'secondary');
  return { app, stopNode: () => node.stop() };
}

async function wireFailover(
  config: FailoverConfig,
  wiring: Wiring,
  made: (node: FailoverNode) => void,
): Promise<Wired> {
  const { logger, store, tls } = wiring;
  const dataDir = config.dataDir;
  // loadNodeConfig refuses FAILOVER=true without DATA_DIR: a forgotten vote could be cast twice.
  assert(dataDir !== undefined, 'a failover node keeps its election state in DATA_DIR');
  const transport = new HttpReplicationTransport({
    connectionsPerPeer: config.maxInflightBatches,
    clusterToken: config.clusterToken,
    ca: tls?.ca,
  });
  const idleHealth = (): MasterHealth => idleMasterHealth(config, node);
  const masterObserver = new MasterMetrics(
    wiring.metrics,
    () =>
      node.master ?? {
        health: idleHealth,
        storeWritesInFlight: 0,
      },
  );
  // The dashboard's elections list: the node's first role change can come at its start.
  const roleChanges = new RoleChangeFeed(systemClock);
  const node: FailoverNode = new FailoverNode({
    ...productionEdges(wiring),
    config: failoverNodeConfig(config),
    electionStore: new ElectionStateFile({ dataDir, logger }),
    wallClockMs: Date.now,
    rollbackStore: new RollbackFile(dataDir, logger),
    transport,
    fatal: (error) => {
      if (error instanceof InvariantError) stopOnInvariant(logger, error);
      throw error;
    },
    masterObserver,
    observer: observeFailoverBoth(new FailoverMetrics(wiring.metrics, () => node), roleChanges),
  });
  made(node);
  await startOrClose(node, store);
  const app = createServer({
    ...wiring.serverOptions,
    intercept: replicationEndpoint(node, { clusterToken: config.clusterToken, logger }),
    routes: appendRoutes(node, config, logger),
  });
  registerReadRoutes(app, node, config, { clock: systemClock, registry: wiring.metrics.registry });
  registerFailoverRoutes(app, node, config);
  // The dashboard, served by every node: the whole cluster, and Kill/Stop for any node.
  registerProcessFaultRoutes(app, processFaults(logger), {
    node: config.name,
    clusterToken: config.clusterToken,
    faultInjection: config.faultInjection,
  });
  registerClusterDashboard(app, {
    node,
    feed: roleChanges,
    clock: systemClock,
    clusterToken: config.clusterToken,
    ca: tls?.ca,
    logger,
  });
  registerAdminFallback(app, config.clusterToken, 'secondary');
  return { app, stopNode: () => node.stop() };
}

/** `POST /logs` and `POST /messages`, served before fastify (see appendEndpoint). */
function appendRoutes(
  node: AppendingNode,
  config: MasterConfig | FailoverConfig,
  logger: Logger,
): RequestInterceptor {
  return appendEndpoint(
    node,
    {
      maxBodyBytes: config.maxBodyBytes,
      maxMessageBytes: config.maxMessageBytes,
      maxBatchCount: config.maxBatchCount,
      apiToken: config.apiToken,
    },
    { logger },
    systemClock,
  );
}

/** The failover node's view of its configuration: peers, advertised URLs, both roles' options. */
function failoverNodeConfig(config: FailoverConfig): FailoverNodeConfig {
  const { peers, electionTimeoutMs } = config.failover;
  const advertisedUrls = new Map(
    peers.map((peer) => [peer.name, advertisedUrlOf(config, peer.name) ?? peer.url]),
  );
  return {
    self: config.name,
    peers,
    advertisedUrls,
    electionTimeoutMs,
    logId: failoverLogId(peers),
    preferredRole: config.preferredRole,
    master: { ...config, role: 'master' },
    secondary: { ...config, role: 'secondary' },
  };
}

/** What the master's gauges read while this failover node does not lead. */
function idleMasterHealth(config: FailoverConfig, node: FailoverNode): MasterHealth {
  const health = node.health();
  return {
    node: config.name,
    role: 'master',
    status: 'read-only',
    readOnly: true,
    logId: health.logId ?? '',
    epoch: health.epoch,
    // The node itself is the one healthy node it can vouch for: it leads nothing.
    quorum: quorumView(config.failover.peers.length, 1),
    log: { lastId: health.log.lastId },
    waitingAppends: 0,
    secondaries: [],
  };
}

/** Fastify names the address http:// whatever the server is: it did not create ours. */
function https(url: string, tls: TlsMaterial | undefined): string {
  return tls === undefined ? url : url.replace(/^http:/, 'https:');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Starts a node; if that fails (a corrupt or locked data directory), releases the store first. */
async function startOrClose(node: { start(): Promise<void> }, store: LogStore): Promise<void> {
  try {
    await node.start();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}
