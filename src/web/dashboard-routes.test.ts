import { systemClock } from '../adapters/clock.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { request, waitFor, type ErrorBody } from '../e2e/harness.js';
import { createServer } from '../http/create-server.js';
import type { DashboardState } from './client/dashboard-wire.js';
import { FakeMaster, FakeSecondary, serveFake } from './dashboard-fixtures.js';
import { registerDashboard } from './dashboard-routes.js';

const TOKEN = 'route-test-token';
const logger = pino({ enabled: false });
/** The nodes' defaults (config.ts). */
const limits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 1024,
  maxInflightBodyBytes: 64 * 1024 * 1024,
};

let assetsDir: string;
before(() => {
  assetsDir = mkdtempSync(join(tmpdir(), 'rlog-dashboard-assets-'));
  writeFileSync(join(assetsDir, 'index.html'), '<!doctype html><title>dashboard</title>');
  writeFileSync(join(assetsDir, 'dashboard.js'), 'export {};');
  writeFileSync(join(assetsDir, 'dashboard.css'), 'body { color: black; }');
  writeFileSync(join(assetsDir, 'notes.txt'), 'not served');
});
after(() => {
  rmSync(assetsDir, { recursive: true, force: true });
});

interface Master {
  readonly app: FastifyInstance;
  readonly master: FakeMaster;
  readonly url: string;
}

async function startMaster(
  secondaries: readonly { name: string; url: string }[],
  options: {
    token?: string;
    appendsNeedToken?: boolean;
    assetsDir?: string;
    maxClients?: number;
  } = {},
): Promise<Master> {
  const master = new FakeMaster(secondaries);
  const app = createServer({
    logger,
    clock: systemClock,
    maxBodyBytes: 1 << 20,
    maxMessageBytes: 1024,
    limits,
  });
  registerDashboard(app, {
    node: master,
    clock: systemClock,
    clusterToken: options.token,
    appendsNeedToken: options.appendsNeedToken ?? false,
    logger,
    maxMessageBytes: 1024,
    assetsDir: options.assetsDir ?? assetsDir,
    hub: { pollIntervalMs: 20, pollTimeoutMs: 300, minBroadcastIntervalMs: 20 },
    events: { maxClients: options.maxClients ?? 32, heartbeatMs: 50 },
    proxyTimeoutMs: 300,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, master, url };
}

/** A page's event stream, read as it comes. */
interface EventStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Every `state` event so far. */
  readonly states: DashboardState[];
  /** Everything received so far, comments included. */
  text(): string;
  readonly ended: Promise<void>;
  close(): void;
}

function openEvents(url: string): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = get(`${url}/dashboard/events`, (response) => {
      const states: DashboardState[] = [];
      let text = '';
      let pending = '';
      response.setEncoding('utf8');
      const ended = new Promise<void>((done) => {
        response.on('close', done);
      });
      response.on('data', (chunk: string) => {
        text += chunk;
        pending += chunk;
        for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n')) {
          const lines = pending.slice(0, end).split('\n');
          pending = pending.slice(end + 2);
          const data = lines.find((line) => line.startsWith('data: '));
          if (lines.includes('event: state') && data !== undefined) {
            states.push(JSON.parse(data.slice('data: '.length)) as DashboardState);
          }
        }
      });
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        states,
        text: () => text,
        ended,
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

void describe('dashboard pages', () => {
  void it('GET / serves the page with its security headers, and 304 when current', async () => {
    const { app, url } = await startMaster([]);
    try {
      const page = await request(`${url}/`);
      assert.equal(page.status, 200);
      assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(page.headers.get('cache-control'), 'no-cache');
      assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.equal(page.text, '<!doctype html><title>dashboard</title>');
      const etag = page.headers.get('etag');
      assert.ok(etag !== null);
      const again = await request(`${url}/`, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304);
      assert.equal(again.text, '');
    } finally {
      await app.close();
    }
  });

  void it('GET /assets/<file> serves the script and style with their types, nothing else', async () => {
    const { app, url } = await startMaster([]);
    try {
      const script = await request(`${url}/assets/dashboard.js`);
      assert.equal(script.status, 200);
      assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal(script.headers.get('x-content-type-options'), 'nosniff');
      const style = await request(`${url}/assets/dashboard.css`);
      assert.equal(style.headers.get('content-type'), 'text/css; charset=utf-8');
      for (const path of ['/assets/notes.txt', '/assets/nope.js', '/assets/..%2Fpackage.json']) {
        const missing = await request<ErrorBody>(`${url}${path}`);
        assert.equal(missing.status, 404, path);
        assert.equal(missing.body.error.code, 'NOT_FOUND');
      }
    } finally {
      await app.close();
    }
  });

  void it('GET / says how to build the page when its files are missing', async () => {
    const { app, url } = await startMaster([], { assetsDir: join(assetsDir, 'absent') });
    try {
      const page = await request<ErrorBody>(`${url}/`);
      assert.equal(page.status, 503);
      assert.equal(page.body.status, 'error');
      assert.equal(page.body.error.code, 'DASHBOARD_NOT_BUILT');
      assert.match(page.body.error.message, /npm run build/);
    } finally {
      await app.close();
    }
  });
});

void describe('dashboard state', () => {
  const sub1 = new FakeSecondary('sub1', TOKEN);
  const silent = new FakeSecondary('sub2', TOKEN);
  let servers: { url: string; close(): Promise<void> }[] = [];
  let master: Master;

  before(async () => {
    silent.silent = true;
    servers = [await serveFake(sub1), await serveFake(silent)];
    master = await startMaster(
      [
        { name: 'sub1', url: servers[0]!.url },
        { name: 'sub2', url: servers[1]!.url },
      ],
      { token: TOKEN, appendsNeedToken: true, maxClients: 2 },
    );
  });
  after(async () => {
    await master.app.close();
    await Promise.all(servers.map((server) => server.close()));
  });

  void it('GET /dashboard/state: every node; a silent one unreachable within the deadline', async () => {
    master.master.append('one', 'two');
    sub1.append('one');
    const answer = await request<DashboardState>(`${master.url}/dashboard/state`);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    const state = answer.body;
    assert.equal(state.appendsNeedToken, true, 'the page shows the API token field');
    assert.equal(state.faultsNeedToken, true, 'the page shows the cluster token field');
    assert.deepEqual(
      state.master.tail.map((entry) => entry.message),
      ['one', 'two'],
    );
    const [first, second] = state.secondaries;
    assert.ok(first !== undefined && second !== undefined, 'two secondaries');
    assert.deepEqual([first.reach, first.lastId, first.faults.state], ['reachable', 1, 'on']);
    assert.equal(sub1.lastAuthorization, `Bearer ${TOKEN}`, 'asked with the cluster token');
    assert.equal(second.reach, 'unreachable');
    assert.match(second.reachError ?? '', /no answer within 300 ms/);
  });

  void it('events: a state at once, then changes and heartbeats; at most maxClients pages', async () => {
    const first = await openEvents(master.url);
    const second = await openEvents(master.url);
    try {
      assert.equal(first.status, 200);
      assert.equal(first.headers['content-type'], 'text/event-stream; charset=utf-8');
      await waitFor(() => first.states.length >= 1, 10_000, 'the first state');
      master.master.append('three');
      await waitFor(
        () => first.states.at(-1)?.master.lastId === master.master.entries.length,
        10_000,
        'a state with the new entry',
      );
      await waitFor(() => first.text().includes(': heartbeat\n\n'), 10_000, 'a heartbeat');

      const refused = await request<ErrorBody>(`${master.url}/dashboard/events`);
      assert.equal(refused.status, 503);
      assert.equal(refused.body.error.code, 'OVERLOADED');
      assert.match(refused.body.error.message, /limit 2/);
      assert.equal(refused.headers.get('retry-after'), '5');

      second.close();
      await second.ended;
      const third = await waitFor(
        async () => {
          const stream = await openEvents(master.url);
          if (stream.status === 200) return stream;
          stream.close();
          return undefined;
        },
        2000,
        "a closed page's place taken by a new one",
      );
      third.close();
    } finally {
      first.close();
      second.close();
    }
  });

  void it('fault proxy: token, unknown name, invalid body, forwarding, silent secondary', async () => {
    const base = `${master.url}/admin/secondaries`;
    const auth = { authorization: `Bearer ${TOKEN}` };

    const anonymous = await request<ErrorBody>(`${base}/sub1/faults`);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.code, 'UNAUTHORIZED');
    const wrong = await request<ErrorBody>(`${base}/sub1/faults`, {
      method: 'PUT',
      json: { partitioned: true },
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(sub1.faults.partitioned, false, 'nothing forwarded without the token');

    const unknown = await request<ErrorBody>(`${base}/sub9/faults`, { headers: auth });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'NOT_FOUND');
    assert.match(unknown.body.error.message, /sub1, sub2/);

    const invalid = await request<ErrorBody>(`${base}/sub1/faults`, {
      method: 'PUT',
      json: { partitioned: 'yes' },
      headers: auth,
    });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.code, 'INVALID_REQUEST');

    const set = await request(`${base}/sub1/faults`, {
      method: 'PUT',
      json: { partitioned: true, delayMs: 200 },
      headers: auth,
    });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body, { delayMs: 200, errorRate: 0, partitioned: true });
    assert.equal(sub1.lastAuthorization, `Bearer ${TOKEN}`);
    assert.ok(sub1.requests.includes('PUT /admin/faults'));
    const read = await request(`${base}/sub1/faults`, { headers: auth });
    assert.deepEqual(read.body, sub1.faults);

    const unreachable = await request<ErrorBody>(`${base}/sub2/faults`, { headers: auth });
    assert.equal(unreachable.status, 502);
    assert.equal(unreachable.body.error.code, 'SECONDARY_UNREACHABLE');
    // Bounded by the proxy's timeout, which it names.
    assert.match(unreachable.body.error.message, /sub2 at http:\/\/127\.0\.0\.1:\d+ .*300 ms/);
  });
});

void describe('dashboard without a cluster token', () => {
  void it("needs no token and passes the secondary's refusal through unchanged", async () => {
    const sub1 = new FakeSecondary('sub1');
    sub1.faultInjection = false;
    const server = await serveFake(sub1);
    const { app, url } = await startMaster([{ name: 'sub1', url: server.url }]);
    try {
      const answer = await request<ErrorBody>(`${url}/admin/secondaries/sub1/faults`, {
        method: 'PUT',
        json: { errorRate: 0.3 },
      });
      assert.equal(answer.status, 404);
      assert.deepEqual(answer.body, {
        status: 'error',
        error: { code: 'FAULT_INJECTION_DISABLED', message: 'fault injection is off' },
      });
      assert.equal(sub1.lastAuthorization, undefined);
    } finally {
      await app.close();
      await server.close();
    }
  });

  void it('closing the server ends the open event streams at once', async () => {
    const { app, url } = await startMaster([]);
    const stream = await openEvents(url);
    await waitFor(() => stream.states.length >= 1, 10_000, 'the first state');
    assert.equal(stream.states[0]?.appendsNeedToken, false, 'no API token field on the page');
    assert.equal(stream.states[0].faultsNeedToken, false, 'no cluster token field on the page');
    // An open stream would hold the server open for good (its socket has no idle timeout).
    let closed = false;
    let ended = false;
    void app.close().then(() => (closed = true));
    void stream.ended.then(() => (ended = true));
    await waitFor(() => closed && ended, 5000, 'the server closed and the stream ended');
  });
});
