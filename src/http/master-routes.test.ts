import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Appended } from '../node/append-outcome.js';
import { answerJson } from './master-routes.js';

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
