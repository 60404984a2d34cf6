import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replicaAnswer } from './replies.js';

void describe('replicaAnswer', () => {
  void it("reads a secondary's report from a 200 answer", () => {
    const text = '{"logId":"L","incarnation":"i-1","hwm":7,"pending":2}';
    assert.deepEqual(replicaAnswer(200, text), {
      ok: true,
      report: { incarnation: 'i-1', hwm: 7 },
    });
  });

  void it('refuses a 200 answer without a usable report', () => {
    for (const text of ['{"incarnation":"i","hwm":-1}', '{"incarnation":3,"hwm":1}', '{}']) {
      assert.deepEqual(replicaAnswer(200, text), {
        ok: false,
        error: 'malformed reply from secondary',
      });
    }
    assert.deepEqual(replicaAnswer(200, 'not json'), {
      ok: false,
      error: 'reply from secondary is not JSON',
    });
  });

  void it('carries the code and message of an error envelope', () => {
    const text = '{"status":"error","error":{"code":"STALE_EPOCH","message":"epoch 1 < 2"}}';
    assert.deepEqual(replicaAnswer(409, text), {
      ok: false,
      error: 'HTTP 409 STALE_EPOCH: epoch 1 < 2',
      code: 'STALE_EPOCH',
    });
  });

  void it('shows the start of an answer that is not an envelope', () => {
    const text = `Bad Gateway ${'x'.repeat(500)}`;
    const answer = replicaAnswer(502, text);
    assert.ok(!answer.ok);
    assert.equal(answer.code, undefined);
    assert.equal(answer.error, `HTTP 502: ${text.slice(0, 200)}`);
  });
});
