import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { systemClock, type Clock } from '../adapters/clock.js';
import { ManualClock } from '../testing/manual-clock.js';
import { InvariantError } from '../core/assert.js';
import type { Appended, AppendRequest } from '../node/append-outcome.js';
import { plainMessageJson } from '../protocol/entry-json.js';
import { createServer } from './create-server.js';
import { answerJson, appendEndpoint, type AppendingNode } from './master-routes.js';
import { holdDuringClose } from './closing-fixture.js';

const entries = [
  { id: 7, epoch: 1, message: 'a "quoted" \\ message\n' },
  { id: 8, epoch: 1, message: 'ünïcødé 🚀' },
];

void describe('answerJson', () => {
  void it('is exactly the JSON of {status, log, w, acks} for one message', () => {
    const result: Appended = {
      kind: 'appended',
      outcome: 'created',
      entries: entries.slice(0, 1),
      w: 3,
      acks: 3,
    };
    assert.equal(
      answerJson(result, false),
      JSON.stringify({
        status: 'success',
        log: { id: 7, message: entries[0]!.message },
        w: 3,
        acks: 3,
      }),
    );
  });

  void it('is exactly the JSON of {status, logs, w, acks} for a batch', () => {
    const result: Appended = { kind: 'appended', outcome: 'replayed', entries, w: 2, acks: 3 };
    assert.equal(
      answerJson(result, true),
      JSON.stringify({
        status: 'success',
        logs: entries.map(({ id, message }) => ({ id, message })),
        w: 2,
        acks: 3,
      }),
    );
  });

  void it('carries the WRITE_CONCERN_TIMEOUT error with the entries on 504', () => {
    const result: Appended = { kind: 'appended', outcome: 'timed-out', entries, w: 3, acks: 1 };
    const body = JSON.parse(answerJson(result, true)) as Record<string, unknown>;
    assert.equal(body['status'], 'error');
    assert.deepEqual(Object.keys(body), ['status', 'error', 'logs', 'w', 'acks']);
    const error = body['error'] as { code: string; message: string };
    assert.equal(error.code, 'WRITE_CONCERN_TIMEOUT');
    assert.match(error.message, /only 1 of the 3 nodes/);
  });
});

/** What the fake node's replays answer with: messages JSON must escape. */
const STORED_UNDER_KEY = ['say "hi"', 'tab\there', 'caf\u00e9'];

/** A node whose append answers as its first message says (see `append`). */
function fakeNode(seen: AppendRequest[]): AppendingNode {
  let nextId = 1;
  return {
    clusterSize: 3,
    messageJson: plainMessageJson,
    append(request) {
      seen.push(request);
      const first = request.messages[0];
      if (first === 'broken') return Promise.reject(new InvariantError('the log went backwards'));
      if (first === 'election') {
        return Promise.resolve({
          kind: 'refused',
          refusal: { reason: 'not-master', master: null, retryAfterS: 2 },
        });
      }
      if (first === 'replay') {
        // A replay answers with what its key stored, which may need escaping.
        const entries = STORED_UNDER_KEY.map((message, index) => ({
          id: index + 1,
          epoch: 1,
          message,
        }));
        return Promise.resolve({ kind: 'appended', outcome: 'replayed', entries, w: 3, acks: 3 });
      }
      const entries = request.messages.map((message) => ({ id: nextId++, epoch: 1, message }));
      const w = typeof request.w === 'number' ? request.w : 3;
      return Promise.resolve({ kind: 'appended', outcome: 'created', entries, w, acks: w });
    },
  };
}

/**
 * A server with only the append endpoint, over `fakeNode(seen)`: bodies up to 200 bytes,
 * messages up to 50, batches up to 4; answers of w=1 on `clock`.
 */
function endpointServer(
  seen: AppendRequest[],
  options: { apiToken?: string; onInvariant?: (error: InvariantError) => void; clock?: Clock } = {},
): FastifyInstance {
  const logger = pino({ level: 'silent' });
  const limits = {
    maxBodyBytes: 200,
    maxMessageBytes: 50,
    maxBatchCount: 4,
    apiToken: options.apiToken,
  };
  const failure =
    options.onInvariant === undefined ? { logger } : { logger, onInvariant: options.onInvariant };
  return createServer({
    logger,
    clock: systemClock,
    maxBodyBytes: 200,
    maxMessageBytes: 50,
    routes: appendEndpoint(fakeNode(seen), limits, failure, options.clock ?? systemClock),
  });
}

/** One raw request, and everything the server sent until it closed the connection. */
async function rawExchange(port: number, text: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setEncoding('utf8');
  let received = '';
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('error', () => undefined);
  socket.end(text);
  await once(socket, 'close');
  return received;
}

void describe('appendEndpoint', () => {
  const seen: AppendRequest[] = [];
  const broken: string[] = [];
  let app: FastifyInstance;
  let origin: string;
  let port: number;

  before(async () => {
    const onInvariant = (error: InvariantError): void => {
      broken.push(error.message);
    };
    app = endpointServer(seen, { apiToken: 's3', onInvariant });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    origin = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await app.close();
  });

  const auth = { authorization: 'Bearer s3' };
  const post = (path: string, body: string, headers: Record<string, string> = auth) =>
    fetch(`${origin}${path}`, { method: 'POST', body, headers });

  void it('answers an append with its entry, its Location, and the w of the query', async () => {
    seen.length = 0;
    const answer = await post('/messages?w=2', '{"message":"hi"}', {
      ...auth,
      'content-type': 'text/plain',
      'idempotency-key': 'k-1',
    });
    assert.equal(answer.status, 201);
    assert.match(answer.headers.get('location') ?? '', /^\/messages\/\d+$/);
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json; charset=utf-8$/);
    const body = (await answer.json()) as { status: string; log: { message: string } };
    assert.equal(body.log.message, 'hi');
    assert.deepEqual(seen, [
      { messages: ['hi'], messageBytes: [2], w: 2, timeoutMs: undefined, idempotencyKey: 'k-1' },
    ]);
  });

  void it('sizes and answers messages with and without escapes, fresh or replayed', async () => {
    for (const [body, messageBytes, logs] of [
      ['{"messages":["plain","also plain ~"]}', [5, 12], ['plain', 'also plain ~']],
      ['{"messages":["a\\"b","caf\u00e9","\\u00e9"]}', [3, 5, 2], ['a"b', 'café', 'é']],
      ['{"messages":["replay","x"]}', [6, 1], STORED_UNDER_KEY],
      ['{"messages":["replay","\\n"]}', [6, 1], STORED_UNDER_KEY],
    ] as const) {
      seen.length = 0;
      const answer = await post('/logs', body);
      assert.ok(answer.status === 201 || answer.status === 200, `${answer.status} for ${body}`);
      const answered = JSON.parse(await answer.text()) as { logs: { message: string }[] };
      assert.deepEqual(
        answered.logs.map((entry) => entry.message),
        logs,
        body,
      );
      assert.deepEqual(seen[0]?.messageBytes, messageBytes, body);
    }
  });

  void it('refuses without the API token before reading the body', async () => {
    // The body is announced and never sent: the 401 must not wait for it.
    const text = await rawExchange(
      port,
      'POST /logs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nConnection: close\r\n\r\n',
    );
    assert.match(text, /^HTTP\/1.1 401 /);
    assert.match(text, /www-authenticate: Bearer/i);
    assert.match(text, /"code":"UNAUTHORIZED"/);
  });

  for (const [name, body, status, message] of [
    [
      'a body that is no object',
      '[1]',
      400,
      'body: must be a JSON object such as {"message":"hi"}',
    ],
    ['a field of the wrong type', '{"messages":["a",2]}', 400, 'body: messages.1 must be string'],
    ['a timeoutMs below 0', '{"message":"a","timeoutMs":-1}', 400, 'body: timeoutMs must be >= 0'],
    ['an empty batch', '{"messages":[]}', 400, 'body: messages must NOT have fewer than 1 items'],
    ['a message over the limit', `{"message":"${'x'.repeat(51)}"}`, 413, 'over the limit of 50'],
  ] as const) {
    void it(`refuses ${name} with ${status}, keeping the connection`, async () => {
      const answer = await post('/logs', body);
      assert.equal(answer.status, status);
      assert.notEqual(answer.headers.get('connection'), 'close');
      const error = ((await answer.json()) as { error: { message: string } }).error;
      assert.ok(error.message.includes(message), error.message);
    });
  }

  void it('refuses a repeated w in the query, and a repeated Idempotency-Key', async () => {
    const twice = await post('/logs?w=1&w=2', '{"message":"a"}');
    assert.equal(twice.status, 400);
    assert.match(await twice.text(), /querystring: w must be string/);
    const text = await rawExchange(
      port,
      'POST /logs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3\r\nIdempotency-Key: a\r\nIdempotency-Key: b\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{"message":"a"}',
    );
    assert.match(text, /^HTTP\/1.1 400 [^]*Idempotency-Key must be 1 to 128/);
  });

  void it('refuses a body that is not JSON or too large, and closes the connection', async () => {
    const notJson = await post('/logs', 'nope');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.headers.get('connection'), 'close');
    const declared = await post('/logs', `{"message":"${'x'.repeat(300)}"}`);
    assert.equal(declared.status, 413);
    assert.equal(declared.headers.get('connection'), 'close');
    assert.match(await declared.text(), /request body of 314 bytes is over the limit of 200 bytes/);
    const chunked = await rawExchange(
      port,
      `POST /logs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3\r\nTransfer-Encoding: chunked\r\n\r\n12c\r\n${'x'.repeat(300)}\r\n0\r\n\r\n`,
    );
    assert.match(
      chunked,
      /^HTTP\/1.1 413 [^]*connection: close[^]*request body is over the limit/i,
    );
  });

  void it('answers a refusal through the refusal table: 421 with Retry-After', async () => {
    const answer = await post('/logs', '{"message":"election"}');
    assert.equal(answer.status, 421);
    assert.equal(answer.headers.get('retry-after'), '2');
    const body = (await answer.json()) as { error: { code: string }; master: null };
    assert.deepEqual([body.error.code, body.master], ['NOT_MASTER', null]);
  });

  void it('gives a broken invariant to onInvariant and no answer', async () => {
    broken.length = 0;
    await assert.rejects(post('/logs', '{"message":"broken"}'));
    assert.deepEqual(broken, ['the log went backwards']);
  });

  void it('leaves other methods and paths to fastify', async () => {
    const put = await fetch(`${origin}/logs`, { method: 'PUT', body: '{}', headers: auth });
    assert.equal(put.status, 404);
    const slash = await post('/logs/', '{"message":"a"}');
    assert.equal(slash.status, 404);
  });
});

void describe('appendEndpoint: answers of w=1 in bursts', () => {
  void it('writes a w=1 answer once the turn is done, and others at once', async () => {
    const clock = new ManualClock();
    const seen: AppendRequest[] = [];
    const app = endpointServer(seen, { clock });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const post = (query: string) =>
        fetch(`${origin}/logs${query}`, { method: 'POST', body: '{"message":"hi"}' });
      assert.equal((await post('?w=3')).status, 201, 'w=3: written without the clock');
      let settled = false;
      const burst = post('?w=1').then((answer) => {
        settled = true;
        return answer;
      });
      // The append is made (bounded wait), then a wrong endpoint gets 50 ms to answer anyway.
      for (let waits = 0; seen.length < 2 && waits < 400; waits++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(seen.length, 2, 'the w=1 append reached the node');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(settled, false, 'w=1: appended, not answered before the turn is done');
      assert.equal(clock.pendingTimers, 1);
      await clock.advance(0);
      assert.equal((await burst).status, 201);
    } finally {
      await app.close();
    }
  });
});

void describe('appendEndpoint while the server closes', () => {
  void it('answers an append on a connection kept alive from before with 503 SHUTTING_DOWN', async () => {
    const seen: AppendRequest[] = [];
    const app = endpointServer(seen);
    const { inFlight, closing: closingSeen, release } = holdDuringClose(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const socket = connect({ host: '127.0.0.1', port: (app.server.address() as AddressInfo).port });
    socket.setEncoding('utf8');
    let received = '';
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', () => undefined);
    try {
      socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
      await inFlight;
      const closed = app.close();
      await closingSeen;
      // Behind the request in flight, on the same connection: a client's next append.
      socket.write('POST /logs HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\n{"message":"a"}');
      release();
      await once(socket, 'close');
      await closed;
      assert.match(received, /^HTTP\/1.1 200 [^]*HTTP\/1.1 503 [^]*"code":"SHUTTING_DOWN"/);
      assert.deepEqual(seen, [], 'nothing was appended');
    } finally {
      release();
      socket.destroy();
    }
  });
});
