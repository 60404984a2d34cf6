import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantError } from './assert.js';
import { backoffDelayMs, type BackoffPolicy } from './backoff.js';

const POLICY: BackoffPolicy = { baseMs: 100, maxMs: 1000 };

void describe('backoffDelayMs', () => {
  const cases: { attempt: number; random01: number; expected: number }[] = [
    // attempt 1: capped = 100 -> 50 + 50 * r
    { attempt: 1, random01: 0, expected: 50 },
    { attempt: 1, random01: 0.5, expected: 75 },
    { attempt: 1, random01: 0.999, expected: 100 },
    // attempt 2: 200 -> 100 + 100 * r
    { attempt: 2, random01: 0, expected: 100 },
    { attempt: 2, random01: 0.5, expected: 150 },
    // attempt 3: 400
    { attempt: 3, random01: 0, expected: 200 },
    { attempt: 3, random01: 0.25, expected: 250 },
    // attempt 4: 800
    { attempt: 4, random01: 0, expected: 400 },
    { attempt: 4, random01: 0.5, expected: 600 },
    // attempt 5: 1600 capped at 1000
    { attempt: 5, random01: 0, expected: 500 },
    { attempt: 5, random01: 0.5, expected: 750 },
    { attempt: 5, random01: 0.9999, expected: 1000 },
    // far past the cap, the exponent is clamped and the result stays exact
    { attempt: 31, random01: 0, expected: 500 },
    { attempt: 1000, random01: 0.5, expected: 750 },
    { attempt: Number.MAX_SAFE_INTEGER, random01: 0, expected: 500 },
  ];
  for (const { attempt, random01, expected } of cases) {
    void it(`attempt ${attempt}, random ${random01} -> ${expected} ms`, () => {
      assert.equal(backoffDelayMs(attempt, POLICY, random01), expected);
    });
  }

  void it('rounds up, so a retry is never immediate even with a 1 ms base', () => {
    assert.equal(backoffDelayMs(1, { baseMs: 1, maxMs: 1 }, 0), 1);
    assert.equal(backoffDelayMs(1, { baseMs: 3, maxMs: 3 }, 0), 2);
    assert.equal(backoffDelayMs(7, { baseMs: 1, maxMs: 1 }, 0.999), 1);
  });

  void it('a cap that is not a power-of-two multiple of the base is honoured exactly', () => {
    const policy = { baseMs: 100, maxMs: 300 };
    assert.equal(backoffDelayMs(2, policy, 0), 100); // 200 uncapped
    assert.equal(backoffDelayMs(3, policy, 0), 150); // 400 capped to 300
    assert.equal(backoffDelayMs(3, policy, 0.5), 225);
  });

  void it('stays in [ceil(capped/2), capped], never above maxMs, monotonic in attempt and random', () => {
    const randoms = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999999];
    for (const random01 of randoms) {
      let previous = 0;
      for (let attempt = 1; attempt <= 40; attempt++) {
        const capped = Math.min(POLICY.maxMs, POLICY.baseMs * 2 ** (attempt - 1));
        const delay = backoffDelayMs(attempt, POLICY, random01);
        assert.ok(delay >= Math.ceil(capped / 2), `attempt ${attempt}: ${delay} below half`);
        assert.ok(delay <= capped, `attempt ${attempt}: ${delay} above ${capped}`);
        assert.ok(delay <= POLICY.maxMs);
        assert.ok(Number.isInteger(delay));
        assert.ok(delay >= previous, `attempt ${attempt}: ${delay} < ${previous}`);
        previous = delay;
      }
    }
    for (let attempt = 1; attempt <= 8; attempt++) {
      const delays = randoms.map((r) => backoffDelayMs(attempt, POLICY, r));
      assert.deepEqual(
        delays,
        [...delays].sort((a, b) => a - b),
      );
    }
  });

  const invalid: { name: string; attempt: number; policy: BackoffPolicy; random01: number }[] = [
    { name: 'attempt 0', attempt: 0, policy: POLICY, random01: 0 },
    { name: 'negative attempt', attempt: -1, policy: POLICY, random01: 0 },
    { name: 'fractional attempt', attempt: 1.5, policy: POLICY, random01: 0 },
    { name: 'NaN attempt', attempt: Number.NaN, policy: POLICY, random01: 0 },
    { name: 'random01 = 1', attempt: 1, policy: POLICY, random01: 1 },
    { name: 'negative random01', attempt: 1, policy: POLICY, random01: -0.1 },
    { name: 'NaN random01', attempt: 1, policy: POLICY, random01: Number.NaN },
    { name: 'baseMs 0', attempt: 1, policy: { baseMs: 0, maxMs: 10 }, random01: 0 },
    { name: 'maxMs < baseMs', attempt: 1, policy: { baseMs: 100, maxMs: 99 }, random01: 0 },
  ];
  for (const { name, attempt, policy, random01 } of invalid) {
    void it(`rejects ${name}`, () => {
      assert.throws(() => backoffDelayMs(attempt, policy, random01), InvariantError);
    });
  }
});
