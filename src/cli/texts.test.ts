import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  appendOutcome,
  appendProgress,
  catchUpState,
  catchUpTimeoutText,
  entryLines,
  healthSummary,
  nodeNames,
  reconnectText,
  type MasterHealthView,
  type PeerView,
} from './texts.js';

function peer(name: string, fields: Partial<PeerView> = {}): PeerView {
  return {
    name,
    url: `http://127.0.0.1:${name === 'sub1' ? 8001 : 8002}`,
    status: 'Healthy',
    ackedId: 12,
    lag: 0,
    lastContactMs: 120,
    ...fields,
  };
}

function health(secondaries: PeerView[], lastId = 12): MasterHealthView {
  const size = secondaries.length + 1;
  return {
    node: 'master',
    role: 'master',
    status: 'ok',
    readOnly: false,
    quorum: { size, required: Math.floor(size / 2) + 1, healthy: size },
    log: { lastId },
    secondaries,
  };
}

void describe('healthSummary and names', () => {
  void it('prints the master, then a line per secondary', () => {
    const text = healthSummary(
      health([
        peer('sub1'),
        peer('sub2', { status: 'Unhealthy', lastContactMs: null, lag: 4, ackedId: 8 }),
      ]),
    );
    assert.equal(
      text,
      [
        'master: ok, last id 12, quorum 3/3 healthy (2 needed)',
        '  sub1     Healthy    acked 12, lag 0, last contact 120 ms ago  http://127.0.0.1:8001',
        '  sub2     Unhealthy  acked 8, lag 4, last contact never  http://127.0.0.1:8002',
      ].join('\n'),
    );
    assert.deepEqual(nodeNames(health([peer('sub1'), peer('sub2')])), ['master', 'sub1', 'sub2']);
    assert.deepEqual(entryLines([{ id: 1, message: 'a b' }]), ['1\ta b']);
  });
});

void describe('appendOutcome', () => {
  void it('says where an append went, and when it was replayed', () => {
    assert.deepEqual(
      appendOutcome(201, { status: 'success', log: { id: 7, message: 'x' }, w: 3, acks: 3 }),
      {
        ok: true,
        text: 'appended as id 7: held by 3 nodes (w=3)',
      },
    );
    assert.deepEqual(appendOutcome(200, { logs: [{ id: 7 }, { id: 8 }], w: 2, acks: 3 }), {
      ok: true,
      text: 'appended as id 7, 8: held by 3 nodes (w=2) (replayed: this key was used before)',
    });
  });

  void it('explains read-only from the quorum in the answer', () => {
    const body = {
      status: 'error',
      error: {
        code: 'READ_ONLY',
        message:
          'no quorum: 1 of 3 nodes healthy, 2 needed; appends resume when a majority is back',
      },
      quorum: { size: 3, required: 2, healthy: 1 },
    };
    const expected = {
      ok: false,
      text: 'the master is read-only: 1 of 3 nodes healthy, 2 needed; appends resume when a majority is back (this append was not stored)',
    };
    assert.deepEqual(appendOutcome(503, body), expected);
    // Without the quorum field, the message itself.
    assert.deepEqual(appendOutcome(503, { ...body, quorum: undefined }), expected);
  });

  void it('names the master when the node was a secondary', () => {
    const error = { code: 'NOT_MASTER', message: 'this node is a secondary' };
    assert.deepEqual(appendOutcome(421, { status: 'error', error, master: 'http://m:8000' }), {
      ok: false,
      text: 'this node is a secondary, which takes no appends; the master is at http://m:8000: use --master http://m:8000',
    });
    assert.match(
      appendOutcome(421, { status: 'error', error, master: null }).text,
      /does not know the master \(started without MASTER_URL\): give the master with --master URL/,
    );
  });

  void it('says a write-concern timeout stored the entry', () => {
    const body = {
      status: 'error',
      error: { code: 'WRITE_CONCERN_TIMEOUT', message: 'stored, but ...' },
      log: { id: 9, message: 'x' },
      w: 3,
      acks: 2,
    };
    assert.deepEqual(appendOutcome(504, body), {
      ok: false,
      text: 'id 9 is stored, but only 2 of the 3 nodes asked for held it when the timeout passed; it will still be replicated ("rlog wait" shows when)',
    });
  });

  void it('shows other errors with their status and code', () => {
    const body = {
      status: 'error',
      error: { code: 'INVALID_REQUEST', message: 'w must be an integer from 1 to 3' },
    };
    assert.deepEqual(appendOutcome(400, body), {
      ok: false,
      text: '400 INVALID_REQUEST: w must be an integer from 1 to 3',
    });
    assert.deepEqual(appendOutcome(502, 'Bad Gateway'), { ok: false, text: '502 "Bad Gateway"' });
  });
});

void describe('appendProgress', () => {
  void it('counts the nodes holding the id and describes the rest', () => {
    const line = appendProgress(
      health([
        peer('sub1'),
        peer('sub2', { status: 'Unhealthy', ackedId: 8, lag: 4, lastContactMs: 3210 }),
      ]),
      3,
      12,
    );
    assert.equal(
      line.text,
      'waiting for w=3: 2 of 3 nodes hold id 12; sub2 is Unhealthy (lag 4, last contact 3.2 s ago)',
    );
    // The key leaves out the clock, so only news is printed at once.
    assert.equal(line.key, 'waiting for w=3: 2 of 3 nodes hold id 12; sub2 is Unhealthy (lag 4');
  });

  void it('resolves majority and the default (all), and names a node never contacted', () => {
    const cluster = health([
      peer('sub1', { ackedId: 0, lag: 12, lastContactMs: null, status: 'Suspected' }),
      peer('sub2', { ackedId: 11, lag: 1 }),
    ]);
    assert.equal(
      appendProgress(cluster, undefined, 12).text,
      'waiting for w=3: 1 of 3 nodes hold id 12; sub1 is Suspected (lag 12, no contact yet); sub2 is Healthy (lag 1, last contact 0.1 s ago)',
    );
    assert.match(appendProgress(cluster, 'majority', 12).text, /^waiting for w=2: 1 of 3 nodes/);
    assert.match(appendProgress(cluster, 'all', 12).text, /^waiting for w=3: /);
  });
});

void describe('catchUpState', () => {
  void it('is done when every secondary is Healthy with lag 0', () => {
    assert.deepEqual(catchUpState(health([peer('sub1'), peer('sub2')])), {
      done: true,
      line: {
        text: 'caught up: every secondary is Healthy and holds id 12',
        key: 'caught up: every secondary is Healthy and holds id 12',
      },
    });
    assert.equal(
      catchUpState(health([], 4)).line.text,
      'caught up: the master has no secondaries (last id 4)',
    );
  });

  void it('lists the secondaries still behind, or not Healthy', () => {
    const state = catchUpState(
      health([
        peer('sub1', { status: 'Suspected' }),
        peer('sub2', { lag: 120, status: 'Healthy' }),
      ]),
    );
    assert.equal(state.done, false);
    assert.equal(
      state.line.text,
      'waiting for catch-up: sub1 lag 0 (Suspected), sub2 lag 120 (Healthy)',
    );
    assert.equal(
      catchUpTimeoutText(5, state.line.text),
      'not caught up after 5 s (still waiting for catch-up: sub1 lag 0 (Suspected), sub2 lag 120 (Healthy)); "rlog health" shows the nodes: start any that are down, or give more time with --timeout-s',
    );
  });
});

void describe('reconnectText', () => {
  const cases = [
    {
      failures: 0,
      reason: 'http://127.0.0.1:8001 ended the stream',
      text: 'http://127.0.0.1:8001 ended the stream (reconnecting in 1000 ms, resuming after entry 41)',
    },
    {
      failures: 1,
      reason: 'nothing answers at http://127.0.0.1:8001: is the node running?',
      text: 'nothing answers at http://127.0.0.1:8001: is the node running? (reconnecting in 1000 ms, resuming after entry 41; 1 failed attempt in a row)',
    },
    {
      failures: 3,
      reason: '503 OVERLOADED: too many followers',
      text: '503 OVERLOADED: too many followers (reconnecting in 1000 ms, resuming after entry 41; 3 failed attempts in a row)',
    },
  ];
  for (const { failures, reason, text } of cases) {
    it(`says why, when and from where after ${failures} failures`, () => {
      assert.equal(reconnectText({ afterId: 41, failures, delayMs: 1000, reason }), text);
    });
  }
});
