import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { systemClock } from '../adapters/clock.js';
import { createServer } from './create-server.js';
import { registerProcessFaultRoutes } from './process-fault-routes.js';

const TOKEN = 'process-fault-token';
const limits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 1024,
  maxInflightBodyBytes: 64 * 1024 * 1024,
};

function server(faultInjection: boolean) {
  const done: string[] = [];
  const app = createServer({
    logger: pino({ enabled: false }),
    clock: systemClock,
    maxBodyBytes: 1 << 20,
    maxMessageBytes: 1024,
    limits,
  });
  registerProcessFaultRoutes(
    app,
    {
      kill: () => done.push('kill'),
      stop: (durationMs) => done.push(`stop ${durationMs}`),
    },
    { node: 'n1', clusterToken: TOKEN, faultInjection },
  );
  return { app, done };
}

const auth = { authorization: `Bearer ${TOKEN}` };

/** Lets the fault scheduled after the answer run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

void describe('POST /admin/kill and /admin/stop', () => {
  void it('answer 202, then do the fault', async () => {
    const { app, done } = server(true);
    const kill = await app.inject({ method: 'POST', url: '/admin/kill', headers: auth });
    assert.equal(kill.statusCode, 202);
    assert.deepEqual(kill.json(), { node: 'n1', fault: 'kill' });
    const stop = await app.inject({
      method: 'POST',
      url: '/admin/stop',
      headers: auth,
      payload: { durationMs: 1500 },
    });
    assert.equal(stop.statusCode, 202);
    assert.deepEqual(stop.json(), { node: 'n1', fault: 'stop', durationMs: 1500 });
    await settle();
    assert.deepEqual(done, ['kill', 'stop 1500']);
    await app.close();
  });

  void it('need the cluster token, fault injection, and a bounded stop', async () => {
    const { app, done } = server(true);
    const anonymous = await app.inject({ method: 'POST', url: '/admin/kill' });
    assert.equal(anonymous.statusCode, 401);
    const tooLong = await app.inject({
      method: 'POST',
      url: '/admin/stop',
      headers: auth,
      payload: { durationMs: 3_600_000 },
    });
    assert.equal(tooLong.statusCode, 400);
    const off = server(false);
    const disabled = await off.app.inject({ method: 'POST', url: '/admin/kill', headers: auth });
    assert.equal(disabled.statusCode, 404);
    assert.equal(
      disabled.json<{ error: { code: string } }>().error.code,
      'FAULT_INJECTION_DISABLED',
    );
    await settle();
    assert.deepEqual(done, []);
    assert.deepEqual(off.done, []);
    await Promise.all([app.close(), off.app.close()]);
  });
});
