import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantError } from './assert.js';
import {
  ReplicationProgress,
  type BatchToSend,
  type ReplicationPolicy,
} from './replication-progress.js';

const POLICY: ReplicationPolicy = {
  maxInflightBatches: 2,
  pipelineMinEntries: 1,
  backoff: { baseMs: 100, maxMs: 1000 },
  unhealthyBackoff: { baseMs: 1000, maxMs: 8000 },
  commitAloneAfterMs: 0,
};

/** batchEnd giving batches of up to `size` entries, never past `lastId`. */
function sized(size: number, lastId: number): (fromId: number) => number {
  return (fromId) => Math.min(fromId + size - 1, lastId);
}

function send(
  progress: ReplicationProgress,
  nowMs: number,
  lastId: number,
  size = 3,
): BatchToSend | undefined {
  return progress.nextBatch(nowMs, lastId, sized(size, lastId));
}

/** A progress that found the secondary (incarnation A) holding 1..hwm and is in replicate mode. */
function connected(hwm = 0, policy = POLICY): ReplicationProgress {
  const progress = new ReplicationProgress(policy);
  const probe = progress.nextBatch(0, hwm, () => hwm);
  assert.ok(probe !== undefined);
  progress.succeeded(probe.requestId, { incarnation: 'A', hwm });
  assert.equal(progress.mode, 'replicate');
  return progress;
}

void describe('ReplicationProgress', () => {
  void it('starts in probe mode knowing nothing', () => {
    const progress = new ReplicationProgress(POLICY);
    assert.equal(progress.mode, 'probe');
    assert.equal(progress.matchId, 0);
    assert.equal(progress.nextId, 1);
    assert.equal(progress.inflightCount, 0);
    assert.equal(progress.failures, 0);
    assert.equal(progress.retryAtMs, 0);
    assert.equal(progress.incarnation, undefined);
  });

  void it('rejects maxInflightBatches 0', () => {
    assert.throws(
      () => new ReplicationProgress({ ...POLICY, maxInflightBatches: 0 }),
      InvariantError,
    );
  });

  void it('first probe on an empty log is an empty batch; batchEnd is not asked', () => {
    const progress = new ReplicationProgress(POLICY);
    let asked = 0;
    const batch = progress.nextBatch(0, 0, (fromId) => {
      asked += 1;
      return fromId;
    });
    assert.deepEqual(batch, { requestId: 1, fromId: 1, toId: 0 });
    assert.equal(asked, 0);
    assert.equal(progress.inflightCount, 1);
    assert.equal(send(progress, 0, 0), undefined, 'probe mode: one request at a time');
    assert.equal(send(progress, 0, 10), undefined, 'even when there is more to send');
  });

  void it('first contact on a non-empty log is an empty probe, one at a time', () => {
    const progress = new ReplicationProgress(POLICY);
    // The secondary may already hold the log (a master restarted on its disk): ask, do not resend.
    assert.deepEqual(send(progress, 0, 10), { requestId: 1, fromId: 1, toId: 0 });
    assert.equal(send(progress, 0, 10), undefined);
    assert.equal(progress.nextId, 1);
  });

  void it('the first reply gives the exact high-water mark (a secondary that already holds more)', () => {
    const progress = new ReplicationProgress(POLICY);
    const probe = send(progress, 0, 60);
    assert.ok(probe !== undefined);
    assert.equal(progress.succeeded(probe.requestId, { incarnation: 'X', hwm: 50 }), true);
    assert.equal(progress.matchId, 50);
    assert.equal(progress.nextId, 51);
    assert.equal(progress.mode, 'replicate');
    assert.equal(progress.incarnation, 'X');
    assert.deepEqual(send(progress, 0, 60), { requestId: 2, fromId: 51, toId: 53 });
  });

  void it('replicate mode pipelines up to maxInflightBatches, then waits for replies', () => {
    const progress = connected();
    const calls: number[] = [];
    const end = (fromId: number): number => {
      calls.push(fromId);
      return Math.min(fromId + 2, 10);
    };
    assert.deepEqual(progress.nextBatch(0, 10, end), { requestId: 2, fromId: 1, toId: 3 });
    assert.deepEqual(progress.nextBatch(0, 10, end), { requestId: 3, fromId: 4, toId: 6 });
    assert.equal(progress.nextBatch(0, 10, end), undefined, 'window of 2 is full');
    assert.deepEqual(calls, [1, 4]);
    assert.equal(progress.inflightCount, 2);
    assert.equal(progress.nextId, 7);
    assert.equal(progress.succeeded(2, { incarnation: 'A', hwm: 3 }), true);
    assert.equal(progress.matchId, 3);
    assert.equal(progress.inflightCount, 1);
    assert.deepEqual(progress.nextBatch(0, 10, end), { requestId: 4, fromId: 7, toId: 9 });
    assert.equal(progress.nextBatch(0, 10, end), undefined);
    assert.equal(progress.succeeded(3, { incarnation: 'A', hwm: 6 }), true);
    assert.deepEqual(progress.nextBatch(0, 10, end), { requestId: 5, fromId: 10, toId: 10 });
    assert.equal(progress.nextBatch(0, 10, end), undefined, 'everything sent');
  });

  void it('sends nothing when the secondary has everything (no empty batches in replicate mode)', () => {
    const progress = connected(5);
    assert.equal(send(progress, 0, 5), undefined);
    assert.equal(progress.inflightCount, 0);
  });

  void it('a larger window allows more batches', () => {
    const progress = connected(0, { ...POLICY, maxInflightBatches: 4 });
    const batches: (BatchToSend | undefined)[] = [];
    for (let i = 0; i < 6; i++) batches.push(send(progress, 0, 100, 10));
    assert.deepEqual(
      batches.map((batch) => batch && [batch.fromId, batch.toId]),
      [[1, 10], [11, 20], [21, 30], [31, 40], undefined, undefined],
    );
  });

  void it('replies out of order: an early reply with a low hwm does not move matchId back', () => {
    const progress = connected();
    const first = send(progress, 0, 6);
    const second = send(progress, 0, 6);
    assert.ok(first && second);
    // batch 4..6 arrived first and is pending behind the gap on the secondary
    assert.equal(progress.succeeded(second.requestId, { incarnation: 'A', hwm: 0 }), false);
    assert.equal(progress.matchId, 0);
    assert.equal(progress.nextId, 7, 'batch 1..3 is still in flight, nothing is resent');
    assert.equal(progress.succeeded(first.requestId, { incarnation: 'A', hwm: 6 }), true);
    assert.equal(progress.matchId, 6);
    assert.equal(progress.succeeded(first.requestId, { incarnation: 'A', hwm: 2 }), false);
    assert.equal(progress.matchId, 6, 'a duplicated old reply never lowers matchId');
  });

  void it('a failure drops every batch in flight, falls back to probe mode and backs off', () => {
    const progress = connected();
    const first = send(progress, 0, 9);
    const second = send(progress, 0, 9);
    assert.ok(first && second);
    progress.succeeded(first.requestId, { incarnation: 'A', hwm: 3 });
    const third = send(progress, 0, 9);
    assert.ok(third);
    progress.failed(second.requestId, 1000, 0, false);
    assert.equal(progress.mode, 'probe');
    assert.equal(progress.inflightCount, 0);
    assert.equal(progress.nextId, 4, 'resend from what is known to be held');
    assert.equal(progress.failures, 1);
    assert.equal(progress.retryAtMs, 1050); // backoff(1, {100, 1000}, 0) = 50
    // The other batch in flight fails too: it is no longer tracked, so it is not counted.
    progress.failed(third.requestId, 1001, 0, false);
    assert.equal(progress.failures, 1);
    assert.equal(progress.retryAtMs, 1050);
    assert.equal(send(progress, 1049, 9), undefined, 'not before the backoff');
    assert.deepEqual(send(progress, 1050, 9), { requestId: 5, fromId: 4, toId: 6 });
    assert.equal(send(progress, 1050, 9), undefined, 'probe mode: one request at a time');
    // The probe fails as well: attempt 2.
    progress.failed(5, 1100, 0.5, false);
    assert.equal(progress.failures, 2);
    assert.equal(progress.retryAtMs, 1100 + 150); // backoff(2, ..., 0.5) = 100 + 50
  });

  const backoffCases: { unhealthy: boolean; failures: number; random01: number; delay: number }[] =
    [
      { unhealthy: false, failures: 1, random01: 0, delay: 50 },
      { unhealthy: false, failures: 3, random01: 0, delay: 200 },
      { unhealthy: false, failures: 6, random01: 0, delay: 500 }, // capped at 1000
      { unhealthy: true, failures: 1, random01: 0, delay: 500 },
      { unhealthy: true, failures: 3, random01: 0.5, delay: 3000 },
      { unhealthy: true, failures: 6, random01: 0, delay: 4000 }, // capped at 8000
    ];
  for (const { unhealthy, failures, random01, delay } of backoffCases) {
    void it(`failure ${failures} (${unhealthy ? 'Unhealthy' : 'healthy'} policy) waits ${delay} ms`, () => {
      const progress = connected();
      let nowMs = 0;
      for (let attempt = 1; attempt <= failures; attempt++) {
        nowMs = progress.retryAtMs;
        const batch = send(progress, nowMs, 9);
        assert.ok(batch, `attempt ${attempt} sends`);
        progress.failed(batch.requestId, nowMs, random01, unhealthy);
      }
      assert.equal(progress.failures, failures);
      assert.equal(progress.retryAtMs - nowMs, delay);
    });
  }

  void it('a reply to a request sent before the failure still counts and ends the backoff', () => {
    const progress = connected();
    const first = send(progress, 0, 9);
    const second = send(progress, 0, 9);
    assert.ok(first && second);
    progress.failed(first.requestId, 1000, 0, false);
    const probe = send(progress, 1050, 9);
    assert.deepEqual(probe, { requestId: 4, fromId: 1, toId: 3 });
    // The second batch was stored after all; its reply is late but true.
    assert.equal(progress.succeeded(second.requestId, { incarnation: 'A', hwm: 6 }), true);
    assert.equal(progress.matchId, 6);
    assert.equal(progress.failures, 0);
    assert.equal(progress.retryAtMs, 0);
    assert.equal(progress.mode, 'replicate');
    assert.equal(progress.nextId, 7, 'continue after what is held, past the probe in flight');
    assert.equal(progress.inflightCount, 1, 'the probe is still in flight');
    assert.deepEqual(send(progress, 1060, 9), { requestId: 5, fromId: 7, toId: 9 });
  });

  void it('a probe reply continues right after the secondary hwm', () => {
    const progress = connected(0);
    const first = send(progress, 0, 9);
    assert.ok(first);
    progress.failed(first.requestId, 0, 0, false);
    const probe = send(progress, 50, 9);
    assert.ok(probe);
    assert.equal(progress.succeeded(probe.requestId, { incarnation: 'A', hwm: 2 }), true);
    assert.equal(progress.mode, 'replicate');
    assert.equal(progress.nextId, 3, 'secondary stored only 1..2 of 1..3: resend from 3');
  });

  void it('after a failure with nothing left to send, no empty probe is sent', () => {
    const progress = connected();
    const first = send(progress, 0, 3);
    const second = send(progress, 0, 6);
    assert.ok(first && second);
    progress.succeeded(second.requestId, { incarnation: 'A', hwm: 6 });
    progress.failed(first.requestId, 100, 0, false);
    assert.equal(progress.failures, 1);
    assert.equal(progress.nextId, 7);
    assert.equal(send(progress, 10_000, 6), undefined);
    assert.deepEqual(send(progress, 10_000, 7), { requestId: 4, fromId: 7, toId: 7 });
  });

  void it('before the first reply, a failed probe is retried as an empty probe after backoff', () => {
    const progress = new ReplicationProgress(POLICY);
    const probe = send(progress, 0, 0);
    assert.ok(probe);
    progress.failed(probe.requestId, 0, 0, false);
    assert.equal(send(progress, 49, 0), undefined);
    assert.deepEqual(send(progress, 50, 0), { requestId: 2, fromId: 1, toId: 0 });
  });

  const restarts: { name: string; hwm: number; advanced: boolean }[] = [
    { name: 'empty', hwm: 0, advanced: false },
    { name: 'with a durable prefix 1..2', hwm: 2, advanced: false },
    { name: 'holding more than known', hwm: 8, advanced: true },
  ];
  for (const { name, hwm, advanced } of restarts) {
    void it(`a reply from a new incarnation (restarted ${name}) restarts from its hwm`, () => {
      const progress = connected();
      const first = send(progress, 0, 9);
      assert.ok(first);
      progress.succeeded(first.requestId, { incarnation: 'A', hwm: 3 });
      send(progress, 0, 9);
      const third = send(progress, 0, 9);
      assert.ok(third);
      assert.equal(progress.inflightCount, 2);
      assert.equal(progress.succeeded(third.requestId, { incarnation: 'B', hwm }), advanced);
      assert.equal(progress.incarnation, 'B');
      assert.equal(progress.matchId, hwm, 'matchId follows the new process, down if need be');
      assert.equal(progress.nextId, hwm + 1);
      assert.equal(progress.inflightCount, 0);
      assert.equal(progress.mode, 'replicate');
      const next = send(progress, 0, 9);
      assert.ok(next);
      assert.equal(next.fromId, hwm + 1);
    });
  }

  void it('observe ignores a new incarnation answering a probe sent before the current one answered', () => {
    const progress = connected();
    // The current process (A) first answered request 1; a probe numbered 0 was sent before it.
    assert.equal(progress.observe({ incarnation: 'Z', hwm: 0 }, 0), false);
    assert.equal(progress.incarnation, 'A');
  });

  void it('observe (heartbeat reply) raises matchId and notices a restart', () => {
    const progress = new ReplicationProgress(POLICY);
    assert.equal(progress.observe({ incarnation: 'A', hwm: 5 }, progress.nextSendNo()), false);
    assert.equal(progress.matchId, 0, 'before the first replication reply a report is not used');
    assert.equal(progress.incarnation, undefined);
    const probe = send(progress, 0, 9);
    assert.ok(probe);
    progress.succeeded(probe.requestId, { incarnation: 'A', hwm: 3 });
    assert.equal(progress.observe({ incarnation: 'A', hwm: 8 }, progress.nextSendNo()), true);
    assert.equal(progress.matchId, 8);
    assert.equal(progress.observe({ incarnation: 'A', hwm: 2 }, progress.nextSendNo()), false);
    assert.equal(progress.matchId, 8);
    send(progress, 0, 12);
    assert.equal(progress.inflightCount, 1);
    assert.equal(progress.observe({ incarnation: 'B', hwm: 0 }, progress.nextSendNo()), false);
    assert.equal(progress.incarnation, 'B');
    assert.equal(progress.matchId, 0);
    assert.equal(progress.nextId, 1);
    assert.equal(progress.inflightCount, 0);
    assert.equal(progress.mode, 'replicate');
    assert.deepEqual(send(progress, 0, 12), { requestId: 7, fromId: 1, toId: 3 });
  });

  void it("Nagle's rule: with a batch in flight, small batches wait; a large backlog pipelines", () => {
    const progress = connected(0, { ...POLICY, maxInflightBatches: 4, pipelineMinEntries: 10 });
    // Nothing in flight: one entry is sent at once, so a lone append is not delayed.
    assert.deepEqual(send(progress, 0, 1, 100), { requestId: 2, fromId: 1, toId: 1 });
    // One batch in flight and 9 entries waiting: they wait for the reply, to ride together.
    assert.equal(send(progress, 0, 10, 100), undefined);
    // 10 entries waiting: worth a pipelined request.
    assert.deepEqual(send(progress, 0, 11, 100), { requestId: 3, fromId: 2, toId: 11 });
    // The window still bounds a large backlog.
    assert.deepEqual(send(progress, 0, 1000, 100), { requestId: 4, fromId: 12, toId: 111 });
    assert.deepEqual(send(progress, 0, 1000, 100), { requestId: 5, fromId: 112, toId: 211 });
    assert.equal(send(progress, 0, 1000, 100), undefined);
    // Once every reply is in, whatever waits goes at once, however small.
    for (const requestId of [2, 3, 4, 5])
      progress.succeeded(requestId, { incarnation: 'A', hwm: 211 });
    assert.deepEqual(send(progress, 0, 215, 100), { requestId: 6, fromId: 212, toId: 215 });
  });

  // Regression (simulator, seed 4): the waiters a restarted secondary satisfies must be released.
  void it('observe reports an advance when a restarted secondary holds more than was known', () => {
    const progress = connected(2);
    assert.equal(progress.observe({ incarnation: 'B', hwm: 5 }, progress.nextSendNo()), true);
    assert.equal(progress.matchId, 5);
    assert.equal(progress.observe({ incarnation: 'C', hwm: 1 }, progress.nextSendNo()), false);
    assert.equal(progress.matchId, 1);
  });

  // Regression (simulator, seed 2 with a pending window of 16): entries the secondary dropped
  // beyond its pending window were never sent again.
  void it('sends again from the first id no batch in flight covers', () => {
    const progress = connected(0, { ...POLICY, maxInflightBatches: 3 });
    const first = send(progress, 0, 9); // 1..3
    const second = send(progress, 0, 9); // 4..6
    const third = send(progress, 0, 9); // 7..9
    assert.ok(first && second && third);
    // 7..9 arrive first and are held pending; 4..6 were dropped (beyond the pending window).
    progress.succeeded(third.requestId, { incarnation: 'A', hwm: 0 });
    progress.succeeded(second.requestId, { incarnation: 'A', hwm: 0 });
    assert.equal(
      progress.nextId,
      10,
      '1 is still in flight with batch 1..3: nothing to resend yet',
    );
    progress.succeeded(first.requestId, { incarnation: 'A', hwm: 3 });
    assert.equal(progress.matchId, 3);
    assert.equal(progress.nextId, 4, '4 is in no batch in flight: send again from there');
    assert.deepEqual(send(progress, 0, 9), { requestId: 5, fromId: 4, toId: 6 });
  });

  void it('rejects pipelineMinEntries 0', () => {
    assert.throws(
      () => new ReplicationProgress({ ...POLICY, pipelineMinEntries: 0 }),
      InvariantError,
    );
  });

  void it('retryNow only moves the retry earlier', () => {
    const progress = connected();
    const batch = send(progress, 0, 9);
    assert.ok(batch);
    progress.failed(batch.requestId, 1000, 0, true);
    assert.equal(progress.retryAtMs, 1500);
    progress.retryNow(1200);
    assert.equal(progress.retryAtMs, 1200);
    progress.retryNow(1300);
    assert.equal(progress.retryAtMs, 1200);
    assert.ok(send(progress, 1200, 9));
  });

  const badEnds: { name: string; end: (fromId: number) => number }[] = [
    { name: 'past the last id', end: () => 11 },
    { name: 'before fromId - 1', end: (fromId) => fromId - 2 },
  ];
  for (const { name, end } of badEnds) {
    void it(`rejects a batchEnd ${name}`, () => {
      const progress = connected();
      assert.throws(() => progress.nextBatch(0, 10, end), InvariantError);
    });
  }

  // Regression: a late reply from the replaced process used to bring back its hwm (a false ack).
  void it('a late reply from a replaced incarnation does not bring back its hwm', () => {
    const progress = connected();
    const batch = send(progress, 0, 3);
    assert.ok(batch);
    // Process A stores 1..3 and replies; the reply is delayed. A is killed and restarts empty
    // as B; a heartbeat shows B with nothing.
    progress.observe({ incarnation: 'B', hwm: 0 }, progress.nextSendNo());
    assert.equal(progress.matchId, 0);
    // Now A's delayed reply arrives.
    progress.succeeded(batch.requestId, { incarnation: 'A', hwm: 3 });
    assert.equal(progress.incarnation, 'B', 'B replaced A; A is gone');
    assert.equal(progress.matchId, 0, 'B holds nothing');
    assert.equal(progress.nextId, 1);
  });

  // Regressions found by the simulator with late replies. Seed 126: the old process answered
  // the newest probe after the new one had answered, and was taken for a newer restart. Seed
  // 10511: two quick restarts; the middle process's late answer came after the newest one's.
  void it("an older process's late answer is never used, whatever request it answers", () => {
    const progress = connected();
    const toA = send(progress, 0, 3);
    const probeToA = progress.nextSendNo();
    assert.ok(toA);
    // A dies; B starts and answers a probe sent after it started.
    const probeToB = progress.nextSendNo();
    progress.observe({ incarnation: 'B', hwm: 0 }, probeToB);
    assert.equal(progress.incarnation, 'B');
    // A's answers, sent before it died, arrive now: to a batch and to the probe before B's.
    assert.equal(progress.observe({ incarnation: 'A', hwm: 3 }, probeToA), false);
    assert.equal(progress.isFromOlderProcess(toA.requestId, 'A'), true);
    assert.equal(progress.succeeded(toA.requestId, { incarnation: 'A', hwm: 3 }), false);
    assert.equal(progress.incarnation, 'B');
    assert.equal(progress.matchId, 0);
    // C, unknown so far, answers a later request: a newer process, taken as the restart it is.
    const probeToC = progress.nextSendNo();
    progress.observe({ incarnation: 'C', hwm: 0 }, probeToC);
    assert.equal(progress.incarnation, 'C');
    // B's late answer to its probe changes nothing any more, though B was never retired by name.
    assert.equal(progress.observe({ incarnation: 'B', hwm: 0 }, probeToB), false);
    assert.equal(progress.incarnation, 'C');
  });

  void describe('the commit point (failover): a follower that has every entry is sent it alone', () => {
    /** `send` with a commit point. */
    function stamp(
      progress: ReplicationProgress,
      lastId: number,
      commitId: number,
    ): BatchToSend | undefined {
      return progress.nextBatch(0, lastId, sized(3, lastId), commitId);
    }

    void it('an empty batch once per commit point, only when nothing is in flight', () => {
      const progress = connected(5);
      const sent = progress.nextSendNo();
      assert.deepEqual(stamp(progress, 5, 5), { requestId: sent + 1, fromId: 6, toId: 5 });
      assert.equal(stamp(progress, 5, 5), undefined, 'the same commit point is not sent twice');
      assert.equal(progress.nextId, 6, 'an empty batch moves nothing on');
      progress.succeeded(sent + 1, { incarnation: 'A', hwm: 5 });
      assert.equal(stamp(progress, 5, 5), undefined);
      assert.deepEqual(stamp(progress, 5, 6), { requestId: sent + 2, fromId: 6, toId: 5 });
      assert.equal(stamp(progress, 5, 7), undefined, 'the one in flight is answered first');
      progress.succeeded(sent + 2, { incarnation: 'A', hwm: 5 });
      assert.deepEqual(stamp(progress, 5, 7), { requestId: sent + 3, fromId: 6, toId: 5 });
    });

    void it('a batch of entries carries the commit point: no empty batch follows it', () => {
      const progress = connected(0);
      const batch = stamp(progress, 3, 2);
      assert.ok(batch !== undefined && batch.toId === 3);
      progress.succeeded(batch.requestId, { incarnation: 'A', hwm: 3 });
      assert.equal(stamp(progress, 3, 2), undefined);
      assert.ok(stamp(progress, 3, 3) !== undefined, 'a commit point it was not sent');
    });

    void it('without failover (commit point 0) a follower that has everything gets nothing', () => {
      const progress = connected(5);
      assert.equal(progress.nextBatch(0, 5, sized(3, 5)), undefined);
      assert.equal(stamp(progress, 5, 0), undefined);
    });

    void it('an empty batch in flight does not hold back entries (Nagle)', () => {
      const progress = connected(5, { ...POLICY, maxInflightBatches: 4, pipelineMinEntries: 10 });
      assert.deepEqual(stamp(progress, 5, 5)?.toId, 5);
      assert.deepEqual(stamp(progress, 6, 5)?.toId, 6, 'one new entry goes at once');
      assert.equal(stamp(progress, 7, 5), undefined, 'behind a batch of entries, it waits');
    });

    void it('after a failure the retry, once due, carries the commit point again', () => {
      const progress = connected(5);
      const sent = stamp(progress, 5, 5);
      assert.ok(sent !== undefined);
      // What was in flight may not have arrived.
      progress.failed(sent.requestId, 0, 0, false);
      assert.equal(progress.mode, 'probe');
      assert.equal(stamp(progress, 5, 5), undefined, 'not before the retry is due');
      const retry = progress.nextBatch(progress.retryAtMs, 5, sized(3, 5), 5);
      assert.deepEqual(retry && [retry.fromId, retry.toId], [6, 5]);
      progress.succeeded(retry!.requestId, { incarnation: 'A', hwm: 5 });
      assert.equal(progress.mode, 'replicate');
      assert.equal(stamp(progress, 5, 5), undefined, 'the retry carried it');
    });

    void it('it waits commitAloneAfterMs after the last request, in which a batch may carry it', () => {
      const progress = connected(5, { ...POLICY, commitAloneAfterMs: 2 });
      const batch = progress.nextBatch(10, 6, sized(3, 6), 5);
      assert.ok(batch !== undefined);
      progress.succeeded(batch.requestId, { incarnation: 'A', hwm: 6 });
      assert.equal(progress.commitDueAtMs(5), undefined, 'sent with the batch');
      assert.equal(progress.commitDueAtMs(6), 12);
      assert.equal(progress.nextBatch(11, 6, sized(3, 6), 6), undefined, 'not due yet');
      // The next append within the delay carries it with its entry: nothing is sent alone.
      const next = progress.nextBatch(11, 7, sized(3, 7), 6);
      assert.deepEqual(next && [next.fromId, next.toId], [7, 7]);
      assert.equal(progress.commitDueAtMs(6), undefined);
      progress.succeeded(next!.requestId, { incarnation: 'A', hwm: 7 });
      assert.equal(progress.commitDueAtMs(7), 13);
      assert.deepEqual(progress.nextBatch(13, 7, sized(3, 7), 7)?.fromId, 8);
    });

    void it('after a restart the new process is sent the commit point', () => {
      const progress = connected(5);
      assert.ok(stamp(progress, 5, 5) !== undefined);
      progress.observe({ incarnation: 'B', hwm: 5 }, progress.nextSendNo());
      assert.deepEqual(stamp(progress, 5, 5)?.fromId, 6);
    });
  });
});
