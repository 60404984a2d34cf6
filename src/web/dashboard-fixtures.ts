/**
 * Test doubles for the dashboard's tests: a master whose health and log the test sets, and a
 * secondary that answers `/health`, `/logs` and `/admin/faults` as the contract says, called
 * directly (hub tests) or over real HTTP (route tests). A "silent" secondary answers nothing,
 * as a paused process would.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../adapters/clock.js';
import type { Entry } from '../core/entry.js';
import type { PeerSnapshot } from '../core/master-core.js';
import type { FaultSettings } from './client/dashboard-wire.js';
import type { DashboardMaster } from './dashboard-hub.js';
import type { MasterSample } from './dashboard-state.js';
import { SecondaryCallError, type CallSecondary } from './secondary-client.js';

export function peerSnapshot(
  name: string,
  url: string,
  patch: Partial<PeerSnapshot> = {},
): PeerSnapshot {
  return {
    name,
    url,
    status: 'Healthy',
    ackedId: 0,
    lag: 0,
    lastContactMs: 50,
    missedProbes: 0,
    mode: 'replicate',
    inflightBatches: 0,
    failedAttempts: 0,
    lastError: null,
    ...patch,
  };
}

export class FakeMaster implements DashboardMaster {
  readonly entries: Entry[] = [];
  status: 'ok' | 'read-only' = 'ok';
  peers: PeerSnapshot[];
  reads = 0;

  constructor(secondaries: readonly { name: string; url: string }[]) {
    this.peers = secondaries.map((peer) => peerSnapshot(peer.name, peer.url));
  }

  append(...messages: string[]): void {
    for (const message of messages) {
      this.entries.push({ id: this.entries.length + 1, epoch: 1, message });
    }
  }

  setPeer(name: string, patch: Partial<PeerSnapshot>): void {
    this.peers = this.peers.map((peer) => (peer.name === name ? { ...peer, ...patch } : peer));
  }

  health(): MasterSample {
    const size = this.peers.length + 1;
    const healthy = 1 + this.peers.filter((peer) => peer.status !== 'Unhealthy').length;
    return {
      node: 'master',
      status: this.status,
      quorum: { size, required: Math.floor(size / 2) + 1, healthy },
      log: { lastId: this.entries.length },
      waitingAppends: 0,
      secondaries: this.peers,
    };
  }

  read(sinceId: number, limit: number): Entry[] {
    this.reads += 1;
    return this.entries.slice(sinceId, sinceId + limit);
  }
}

export interface FakeAnswer {
  readonly status: number;
  readonly body: unknown;
}

export class FakeSecondary {
  readonly entries: { id: number; message: string }[] = [];
  incarnation = 'incarnation-1';
  logId = 'log-1';
  faultInjection = true;
  faults: FaultSettings = { delayMs: 0, errorRate: 0, partitioned: false };
  /** Answers nothing while true. */
  silent = false;
  /** Every request, as `METHOD /path?query`. */
  readonly requests: string[] = [];
  /** The Authorization header of the last request. */
  lastAuthorization: string | undefined;

  constructor(
    readonly name: string,
    readonly token?: string,
  ) {}

  append(...messages: string[]): void {
    for (const message of messages) {
      this.entries.push({ id: this.entries.length + 1, message });
    }
  }

  /** A restart with an empty log. */
  restartEmpty(incarnation: string): void {
    this.entries.length = 0;
    this.incarnation = incarnation;
  }

  handle(
    method: string,
    pathAndQuery: string,
    body: string | undefined,
    authorization: string | undefined,
  ): FakeAnswer {
    this.requests.push(`${method} ${pathAndQuery}`);
    this.lastAuthorization = authorization;
    const url = new URL(pathAndQuery, 'http://fake');
    if (url.pathname === '/health') {
      return {
        status: 200,
        body: {
          node: this.name,
          role: 'secondary',
          status: 'ok',
          logId: this.logId,
          incarnation: this.incarnation,
          log: { lastId: this.entries.length, pending: 0 },
          master: { url: null, lastContactMs: 10 },
        },
      };
    }
    if (url.pathname === '/logs') {
      const since = Number(url.searchParams.get('since') ?? '0');
      const limit = Number(url.searchParams.get('limit') ?? String(this.entries.length));
      return { status: 200, body: this.entries.slice(since, since + limit) };
    }
    if (url.pathname === '/admin/faults') {
      if (this.token !== undefined && authorization !== `Bearer ${this.token}`) {
        return envelope(401, 'UNAUTHORIZED', 'this endpoint needs the cluster token');
      }
      if (!this.faultInjection) {
        return envelope(404, 'FAULT_INJECTION_DISABLED', 'fault injection is off');
      }
      if (method === 'PUT') {
        this.faults = { ...this.faults, ...(JSON.parse(body ?? '{}') as Partial<FaultSettings>) };
      }
      return { status: 200, body: this.faults };
    }
    return envelope(404, 'NOT_FOUND', `no route ${method} ${url.pathname}`);
  }
}

function envelope(status: number, code: string, message: string): FakeAnswer {
  return { status, body: { status: 'error', error: { code, message } } };
}

/**
 * A caller that reaches fake secondaries by URL without HTTP; a silent one fails after the
 * call's timeout on `clock`, as the real caller does.
 */
export function fakeCaller(
  secondaries: ReadonlyMap<string, FakeSecondary>,
  clock: Clock,
  token?: string,
): CallSecondary {
  return async (baseUrl, call) => {
    const secondary = secondaries.get(baseUrl);
    if (secondary === undefined)
      throw new SecondaryCallError(`${call.method} ${call.path}: refused`);
    if (secondary.silent) {
      await new Promise<void>((resolve) => clock.schedule(call.timeoutMs, resolve));
      throw new SecondaryCallError(
        `${call.method} ${call.path}: no answer within ${call.deadlineMs ?? call.timeoutMs} ms`,
      );
    }
    const answer = secondary.handle(
      call.method,
      call.path,
      call.body,
      token === undefined ? undefined : `Bearer ${token}`,
    );
    return {
      status: answer.status,
      contentType: 'application/json; charset=utf-8',
      retryAfter: undefined,
      text: JSON.stringify(answer.body),
    };
  };
}

/** Serves a fake secondary over HTTP on a free loopback port. */
export async function serveFake(
  secondary: FakeSecondary,
): Promise<{ readonly url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (secondary.silent) return;
      const body = chunks.length === 0 ? undefined : Buffer.concat(chunks).toString('utf8');
      const answer = secondary.handle(
        request.method ?? 'GET',
        request.url ?? '/',
        body,
        request.headers.authorization,
      );
      response.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
