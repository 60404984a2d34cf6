import nodeAssert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { assert, InvariantError } from '../core/assert.js';
import type { InvariantContext, InvariantHandler } from '../node/fatal.js';
import { createServer, isBlank } from './create-server.js';

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

function serverWith(onInvariant?: InvariantHandler): FastifyInstance {
  return createServer({
    logger: pino({ level: 'silent' }),
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
