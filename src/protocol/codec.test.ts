import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import type { Entry } from '../core/entry.js';
import { decodeReplicateBody, encodeReplicateBody } from './codec.js';
import { ReplicateBody } from './messages.js';

function roundTrip(entries: readonly Entry[]): readonly Entry[] {
  const body: unknown = JSON.parse(encodeReplicateBody('log-"L"', 3, entries));
  assert.ok(Value.Check(ReplicateBody, body), 'the encoded body matches the wire schema');
  const decoded = decodeReplicateBody(body);
  assert.ok(decoded.ok);
  assert.equal(decoded.batch.logId, 'log-"L"');
  assert.equal(decoded.batch.epoch, 3);
  return decoded.batch.entries;
}

void describe('replication codec', () => {
  void it('carries ids, epochs and messages of every kind exactly', () => {
    const entries: Entry[] = [
      { id: 41, epoch: 1, message: 'plain' },
      { id: 42, epoch: 2, message: 'quote " backslash \\ newline \n tab \t' },
      { id: 43, epoch: 2, message: 'ünïcødé ✓ 🚀 \u2028 \u0000' },
    ];
    assert.deepEqual(roundTrip(entries), entries);
  });

  void it('carries an empty batch (a probe)', () => {
    assert.deepEqual(roundTrip([]), []);
  });

  void it('refuses a body whose epochs and messages differ in length', () => {
    const decoded = decodeReplicateBody({
      logId: 'L',
      epoch: 1,
      fromId: 1,
      epochs: [1, 1],
      messages: ['a'],
    });
    assert.ok(!decoded.ok);
    assert.match(decoded.error, /1 messages but 2 epochs/);
  });

  void it('refuses ids that would run past the largest safe integer', () => {
    const decoded = decodeReplicateBody({
      logId: 'L',
      epoch: 1,
      fromId: Number.MAX_SAFE_INTEGER,
      epochs: [1, 1],
      messages: ['a', 'b'],
    });
    assert.equal(decoded.ok, false);
  });
});
