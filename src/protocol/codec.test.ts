import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import type { Entry } from '../core/entry.js';
import type { FailoverStamp } from '../core/replica-log.js';
import { decodeReplicateBody, encodeReplicateBody, failoverStamp } from './codec.js';
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

void describe('replication codec with a failover stamp', () => {
  const entries: Entry[] = [
    { id: 7, epoch: 2, message: 'a' },
    { id: 8, epoch: 3, message: 'b "c"' },
  ];
  const stamps: { name: string; stamp: FailoverStamp | undefined }[] = [
    { name: 'no stamp (the fixed master)', stamp: undefined },
    { name: 'name and points only', stamp: { from: 'n1', commitId: 5, startId: 6 } },
    {
      name: 'with the URL',
      stamp: { from: 'n1', commitId: 0, startId: 0, url: 'http://127.0.0.1:8080/"x"' },
    },
    {
      name: 'with the keys',
      stamp: { from: 'n1', commitId: 6, startId: 4, keys: [['key "1"', 7, 2]] },
    },
    {
      name: 'with the URL and the keys',
      stamp: {
        from: 'n3',
        commitId: 8,
        startId: 1,
        url: 'https://node-3.example:443',
        keys: [
          ['k7', 7, 1],
          ['k8', 8, 1],
        ],
      },
    },
  ];
  for (const { name, stamp } of stamps) {
    void it(`round-trips a batch: ${name}`, () => {
      const body: unknown = JSON.parse(encodeReplicateBody('L', 3, entries, undefined, stamp));
      assert.ok(Value.Check(ReplicateBody, body), 'the encoded body matches the wire schema');
      const decoded = decodeReplicateBody(body);
      assert.ok(decoded.ok);
      const batch = { logId: 'L', epoch: 3, entries };
      assert.deepEqual(decoded.batch, stamp === undefined ? batch : { ...batch, failover: stamp });
    });
  }

  void it('leaves an empty key list off the wire', () => {
    const text = encodeReplicateBody('L', 3, entries, undefined, {
      from: 'n1',
      commitId: 1,
      startId: 1,
      keys: [],
    });
    assert.ok(!text.includes('"keys"'));
    const decoded = decodeReplicateBody(JSON.parse(text) as ReplicateBody);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.batch.failover, { from: 'n1', commitId: 1, startId: 1 });
  });
});

void describe('failoverStamp', () => {
  const cases: { name: string; body: Parameters<typeof failoverStamp>[0]; want: unknown }[] = [
    {
      name: 'none without from',
      body: { commitId: 3, startId: 2, url: 'http://x' },
      want: undefined,
    },
    {
      name: 'points default to 0',
      body: { from: 'n1' },
      want: { from: 'n1', commitId: 0, startId: 0 },
    },
    {
      name: 'every field carried',
      body: { from: 'n1', commitId: 3, startId: 2, url: 'http://x', keys: [['k', 1, 1]] },
      want: { from: 'n1', commitId: 3, startId: 2, url: 'http://x', keys: [['k', 1, 1]] },
    },
    {
      name: 'no url or keys fields when absent',
      body: { from: 'n2', commitId: 9, startId: 9 },
      want: { from: 'n2', commitId: 9, startId: 9 },
    },
  ];
  for (const { name, body, want } of cases) {
    void it(name, () => {
      const stamp = failoverStamp(body);
      assert.deepEqual(stamp, want);
      if (stamp !== undefined) {
        assert.equal('url' in stamp, body.url !== undefined, 'url present only when sent');
        assert.equal('keys' in stamp, body.keys !== undefined, 'keys present only when sent');
      }
    });
  }
});
