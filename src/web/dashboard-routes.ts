import type { FastifyInstance } from 'fastify';
import type { Clock } from '../adapters/clock.js';
import type { Logger } from '../adapters/logger.js';
import { ApiError } from '../http/api-error.js';
import type { TimelineView } from './client/dashboard-wire.js';
import {
  DEFAULT_EVENT_STREAM_OPTIONS,
  DashboardEvents,
  type EventStreamOptions,
} from './dashboard-events.js';
import { DashboardHub, type DashboardMaster, type HubOptions } from './dashboard-hub.js';
import { DEFAULT_PROXY_TIMEOUT_MS, registerFaultsProxy } from './faults-proxy.js';
import { secondaryCaller, type CallSecondary } from './secondary-client.js';
import { DEFAULT_ASSETS_DIR, loadAssets, sendAsset } from './static-assets.js';

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
 * The page may run only its own script and style and talk only to this master; with log
 * messages on it (anyone's text), that is what keeps a crafted message from running as code.
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

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

  const assetsDir = deps.assetsDir ?? DEFAULT_ASSETS_DIR;
  const assets = loadAssets(assetsDir, deps.logger);
  app.get('/', (request, reply) => {
    const page = assets.get('index.html');
    if (page === undefined) {
      throw new ApiError(
        503,
        'DASHBOARD_NOT_BUILT',
        `the dashboard's files are not in ${assetsDir}; build the master with npm run build`,
      );
    }
    return sendAsset(request, reply, page, PAGE_HEADERS);
  });
  app.get<{ Params: { file: string } }>('/assets/:file', (request, reply) => {
    const asset = assets.get(request.params.file);
    if (asset === undefined) {
      throw new ApiError(404, 'NOT_FOUND', `no dashboard file ${request.params.file}`);
    }
    return sendAsset(request, reply, asset);
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
