import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { waitFor } from '../e2e/harness.js';
import { ManualClock } from '../testing/manual-clock.js';
import { BODY_GRACE_MS, BodyBudget, MIN_BODY_BYTES_PER_S } from './body-budget.js';

const MIB = 1024 * 1024;

// Bounded: a budget that ignored its clock would leave the request waiting for an answer.
const options = { timeout: 10_000 };

test(
  'a body slower than MIN_BODY_BYTES_PER_S is cut off (408) at its deadline, and released',
  options,
  async () => {
    const clock = new ManualClock();
    const budget = new BodyBudget(8 * MIB, clock);
    const server = createServer((req, res) => {
      if (!budget.admit(req, res, 8 * MIB)) return;
      req.resume();
      req.on('end', () => res.end('{}'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const bytes = MIB;
      const client = request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: { 'content-length': String(bytes) },
      });
      // The server ends the connection under the rest of the body: a write may fail then.
      client.on('error', () => undefined);
      const answered = new Promise<{ status: number; body: string }>((resolve) => {
        client.on('response', (response: IncomingMessage) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => {
            resolve({ status: response.statusCode ?? 0, body });
          });
        });
      });
      client.write(Buffer.alloc(128 * 1024));
      await waitFor(() => budget.usedBytes === bytes, 5000, 'the body charged');

      // Its deadline: the grace, then its size at the least rate; the sweep every 250 ms sees it.
      const deadlineMs = BODY_GRACE_MS + (bytes / MIN_BODY_BYTES_PER_S) * 1000;
      await clock.advance(deadlineMs - 1);
      assert.equal(budget.usedBytes, bytes, 'still receiving before its deadline');
      await clock.advance(1);
      const answer = await answered;
      assert.equal(answer.status, 408);
      assert.match(answer.body, /slower than 1048576 bytes per second/);
      await waitFor(() => budget.usedBytes === 0, 5000, 'the charge released');
      assert.equal(clock.pendingTimers, 0, 'the sweep stops with the last body received');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  },
);
