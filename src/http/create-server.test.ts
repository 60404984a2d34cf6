import { systemClock } from '../adapters/clock.js';
import nodeAssert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { assert, InvariantError } from '../core/assert.js';
import type { InvariantContext, InvariantHandler } from '../node/fatal.js';
import { FaultsBody } from '../protocol/messages.js';
import { createServer } from './create-server.js';
import { isBlank } from './json-body.js';
import { holdDuringClose } from './closing-fixture.js';

void describe('isBlank', () => {
  void it('is true for an empty body and JSON whitespace only', () => {
    nodeAssert.equal(isBlank(''), true);
    nodeAssert.equal(isBlank(' \t\r\n '), true);
  });

  void it('is false as soon as anything else appears, including non-JSON whitespace', () => {
    nodeAssert.equal(isBlank('{}'), false);
    nodeAssert.equal(isBlank('   x'), false);
    nodeAssert.equal(isBlank('\u00a0'), false);
  });
});

/** One request on a raw connection, and what came back until the server closed it. */
class RawClient {
  readonly #socket: Socket;
  #received = '';
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.#socket = connect({ host: '127.0.0.1', port });
    this.#socket.setEncoding('utf8');
    this.#socket.on('data', (chunk: string) => {
      this.#received += chunk;
    });
    this.#socket.on('error', () => undefined);
    this.closed = once(this.#socket, 'close').then(() => undefined);
  }

  get received(): string {
    return this.#received;
  }

  get(path: string): void {
    this.#socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/** The HTTP/1.1 answers in `text`, in order: status, headers (lower-case names), body. */
function answersIn(text: string): { status: number; headers: Map<string, string>; body: string }[] {
  const answers = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    const [statusLine, ...headerLines] = rest.slice(0, headEnd).split('\r\n');
    const headers = new Map(
      headerLines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const;
      }),
    );
    const length = Number(headers.get('content-length') ?? 0);
    const body = rest.slice(headEnd + 4, headEnd + 4 + length);
    answers.push({ status: Number(statusLine!.split(' ')[1]), headers, body });
    rest = rest.slice(headEnd + 4 + length);
  }
  return answers;
}

function serverWith(onInvariant?: InvariantHandler): FastifyInstance {
  return createServer({
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    maxBodyBytes: 1024,
    maxMessageBytes: 100,
    ...(onInvariant === undefined ? {} : { onInvariant }),
  });
}

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

void describe('createServer: a broken invariant', () => {
  let app: FastifyInstance;
  let origin: string;
  const seen: { error: InvariantError; context: InvariantContext }[] = [];

  before(async () => {
    app = serverWith((error, context) => {
      seen.push({ error, context });
    });
    app.get('/broken', () => {
      assert(false, 'the index says 3, the disk says 4');
    });
    app.get('/broken-later', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      throw new InvariantError('found after a turn of the event loop');
    });
    app.get(
      '/broken-hook',
      {
        preHandler: (_request, _reply, done) => {
          done(new InvariantError('in a hook'));
        },
      },
      () => 'never',
    );
    app.get('/plain-error', () => {
      throw new Error('an ordinary bug');
    });
    origin = `http://127.0.0.1:${await listen(app)}`;
  });

  after(async () => {
    await app.close();
  });

  for (const [path, message] of [
    ['/broken', 'the index says 3, the disk says 4'],
    ['/broken-later?x=1', 'found after a turn of the event loop'],
    ['/broken-hook', 'in a hook'],
  ] as const) {
    void it(`${path}: goes to onInvariant with the request, and gets no answer`, async () => {
      seen.length = 0;
      await nodeAssert.rejects(fetch(`${origin}${path}`), 'the connection is closed, no answer');
      nodeAssert.equal(seen.length, 1);
      nodeAssert.equal(seen[0]!.error.message, message);
      nodeAssert.deepEqual(seen[0]!.context, { method: 'GET', url: path });
    });
  }

  void it('other errors keep their 500 INTERNAL_ERROR envelope and never reach onInvariant', async () => {
    seen.length = 0;
    const answer = await fetch(`${origin}/plain-error`);
    nodeAssert.equal(answer.status, 500);
    const body = (await answer.json()) as { error: { code: string } };
    nodeAssert.equal(body.error.code, 'INTERNAL_ERROR');
    nodeAssert.equal(seen.length, 0);
  });
});

void describe('createServer: closing', () => {
  void it('answers a request on a connection kept alive from before with 503 SHUTTING_DOWN', async () => {
    const app = serverWith();
    const { inFlight, closing: closingSeen, release } = holdDuringClose(app);
    app.get('/fast', () => ({ fast: true }));
    const client = new RawClient(await listen(app));
    try {
      client.get('/fast');
      client.get('/slow');
      await inFlight;
      const closed = app.close();
      await closingSeen;
      // On the same connection, behind the request still in flight: what a client that kept
      // its connection alive sends during a restart.
      client.get('/fast');
      release();
      await client.closed;
      await closed;
      const answers = answersIn(client.received);
      nodeAssert.deepEqual(
        answers.map((answer) => answer.status),
        [200, 200, 503],
        client.received,
      );
      const refused = answers[2]!;
      nodeAssert.deepEqual(JSON.parse(refused.body), {
        status: 'error',
        error: {
          code: 'SHUTTING_DOWN',
          message: 'this node is stopping; nothing was done. Retry in a moment, or on another node',
        },
      });
      nodeAssert.equal(refused.headers.get('retry-after'), '1');
      nodeAssert.equal(refused.headers.get('connection'), 'close');
      nodeAssert.match(refused.headers.get('content-type') ?? '', /^application\/json/);
    } finally {
      release();
      client.destroy();
    }
  });
});

void describe('createServer: a refused request body', () => {
  let app: FastifyInstance;
  const Nested = Type.Object(
    {
      name: Type.String(),
      limits: Type.Optional(
        Type.Object({ maxMs: Type.Integer() }, { additionalProperties: false }),
      ),
    },
    { additionalProperties: false },
  );

  before(async () => {
    app = serverWith();
    // The schema of PUT /admin/faults on a secondary, and one with an object inside.
    app.put('/faults', { schema: { body: FaultsBody } }, () => ({ ok: true }));
    app.put('/nested', { schema: { body: Nested } }, () => ({ ok: true }));
    await app.ready();
  });

  after(async () => {
    await app.close();
  });

  async function refusal(url: string, payload: unknown): Promise<string> {
    const answer = await app.inject({ method: 'PUT', url, payload: payload as object });
    nodeAssert.equal(answer.statusCode, 400, answer.body);
    const body = answer.json<{ error: { code: string; message: string } }>();
    nodeAssert.equal(body.error.code, 'INVALID_REQUEST');
    return body.error.message;
  }

  void it('names an unknown field and the allowed ones', async () => {
    nodeAssert.equal(
      await refusal('/faults', { bogus: 1 }),
      'body: unknown field "bogus"; the allowed fields are delayMs, errorRate, partitioned',
    );
    nodeAssert.equal(
      await refusal('/faults', { errorRate: 0.5, partitioned: true, delay: 5 }),
      'body: unknown field "delay"; the allowed fields are delayMs, errorRate, partitioned',
    );
  });

  void it('names an unknown field inside an object by its path', async () => {
    nodeAssert.equal(
      await refusal('/nested', { name: 'a', limits: { maxMs: 1, minMs: 0 } }),
      'body: limits: unknown field "minMs"; the allowed fields are maxMs',
    );
  });

  void it('still says a body that is no object must be one', async () => {
    nodeAssert.equal(await refusal('/faults', [1]), 'body: must be a JSON object');
    const answer = await app.inject({ method: 'PUT', url: '/faults', payload: { errorRate: 0.5 } });
    nodeAssert.equal(answer.statusCode, 200, answer.body);
  });
});
