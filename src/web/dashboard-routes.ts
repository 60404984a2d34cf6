import type { FastifyInstance } from 'fastify';
import type { Clock } from '../adapters/clock.js';
import type { Logger } from '../adapters/logger.js';
import type { TimelineView } from './client/dashboard-wire.js';
import {
  DEFAULT_EVENT_STREAM_OPTIONS,
  DashboardEvents,
  type EventStreamOptions,
} from './dashboard-events.js';
import { DashboardHub, type DashboardMaster, type HubOptions } from './dashboard-hub.js';
import { DEFAULT_PROXY_TIMEOUT_MS, registerFaultsProxy } from './faults-proxy.js';
import { secondaryCaller, type CallSecondary } from './secondary-client.js';
import { registerPageRoutes } from './page-routes.js';

export interface DashboardDeps {
  readonly node: DashboardMaster;
  readonly clusterToken: string | undefined;
  /** Whether appends need API_TOKEN: the page shows its field only then. */
  readonly appendsNeedToken: boolean;
  /** The master's recent replication, for the chart and the diagram (see replication-timeline.ts). */
  readonly timeline?: { view(): TimelineView };
  /** CAs trusted for https:// secondaries (TLS_CA, or the master's own certificate). */
  readonly ca?: readonly string[] | undefined;
  readonly logger: Logger;
  /** What the hub and the event streams wait on. */
  readonly clock: Clock;
  /** MAX_MESSAGE_BYTES, which bounds what a secondary's log answer may weigh. */
  readonly maxMessageBytes: number;
  /** Where the page's files are; default dist/web/public. */
  readonly assetsDir?: string;
  /** How the master asks secondaries; default undici's fetch with the cluster token. */
  readonly call?: CallSecondary;
  readonly hub?: Partial<HubOptions>;
  readonly events?: Partial<EventStreamOptions>;
  readonly proxyTimeoutMs?: number;
}

/**
 * The master's web dashboard: `GET /` (the page) and `/assets/*` (its files), the live state as
 * Server-Sent Events (`GET /dashboard/events`) or once (`GET /dashboard/state`), and fault
 * injection on secondaries forwarded through the master (`/admin/secondaries/:name/faults`).
 */
export function registerDashboard(app: FastifyInstance, deps: DashboardDeps): void {
  const call = deps.call ?? secondaryCaller(deps.clusterToken, deps.ca);
  const clock = deps.clock;
  const hub = new DashboardHub({
    master: deps.node,
    call,
    logger: deps.logger,
    clock,
    maxMessageBytes: deps.maxMessageBytes,
    appendsNeedToken: deps.appendsNeedToken,
    faultsNeedToken: deps.clusterToken !== undefined,
    ...(deps.timeline === undefined ? {} : { timeline: deps.timeline }),
    options: deps.hub ?? {},
  });
  const events = new DashboardEvents(hub, deps.logger, clock, {
    ...DEFAULT_EVENT_STREAM_OPTIONS,
    ...deps.events,
  });
  // Open event streams would keep the server from closing: end them first.
  app.addHook('preClose', (done) => {
    events.closeAll();
    hub.close();
    done();
  });

  registerPageRoutes(app, {
    page: 'index.html',
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
  // No HEAD twin: a HEAD request would hold a place among the streams and never get an event.
  app.get('/dashboard/events', { exposeHeadRoute: false }, (_request, reply) => {
    events.open(reply);
  });

  registerFaultsProxy(app, {
    secondaries: deps.node.health().secondaries,
    clusterToken: deps.clusterToken,
    call,
    timeoutMs: deps.proxyTimeoutMs ?? DEFAULT_PROXY_TIMEOUT_MS,
    onFaults: (name, faults) => {
      hub.noteFaults(name, faults);
    },
  });
}
