import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refusalError, type Refusal } from './refusals.js';

interface RefusalCase {
  readonly name: string;
  readonly refusal: Refusal;
  readonly status: number;
  readonly code: string;
  /** The fields beside `status` and `error` in the envelope. */
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;
  readonly message: RegExp;
}

const CASES: readonly RefusalCase[] = [
  {
    name: 'not-master with a known master names its URL, without Retry-After',
    refusal: { reason: 'not-master', master: 'http://10.0.0.2:8080', retryAfterS: 1 },
    status: 421,
    code: 'NOT_MASTER',
    extra: { master: 'http://10.0.0.2:8080' },
    headers: {},
    message: /send appends to the master at http:\/\/10\.0\.0\.2:8080/,
  },
  {
    name: 'not-master during an election has master null and Retry-After',
    refusal: { reason: 'not-master', master: null, retryAfterS: 1 },
    status: 421,
    code: 'NOT_MASTER',
    extra: { master: null },
    headers: { 'retry-after': '1' },
    message: /no master is known now.*retry in 1 s/,
  },
  {
    name: 'not-master carries the Retry-After it is given',
    refusal: { reason: 'not-master', master: null, retryAfterS: 3 },
    status: 421,
    code: 'NOT_MASTER',
    extra: { master: null },
    headers: { 'retry-after': '3' },
    message: /retry in 3 s/,
  },
  {
    name: 'syncing names the epoch and its master, with Retry-After',
    refusal: { reason: 'syncing', epoch: 6, master: 'n2' },
    status: 503,
    code: 'SYNCING',
    extra: { epoch: 6 },
    headers: { 'retry-after': '1' },
    message: /comparing its log with n2, master of epoch 6/,
  },
  {
    name: "rejected with the refusing node's epoch puts it in the body",
    refusal: { reason: 'rejected', code: 'STALE_EPOCH', message: 'epoch 3 < 5', epoch: 5 },
    status: 409,
    code: 'STALE_EPOCH',
    extra: { epoch: 5 },
    headers: {},
    message: /^epoch 3 < 5$/,
  },
  {
    name: 'rejected without an epoch adds nothing',
    refusal: { reason: 'rejected', code: 'STALE_EPOCH', message: 'stale' },
    status: 409,
    code: 'STALE_EPOCH',
    extra: {},
    headers: {},
    message: /^stale$/,
  },
];

void describe('refusalError for failover refusals', () => {
  for (const { name, refusal, status, code, extra, headers, message } of CASES) {
    void it(name, () => {
      const error = refusalError(refusal);
      assert.ok(error !== undefined);
      assert.equal(error.statusCode, status);
      assert.equal(error.code, code);
      assert.match(error.message, message);
      assert.deepEqual(error.headers, headers);
      assert.deepEqual(error.toBody(), {
        status: 'error',
        error: { code, message: error.message },
        ...extra,
      });
    });
  }

  void it('has no answer for an abandoned request', () => {
    assert.equal(refusalError({ reason: 'abandoned' }), undefined);
  });
});
