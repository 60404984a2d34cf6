import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { epochEndAnswer, replicaAnswer, voteAnswer } from './replies.js';

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

void describe('replicaAnswer with failover', () => {
  const report = { incarnation: 'i-1', hwm: 7 };
  const cases: { name: string; status: number; text: string; want: unknown }[] = [
    {
      name: 'a 200 with epoch and acceptedEpoch carries both',
      status: 200,
      text: '{"logId":"L","incarnation":"i-1","hwm":7,"pending":0,"epoch":4,"acceptedEpoch":3}',
      want: { ok: true, report, epoch: 4, acceptedEpoch: 3 },
    },
    {
      name: 'a 200 with epoch 0 and acceptedEpoch 0 carries both',
      status: 200,
      text: '{"logId":null,"incarnation":"i-1","hwm":7,"pending":0,"epoch":0,"acceptedEpoch":0}',
      want: { ok: true, report, epoch: 0, acceptedEpoch: 0 },
    },
    {
      name: 'a 200 with only one of them carries neither',
      status: 200,
      text: '{"logId":"L","incarnation":"i-1","hwm":7,"pending":0,"epoch":4}',
      want: { ok: true, report },
    },
    {
      name: 'a 200 with an epoch that is not a count is malformed',
      status: 200,
      text: '{"logId":"L","incarnation":"i-1","hwm":7,"pending":0,"epoch":"4","acceptedEpoch":3}',
      want: { ok: false, error: 'malformed reply from secondary' },
    },
    {
      name: 'a 200 with an acceptedEpoch below 0 is malformed',
      status: 200,
      text: '{"logId":"L","incarnation":"i-1","hwm":7,"pending":0,"epoch":4,"acceptedEpoch":-1}',
      want: { ok: false, error: 'malformed reply from secondary' },
    },
    {
      name: "an error envelope with the refusing node's epoch carries it",
      status: 409,
      text: '{"status":"error","error":{"code":"STALE_EPOCH","message":"epoch 3 < 5"},"epoch":5}',
      want: {
        ok: false,
        error: 'HTTP 409 STALE_EPOCH: epoch 3 < 5',
        code: 'STALE_EPOCH',
        epoch: 5,
      },
    },
    {
      name: 'an error envelope with an unusable epoch carries none',
      status: 503,
      text: '{"status":"error","error":{"code":"SYNCING","message":"s"},"epoch":1.5}',
      want: { ok: false, error: 'HTTP 503 SYNCING: s', code: 'SYNCING' },
    },
    {
      name: 'a text that is not an envelope carries no epoch',
      status: 502,
      text: '{"epoch":5}',
      want: { ok: false, error: 'HTTP 502: {"epoch":5}' },
    },
  ];
  for (const { name, status, text, want } of cases) {
    void it(name, () => {
      assert.deepEqual(replicaAnswer(status, text), want);
    });
  }
});

const ENVELOPE = '{"status":"error","error":{"code":"UNAUTHORIZED","message":"no token"}}';

void describe('voteAnswer', () => {
  const cases: { name: string; status: number; text: string; want: unknown }[] = [
    {
      name: 'a granted vote',
      status: 200,
      text: '{"epoch":5,"granted":true,"preVote":false}',
      want: { ok: true, body: { epoch: 5, granted: true, preVote: false } },
    },
    {
      name: 'a refused pre-vote, extra fields dropped',
      status: 200,
      text: '{"epoch":0,"granted":false,"preVote":true,"extra":1}',
      want: { ok: true, body: { epoch: 0, granted: false, preVote: true } },
    },
    ...[
      'not json',
      'null',
      '[]',
      '{"granted":true,"preVote":false}',
      '{"epoch":-1,"granted":true,"preVote":false}',
      '{"epoch":1.5,"granted":true,"preVote":false}',
      '{"epoch":5,"granted":"yes","preVote":false}',
      '{"epoch":5,"granted":true}',
    ].map((text) => ({
      name: `malformed: ${text}`,
      status: 200,
      text,
      want: { ok: false, error: 'malformed vote answer' },
    })),
    {
      name: 'an error envelope',
      status: 401,
      text: ENVELOPE,
      want: { ok: false, error: 'HTTP 401 UNAUTHORIZED: no token', code: 'UNAUTHORIZED' },
    },
    {
      name: 'a failure that is not an envelope',
      status: 502,
      text: 'Bad Gateway',
      want: { ok: false, error: 'HTTP 502: Bad Gateway' },
    },
  ];
  for (const { name, status, text, want } of cases) {
    void it(name, () => {
      assert.deepEqual(voteAnswer(status, text), want);
    });
  }
});

void describe('epochEndAnswer', () => {
  const cases: { name: string; status: number; text: string; want: unknown }[] = [
    {
      name: 'an answer',
      status: 200,
      text: '{"epoch":2,"endId":17}',
      want: { ok: true, body: { epoch: 2, endId: 17 } },
    },
    {
      name: 'no entry of those epochs',
      status: 200,
      text: '{"epoch":0,"endId":0,"extra":true}',
      want: { ok: true, body: { epoch: 0, endId: 0 } },
    },
    ...[
      'not json',
      'null',
      '"text"',
      '{"epoch":2}',
      '{"endId":3}',
      '{"epoch":2,"endId":-3}',
      '{"epoch":"2","endId":3}',
      '{"epoch":2,"endId":9007199254740992}',
    ].map((text) => ({
      name: `malformed: ${text}`,
      status: 200,
      text,
      want: { ok: false, error: 'malformed epoch-end answer' },
    })),
    {
      name: 'an error envelope',
      status: 503,
      text: '{"status":"error","error":{"code":"SYNCING","message":"busy"},"epoch":4}',
      want: { ok: false, error: 'HTTP 503 SYNCING: busy', code: 'SYNCING' },
    },
    {
      name: 'a failure that is not an envelope',
      status: 500,
      text: '',
      want: { ok: false, error: 'HTTP 500: ' },
    },
  ];
  for (const { name, status, text, want } of cases) {
    void it(name, () => {
      assert.deepEqual(epochEndAnswer(status, text), want);
    });
  }
});
