import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  readEntries,
  readFaults,
  readFaultSettings,
  readSecondaryHealth,
  UnexpectedAnswer,
} from './secondary-answers.js';

const health = {
  node: 'sub1',
  role: 'secondary',
  status: 'ok',
  logId: 'log-a',
  incarnation: 'run-1',
  log: { lastId: 7, pending: 2 },
  master: { url: null, lastContactMs: 10 },
};

void describe('readSecondaryHealth', () => {
  void it('reads the last id, pending count and which log and run it is', () => {
    assert.deepEqual(readSecondaryHealth(JSON.stringify(health)), {
      lastId: 7,
      pending: 2,
      logKey: 'log-a/run-1',
      incarnation: 'run-1',
    });
  });

  void it('refuses a master, a bad count, or text that is not JSON', () => {
    const cases = [
      JSON.stringify({ ...health, role: 'master' }),
      JSON.stringify({ ...health, log: { lastId: -1, pending: 0 } }),
      JSON.stringify({ ...health, log: { lastId: 1.5, pending: 0 } }),
      '<html>',
    ];
    for (const text of cases) {
      assert.throws(() => readSecondaryHealth(text), UnexpectedAnswer, text);
    }
  });
});

void describe('readEntries', () => {
  void it('reads consecutive entries, cutting long messages', () => {
    const text = JSON.stringify([
      { id: 4, message: 'short' },
      { id: 5, message: 'a much longer message' },
    ]);
    assert.deepEqual(readEntries(text, 6), [
      { id: 4, message: 'short' },
      { id: 5, message: 'a much…', fullLength: 21 },
    ]);
  });

  void it('refuses gaps, wrong items and non-arrays', () => {
    const cases = [
      [
        { id: 1, message: 'a' },
        { id: 3, message: 'c' },
      ],
      [{ id: 1 }],
      { id: 1, message: 'a' },
    ];
    for (const body of cases) {
      assert.throws(() => readEntries(JSON.stringify(body), 100), UnexpectedAnswer);
    }
  });
});

void describe('readFaults', () => {
  const settings = { delayMs: [100, 500], errorRate: 0.3, partitioned: true };

  void it('is on with the settings of a 200 answer', () => {
    assert.deepEqual(readFaults(200, JSON.stringify(settings)), { state: 'on', settings });
  });

  void it('is off on 404 FAULT_INJECTION_DISABLED', () => {
    const body = { status: 'error', error: { code: 'FAULT_INJECTION_DISABLED', message: 'off' } };
    assert.deepEqual(readFaults(404, JSON.stringify(body)), { state: 'off' });
  });

  void it('is unknown, saying why, on a refused token or anything else', () => {
    const refused = readFaults(401, '{"status":"error","error":{"code":"UNAUTHORIZED"}}');
    assert.equal(refused.state, 'unknown');
    assert.match(refused.reason, /CLUSTER_TOKEN/);
    assert.deepEqual(readFaults(404, '{"status":"error","error":{"code":"NOT_FOUND"}}'), {
      state: 'unknown',
      reason: 'GET /admin/faults answered 404 NOT_FOUND',
    });
    assert.equal(readFaults(200, '{"delayMs":"x"}').state, 'unknown');
  });
});

void describe('readFaultSettings', () => {
  void it('refuses settings out of range or of the wrong type', () => {
    const bad = [
      { delayMs: 0, errorRate: 2, partitioned: false },
      { delayMs: [1], errorRate: 0, partitioned: false },
      { delayMs: 0, errorRate: 0, partitioned: 'yes' },
      [],
    ];
    for (const body of bad) assert.equal(readFaultSettings(JSON.stringify(body)), undefined);
    assert.equal(readFaultSettings('not json'), undefined);
  });
});
