import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Clock } from '../adapters/clock.js';
import type { Logger } from '../adapters/logger.js';
import { ApiError } from '../http/api-error.js';
import { requireToken } from '../http/create-server.js';
import { SecondaryParams } from '../http/schemas.js';
import { StopBody } from '../protocol/messages.js';
import { KILL_PATH, STOP_PATH } from '../protocol/paths.js';
import { ClusterHub, type ClusterHubOptions, type ClusterNode } from './cluster-hub.js';
import {
  DEFAULT_EVENT_STREAM_OPTIONS,
  DashboardEvents,
  type EventStreamOptions,
} from './dashboard-events.js';
import { DEFAULT_PROXY_TIMEOUT_MS } from './faults-proxy.js';
import { registerPageRoutes } from './page-routes.js';
import type { RoleChangeFeed } from './role-change-feed.js';
import { SecondaryCallError, secondaryCaller, type CallSecondary } from './secondary-client.js';

export interface ClusterDashboardDeps {
  readonly node: ClusterNode;
  /** The node's role changes (its FailoverObserver feeds it). */
  readonly feed: RoleChangeFeed;
  readonly clusterToken: string | undefined;
  /** CAs trusted for https:// peers (TLS_CA, or the node's own certificate). */
  readonly ca?: readonly string[] | undefined;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Where the page's files are; default dist/web/public. */
  readonly assetsDir?: string;
  /** How the node asks its peers; default undici's fetch with the cluster token. */
  readonly call?: CallSecondary;
  readonly hub?: Partial<ClusterHubOptions>;
  readonly events?: Partial<EventStreamOptions>;
  readonly proxyTimeoutMs?: number;
}

const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * A failover node's web dashboard (FAILOVER=true), served by every node: `GET /` (the cluster
 * page), `/assets/*`, the whole cluster's state as Server-Sent Events (`GET /dashboard/events`)
 * or once (`GET /dashboard/state`), and the Kill/Stop buttons' requests
 * (`POST /admin/nodes/:name/kill|stop`), forwarded to that node's `/admin/kill|stop` with the
 * cluster token: the page cannot reach the other nodes itself.
 */
export function registerClusterDashboard(app: FastifyInstance, deps: ClusterDashboardDeps): void {
  const call = deps.call ?? secondaryCaller(deps.clusterToken, deps.ca);
  const hub = new ClusterHub({
    node: deps.node,
    feed: deps.feed,
    call,
    logger: deps.logger,
    clock: deps.clock,
    faultsNeedToken: deps.clusterToken !== undefined,
    options: deps.hub ?? {},
  });
  const events = new DashboardEvents(hub, deps.logger, deps.clock, {
    ...DEFAULT_EVENT_STREAM_OPTIONS,
    ...deps.events,
  });
  app.addHook('preClose', (done) => {
    events.closeAll();
    hub.close();
    done();
  });
  registerPageRoutes(app, {
    page: 'cluster.html',
    logger: deps.logger,
    ...(deps.assetsDir === undefined ? {} : { assetsDir: deps.assetsDir }),
  });
  app.get('/dashboard/state', async (_request, reply) => {
    const { json } = await hub.refresh();
    return reply
      .type('application/json; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(json);
  });
  app.get('/dashboard/events', { exposeHeadRoute: false }, (_request, reply) => {
    events.open(reply);
  });
  registerNodeFaultsProxy(app, deps, call);
}

/** `POST /admin/nodes/:name/kill` and `/stop`, forwarded as they are to that node. */
function registerNodeFaultsProxy(
  app: FastifyInstance,
  deps: ClusterDashboardDeps,
  call: CallSecondary,
): void {
  const auth = requireToken(deps.clusterToken);
  const guarded = auth === undefined ? {} : { onRequest: auth };
  const peers = deps.node.config.peers;
  const timeoutMs = deps.proxyTimeoutMs ?? DEFAULT_PROXY_TIMEOUT_MS;
  const forward = async (
    name: string,
    reply: FastifyReply,
    path: string,
    body: string | undefined,
  ): Promise<FastifyReply> => {
    const peer = peers.find((candidate) => candidate.name === name);
    if (peer === undefined) {
      const known = peers.map((candidate) => candidate.name).join(', ');
      throw new ApiError(
        404,
        'NOT_FOUND',
        `no node named ${JSON.stringify(name)}; the nodes are: ${known}`,
      );
    }
    let answer;
    try {
      answer = await call(peer.url, {
        method: 'POST',
        path,
        ...(body === undefined ? {} : { body }),
        timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
      });
    } catch (error) {
      if (!(error instanceof SecondaryCallError)) throw error;
      throw new ApiError(
        502,
        'SECONDARY_UNREACHABLE',
        `${peer.name} at ${peer.url} gave no usable answer (${error.message}); check that it runs, then retry`,
      );
    }
    if (answer.status === 401) {
      throw new ApiError(
        502,
        'SECONDARY_UNREACHABLE',
        `${peer.name} refused this node's cluster token: every node needs the same CLUSTER_TOKEN`,
      );
    }
    void reply.code(answer.status);
    if (answer.contentType !== undefined) void reply.type(answer.contentType);
    return reply.send(answer.text);
  };
  app.post<{ Params: SecondaryParams }>(
    '/admin/nodes/:name/kill',
    { schema: { params: SecondaryParams }, ...guarded },
    (request, reply) => forward(request.params.name, reply, KILL_PATH, undefined),
  );
  app.post<{ Params: SecondaryParams; Body: StopBody }>(
    '/admin/nodes/:name/stop',
    { schema: { params: SecondaryParams, body: StopBody }, ...guarded },
    (request, reply) =>
      forward(request.params.name, reply, STOP_PATH, JSON.stringify(request.body)),
  );
}
