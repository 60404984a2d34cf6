/**
 * Strangers and bad clients on real nodes: the API token, secrets kept out of logs, slow and
 * half-open connections, too many connections, oversized headers, and floods of large bodies or
 * waiting appends. Each is refused with its documented answer, nothing refused is stored, the
 * node keeps serving others, memory stays bounded and service returns by itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BODY_GRACE_MS, MIN_BODY_BYTES_PER_S } from '../http/body-budget.js';
import {
  openConnections,
  RawConnection,
  request,
  runRlog,
  waitFor,
  withCluster,
  type ErrorBody,
} from './harness.js';

const CLUSTER_TOKEN = 'cluster-secret-4a1f';
const API_TOKEN = 'api-secret-93be';

test('API_TOKEN: appends need it (401, nothing stored), reads do not; the CLI sends RLOG_API_TOKEN; no secret reaches a log', async () => {
  await withCluster(
    {
      token: CLUSTER_TOKEN,
      masterEnv: { API_TOKEN },
      secondaryEnv: { FAULT_INJECTION: 'true', API_TOKEN },
    },
    async (cluster) => {
      for (const [what, headers] of [
        ['no Authorization', {}],
        ['wrong token', { authorization: 'Bearer nope' }],
        ['the cluster token', { authorization: `Bearer ${CLUSTER_TOKEN}` }],
        ['token with a suffix', { authorization: `Bearer ${API_TOKEN}x` }],
        ['no space after the scheme', { authorization: `Bearer${API_TOKEN}` }],
        ['another scheme', { authorization: `Basic ${API_TOKEN}` }],
      ] as const) {
        for (const path of ['/logs', '/messages']) {
          const refused = await cluster.append<ErrorBody>(
            { message: 'intruder' },
            { path, headers },
          );
          assert.equal(refused.status, 401, `${what} on ${path}: ${refused.text}`);
          assert.equal(refused.body.error.code, 'UNAUTHORIZED');
          assert.match(refused.body.error.message, /API_TOKEN/, 'names the token to send');
          assert.equal(refused.headers.get('www-authenticate'), 'Bearer');
        }
      }
      // Another site's page in a browser cannot append (a form posting text/plain would
      // otherwise do, the body being read as JSON), even with the token.
      for (const headers of [
        { origin: 'https://evil.example', 'content-type': 'text/plain' },
        { 'sec-fetch-site': 'cross-site' },
        { origin: 'null' },
      ]) {
        const crossSite = await cluster.append<ErrorBody>(
          { message: 'from another site' },
          { headers: { ...headers, authorization: `Bearer ${API_TOKEN}` } },
        );
        assert.equal(crossSite.status, 403, `${JSON.stringify(headers)}: ${crossSite.text}`);
        assert.equal(crossSite.body.error.code, 'CROSS_SITE_REQUEST');
      }
      assert.deepEqual(await cluster.logs(), [], 'nothing refused is stored');

      // The scheme's case does not matter (RFC 9110).
      const authorized = { authorization: `bearer ${API_TOKEN}` };
      const ok = await cluster.append({ message: 'welcome', w: 3 }, { headers: authorized });
      assert.equal(ok.status, 201, ok.text);
      assert.equal((await request(`${cluster.master.url}/logs`)).status, 200, 'reads stay open');

      const cli = await runRlog(
        ['append', 'from the cli', '-w', '3', '--master', cluster.master.url],
        { RLOG_API_TOKEN: API_TOKEN },
      );
      assert.equal(cli.status, 0, cli.stderr);
      const withoutToken = await runRlog(['append', 'no token', '--master', cluster.master.url]);
      assert.equal(withoutToken.status, 1);
      assert.match(withoutToken.stderr, /UNAUTHORIZED/);
      const log = await cluster.converged(2);
      assert.deepEqual(
        log.map((entry) => entry.message),
        ['welcome', 'from the cli'],
      );

      // Admin and internal endpoints refused, the secondary ignoring API_TOKEN with a warning:
      // none of it may print a secret.
      const admin = await request(`${cluster.node('sub1').url}/admin/faults`, {
        method: 'PUT',
        json: { partitioned: true },
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      assert.equal(admin.status, 401);
      for (const node of cluster.nodes) {
        const output = node.output.join('\n');
        assert.ok(output.length > 0, `${node.name} logged something`);
        for (const secret of [CLUSTER_TOKEN, API_TOKEN]) {
          assert.ok(!output.includes(secret), `${node.name}'s log shows a secret`);
        }
      }
      assert.ok(
        cluster.node('sub1').output.some((line) => line.includes('API_TOKEN')),
        'the secondary warns that API_TOKEN is not its option',
      );
    },
  );
});

/** The node's header and request timeouts in the slow clients' test. */
const HEADERS_TIMEOUT_MS = 1500;
const REQUEST_TIMEOUT_MS = 3000;
/**
 * How much later than one of the node's deadlines the test may see its effect: the node checks its
 * timeouts every 250 ms, and on a busy machine it (and the test) may run much later. It bounds
 * how long the test waits, never how soon the node must act; that the node did not act too soon
 * is checked against the deadline itself.
 */
const SLACK_MS = 15_000;

test('slow and idle clients: hundreds of idle and half-open connections do not stop service; the header and request timeouts close them', async () => {
  await withCluster(
    {
      secondaries: 1,
      env: {
        HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
        REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        MAX_HEADER_BYTES: '8192',
      },
    },
    async (cluster) => {
      const url = cluster.master.url;
      const idle = await openConnections(url, 300);
      const halfOpen = await openConnections(url, 40);
      // Clients that never close their side, even after the node's answer and FIN.
      const stuck = await openConnections(url, 10, { allowHalfOpen: true });
      for (const connection of [...halfOpen, ...stuck])
        connection.write('POST /logs HTTP/1.1\r\nHost: x\r\n');
      const slowBody = new RawConnection(url);
      await slowBody.connected();
      slowBody.write(
        'POST /logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"message":"',
      );
      const drip = setInterval(() => {
        if (!slowBody.closed) slowBody.write('a');
      }, 200);
      try {
        // Others are served meanwhile: sent while the connections are held, each is stored and
        // answered 201 however long a busy machine takes (the harness's bound on a request).
        for (let index = 0; index < 20; index++) {
          const answer = await cluster.append({ message: `served ${index}`, w: 2 });
          assert.equal(answer.status, 201, answer.text);
        }
        // Headers never completed: 408 and closed by the node once HEADERS_TIMEOUT_MS has passed,
        // and not before.
        const headless = [...idle, ...halfOpen];
        await Promise.all(
          headless.map((connection) =>
            connection.closedWithin(
              HEADERS_TIMEOUT_MS + SLACK_MS,
              'idle or half-open connection closed by the header timeout',
            ),
          ),
        );
        assert.deepEqual(
          headless
            .map((connection) => Math.floor(connection.openMs() ?? 0))
            .filter((ms) => ms < HEADERS_TIMEOUT_MS),
          [],
          `connections closed sooner than HEADERS_TIMEOUT_MS (${HEADERS_TIMEOUT_MS} ms) after they were opened, after these ms`,
        );
        // A closed connection has everything the node sent; a stuck one's answer may come in a
        // later pass of the node's timeout checks than the others' (it was opened after them).
        const untold = halfOpen.filter((c) => !c.received.startsWith('HTTP/1.1 408'));
        assert.deepEqual(
          untold.map((connection) => connection.received.slice(0, 80)),
          [],
          'half-open connections are told 408 (what the others got)',
        );
        await Promise.all(
          stuck.map((connection) =>
            connection.receivedWithin(
              /^HTTP\/1\.1 408/,
              HEADERS_TIMEOUT_MS + SLACK_MS,
              'a stuck client told 408',
            ),
          ),
        );
        // The stuck clients never close; the node must have dropped its end anyway (after a
        // grace of 1 s): once it has, a write draws a reset from the peer, the next fails on it
        // (EPIPE) and the client sees the connection close. They write every 200 ms until then,
        // rather than at fixed moments a busy node may not have reached yet.
        await Promise.all(
          stuck.map((connection) =>
            waitFor(
              () => {
                if (connection.closed) return true;
                connection.write('a');
                return false;
              },
              10_000,
              'a stuck client to see the connection close after the node dropped it',
              200,
            ),
          ),
        );
        // A small body dripping in: 408 and closed once REQUEST_TIMEOUT_MS has passed, and not
        // before (nor at the header timeout: its headers came whole); nothing stored. Dripping,
        // it would be whole after 37 s, long after the wait. (A large one is cut sooner, by the
        // body budget's rate: see the flood test.)
        await slowBody.closedWithin(REQUEST_TIMEOUT_MS + SLACK_MS, 'slow body');
        assert.match(slowBody.received, /^HTTP\/1\.1 408/);
        const slowBodyMs = slowBody.openMs() ?? 0;
        assert.ok(
          slowBodyMs >= REQUEST_TIMEOUT_MS,
          `the slow body was cut off ${Math.floor(slowBodyMs)} ms after its connection was opened, sooner than REQUEST_TIMEOUT_MS (${REQUEST_TIMEOUT_MS} ms)`,
        );
      } finally {
        clearInterval(drip);
        for (const connection of [...idle, ...halfOpen, ...stuck, slowBody]) connection.destroy();
      }
      const log = await cluster.logs();
      assert.equal(log.length, 20);
      assert.ok(log.every((entry) => entry.message.startsWith('served')));

      // Headers over MAX_HEADER_BYTES: 431.
      const big = await request(`${url}/logs`, { headers: { 'x-padding': 'p'.repeat(10_000) } });
      assert.equal(big.status, 431);
      assert.equal((await request(`${url}/health`)).status, 200);
    },
  );
});

test('MAX_CONNECTIONS: requests over the limit get 503 OVERLOADED with Retry-After; far over it, connections are closed at once; service returns as others leave', async () => {
  await withCluster({ secondaries: 1, env: { MAX_CONNECTIONS: '32' } }, async (cluster) => {
    const url = cluster.master.url;
    const held = await openConnections(url, 32);
    const extra: RawConnection[] = [];
    // Appends that came before the node had taken in all 32 held connections: on a busy machine
    // accepting them can take a while. Each try is an append; one let through is stored.
    const slipped: string[] = [];
    try {
      // Until the node has counted the held connections; then an append is refused.
      const refused = await waitFor(
        async () => {
          const message = `over ${slipped.length}`;
          const answer = await request<ErrorBody>(`${url}/logs`, { json: { message } });
          if (answer.status === 201) slipped.push(message);
          return answer.status === 201 ? undefined : answer;
        },
        10_000,
        'an append refused over MAX_CONNECTIONS',
        50,
      );
      assert.equal(refused.status, 503, refused.text);
      assert.equal(refused.body.error.code, 'OVERLOADED');
      assert.match(refused.body.error.message, /MAX_CONNECTIONS/);
      assert.equal(refused.headers.get('retry-after'), '1');
      // 64 more are accepted to be told so; past those, connections are closed unanswered.
      extra.push(...(await openConnections(url, 80)));
      await waitFor(
        () => extra.filter((connection) => connection.closed).length >= 16,
        10_000,
        'connections past the headroom closed at once',
      );
      assert.ok(extra.every((connection) => connection.received === ''));
    } finally {
      for (const connection of [...held, ...extra]) connection.destroy();
    }
    await waitFor(
      async () => (await cluster.append({ message: 'back', w: 2 })).status === 201,
      5000,
      'service once the held connections are gone',
    );
    assert.deepEqual(
      (await cluster.converged(slipped.length + 1)).map((entry) => entry.message),
      [...slipped, 'back'],
      'nothing refused was stored',
    );
  });
});

test('flood of large bodies: over MAX_INFLIGHT_BODY_BYTES -> 503 OVERLOADED with Retry-After, nothing stored; slow senders are cut off; waiting appends hold no budget; bounded memory', async () => {
  await withCluster(
    {
      secondaries: 1,
      env: {
        MAX_BODY_BYTES: String(1024 * 1024),
        MAX_INFLIGHT_BODY_BYTES: String(2 * 1024 * 1024),
      },
      masterEnv: { MAX_MESSAGE_BYTES: String(1024 * 1024) },
      secondaryEnv: { FAULT_INJECTION: 'true' },
    },
    async (cluster) => {
      const url = cluster.master.url;
      // Two large requests whose bodies never come hold most of the budget, for a while: the node
      // cuts each off BODY_GRACE_MS plus its size at MIN_BODY_BYTES_PER_S (1.9 s) after taking in
      // its head. They ask to be told to continue: the node says 100 Continue as it takes in a
      // head, just before it charges the body (or refuses it, 503).
      const length = 900 * 1024;
      const holdMs = BODY_GRACE_MS + (length / MIN_BODY_BYTES_PER_S) * 1000;
      const head = `POST /logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`;
      const told = 'HTTP/1.1 100 Continue\r\n\r\n';
      const holding = (holder: RawConnection): boolean =>
        !holder.closed && holder.received === told;
      // Closed by the node (which released its charge), or refused before it was charged.
      const over = (holder: RawConnection): boolean =>
        holder.closed || /^(HTTP\/1\.1 100 Continue\r\n\r\n)?HTTP\/1\.1 503 /.test(holder.received);
      const message = 'x'.repeat(400 * 1024);
      // A large append is refused while the node holds both. It is sent only once both were told
      // to continue (a large append sent earlier would take budget a holder then finds missing);
      // on a busy machine it may still come after the node cut them off, and is stored (counted
      // below): then, once the node has closed both, a new pair is sent. Nothing but the deadline
      // bounds how long that takes.
      let holders: RawConnection[] = [];
      let slipped = 0;
      try {
        const refused = await waitFor(
          async () => {
            if (holders.every(over)) {
              for (const holder of holders) holder.destroy();
              holders = await openConnections(url, 2);
              for (const holder of holders) holder.write(head);
            }
            if (!holders.every(holding)) return undefined;
            const answer = await cluster.append<ErrorBody>({
              message: `try ${slipped}:${message}`,
              w: 2,
            });
            if (answer.status === 201) slipped += 1;
            return answer.status === 201 ? undefined : answer;
          },
          30_000,
          'a large append refused while the holders hold the budget',
          20,
        );
        assert.equal(refused.status, 503, refused.text);
        assert.equal(refused.body.error.code, 'OVERLOADED');
        assert.equal(refused.headers.get('retry-after'), '1');
        assert.match(refused.body.error.message, /MAX_INFLIGHT_BODY_BYTES/);
        assert.match(
          refused.body.error.message,
          new RegExp(`^${2 * length} bytes of request bodies are being received`),
          "the holders' bodies are what fills the budget",
        );
        // Small requests still fit.
        assert.equal((await cluster.append({ message: 'small', w: 2 })).status, 201);
        // The holders send nothing: the node cuts them off (408) once their time is up, not
        // before, and the budget is free again.
        await Promise.all(
          holders.map((holder) =>
            holder.closedWithin(holdMs + SLACK_MS, 'a body that never arrives'),
          ),
        );
        for (const holder of holders) {
          assert.match(holder.received, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 408 /);
          const heldMs = holder.openMs() ?? 0;
          assert.ok(
            heldMs >= holdMs,
            `a holder was cut off ${Math.floor(heldMs)} ms after its connection was opened, sooner than ${Math.ceil(holdMs)} ms`,
          );
        }
      } finally {
        for (const holder of holders) holder.destroy();
      }
      assert.equal((await cluster.append({ message: `after:${message}`, w: 2 })).status, 201);

      // Appends waiting for their write concern hold no budget once their body has arrived:
      // six of 400 KiB wait for a partitioned secondary, and another large one still fits.
      await cluster.setFaults('sub1', { partitioned: true });
      const waiting = Array.from({ length: 6 }, (_unused, index) =>
        cluster.append({ message: `waits ${index}:${message}`, w: 2 }, { timeoutMs: 30_000 }),
      );
      await waitFor(
        async () => (await cluster.health()).waitingAppends === 6,
        10_000,
        'six large appends waiting for w=2',
      );
      assert.equal((await cluster.append({ message: `w1:${message}`, w: 1 })).status, 201);
      await cluster.setFaults('sub1', { partitioned: false });
      assert.ok((await Promise.all(waiting)).every((answer) => answer.status === 201));

      // A flood of concurrent large appends: answered 201 or 503, never anything else; the
      // refused ones are not stored; the master's memory stays bounded.
      const before = await residentBytes(url);
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_unused, index) =>
          cluster.append({ message: `${index}:${message}`, w: 2 }, { timeoutMs: 10_000 }),
        ),
      );
      const statuses = answers.map((answer) => answer.status);
      assert.ok(
        statuses.every((status) => status === 201 || status === 503),
        `statuses: ${statuses.join(',')}`,
      );
      const after = await residentBytes(url);
      assert.ok(
        after - before < 150 * 1024 * 1024,
        `master RSS grew by ${Math.round((after - before) / 1024 / 1024)} MiB`,
      );
      const accepted = answers.filter((answer) => answer.status === 201).length;
      const log = await cluster.converged(accepted + slipped + 9);
      assert.equal(log.length, accepted + slipped + 9, 'exactly the accepted appends are stored');
    },
  );
});

test('flood of waiting appends: over MAX_WAITING_APPENDS -> 503 OVERLOADED, nothing stored; the waiting ones complete and service returns when the secondary is back', async () => {
  await withCluster(
    {
      secondaries: 2,
      masterEnv: { MAX_WAITING_APPENDS: '20' },
      secondaryEnv: { FAULT_INJECTION: 'true' },
    },
    async (cluster) => {
      await cluster.setFaults('sub2', { partitioned: true });
      const waiting = Array.from({ length: 20 }, (_unused, index) =>
        cluster.append({ message: `waits ${index}`, w: 3 }, { timeoutMs: 20_000 }),
      );
      await waitFor(
        async () => (await cluster.health()).waitingAppends === 20,
        5000,
        '20 appends waiting for w=3',
      );
      const before = await residentBytes(cluster.master.url);
      for (let round = 0; round < 10; round++) {
        const refused = await Promise.all(
          Array.from({ length: 100 }, (_unused, index) =>
            cluster.append<ErrorBody>({ message: `refused ${round}.${index}`, w: 1 }),
          ),
        );
        for (const answer of refused) {
          assert.equal(answer.status, 503, answer.text);
          assert.equal(answer.body.error.code, 'OVERLOADED');
          assert.ok(answer.headers.get('retry-after') !== null);
        }
      }
      const after = await residentBytes(cluster.master.url);
      assert.ok(after - before < 50 * 1024 * 1024, 'a flood of refusals holds no memory');
      await cluster.setFaults('sub2', { partitioned: false });
      const answers = await Promise.all(waiting);
      assert.ok(answers.every((answer) => answer.status === 201));
      assert.equal((await cluster.append({ message: 'after', w: 3 })).status, 201);
      const log = await cluster.converged(21);
      assert.equal(log.length, 21);
      assert.ok(log.every((entry) => !entry.message.startsWith('refused')));
    },
  );
});

async function residentBytes(url: string): Promise<number> {
  const text = (await request(`${url}/metrics`)).text;
  const line = text
    .split('\n')
    .find((candidate) => candidate.startsWith('process_resident_memory_bytes '));
  assert.ok(line !== undefined, 'process_resident_memory_bytes in /metrics');
  return Number(line.split(' ')[1]);
}
