import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantError } from './assert.js';
import type { Entry } from './entry.js';
import {
  MasterCore,
  type CoreEvent,
  type PeerSnapshot,
  type ProbeOrder,
  type SendOrder,
} from './master-core.js';
import { MinHeap } from './min-heap.js';
import { ReplicaLog } from './replica-log.js';
import type { ReplicationPolicy } from './replication-progress.js';
import { resolveWriteConcern, type WriteConcern } from './write-concern.js';
import { randomInt, seededRandom } from './fixtures.js';

const HEALTH = { heartbeatIntervalMs: 100, suspectAfterMisses: 2, unhealthyAfterMisses: 4 };
const REPLICATION: ReplicationPolicy = {
  maxInflightBatches: 2,
  pipelineMinEntries: 1,
  backoff: { baseMs: 100, maxMs: 1000 },
  unhealthyBackoff: { baseMs: 1000, maxMs: 8000 },
  commitAloneAfterMs: 0,
};

interface Options {
  readonly peers?: number;
  readonly lastId?: number;
  readonly nowMs?: number;
  readonly maxInflightBatches?: number;
  readonly maxWaiters?: number;
  /** A failover master's lease (default: a fixed master's, which never ends). */
  readonly leaseEndsAtMs?: number;
}

function peerNames(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `sub${index + 1}`);
}

function makeCore(options: Options = {}): MasterCore {
  const peers = peerNames(options.peers ?? 2).map((name, index) => ({
    name,
    url: `http://127.0.0.1:${8001 + index}`,
  }));
  return new MasterCore(
    {
      peers,
      health: HEALTH,
      replication: {
        ...REPLICATION,
        maxInflightBatches: options.maxInflightBatches ?? REPLICATION.maxInflightBatches,
      },
      maxWaiters: options.maxWaiters ?? 100,
    },
    options.lastId ?? 0,
    options.nowMs ?? 0,
    0,
    options.leaseEndsAtMs,
  );
}

/** batchEnd giving batches of up to `size` entries. */
function upTo(size: number): (fromId: number, limitId: number) => number {
  return (fromId, limitId) => Math.min(fromId + size - 1, limitId);
}

/** Assigns and stores `count` entries; returns the last id. */
function append(core: MasterCore, count = 1): number {
  const firstId = core.assign(count);
  const lastId = firstId + count - 1;
  core.stored(lastId, 0);
  return lastId;
}

type Outcome = [kind: 'released' | 'expired', token: number, acks: number];

function outcomes(events: readonly CoreEvent[]): Outcome[] {
  const out: Outcome[] = [];
  for (const event of events) {
    if (event.kind === 'released' || event.kind === 'expired')
      out.push([event.kind, event.token, event.acks]);
  }
  return out;
}

function batches(orders: readonly SendOrder[], peer: string): [number, number][] {
  return orders
    .filter((order) => order.peer === peer)
    .map((order) => [order.batch.fromId, order.batch.toId]);
}

function only<T>(items: readonly T[], what: string): T {
  assert.equal(items.length, 1, `exactly one ${what}: ${JSON.stringify(items)}`);
  return items[0]!;
}

/** A master core plus what a test needs to drive it: the time and each secondary's incarnation. */
class Harness {
  readonly core: MasterCore;
  nowMs: number;
  readonly incarnations = new Map<string, string>();
  /** The probe in flight per secondary. */
  readonly probes = new Map<string, number>();

  constructor(options: Options = {}) {
    this.core = makeCore(options);
    this.nowMs = options.nowMs ?? 0;
    for (const name of peerNames(options.peers ?? 2)) this.incarnations.set(name, `${name}-1`);
  }

  inc(peer: string): string {
    return this.incarnations.get(peer)!;
  }

  /** Answers every first probe batch: each secondary is empty. */
  connect(): this {
    for (const order of this.core.pollSends(this.nowMs, upTo(100))) {
      this.core.replicated(
        order.peer,
        order.batch.requestId,
        { incarnation: this.inc(order.peer), hwm: 0 },
        this.nowMs,
      );
    }
    assert.deepEqual(this.core.takeEvents(), []);
    return this;
  }

  poll(size = 100): SendOrder[] {
    return this.core.pollSends(this.nowMs, upTo(size));
  }

  /** The secondary stored the batch and answers with its hwm (by default the batch end). */
  reply(order: SendOrder, hwm = order.batch.toId, incarnation = this.inc(order.peer)): void {
    this.core.replicated(order.peer, order.batch.requestId, { incarnation, hwm }, this.nowMs);
  }

  /** The one order among `orders` that goes to `peer`. */
  orderTo(orders: readonly SendOrder[], peer: string): SendOrder {
    return only(
      orders.filter((order) => order.peer === peer),
      'order',
    );
  }

  replyAll(orders: readonly SendOrder[], peer?: string): void {
    for (const order of orders) if (peer === undefined || order.peer === peer) this.reply(order);
  }

  fail(order: SendOrder, error = 'ECONNREFUSED', random01 = 0): void {
    this.core.replicationFailed(order.peer, order.batch.requestId, error, this.nowMs, random01);
  }

  /** tick + pollProbes at `nowMs`; remembers the probe numbers. */
  pump(nowMs: number): ProbeOrder[] {
    this.nowMs = nowMs;
    this.core.tick(nowMs);
    const probes = this.core.pollProbes(nowMs);
    for (const probe of probes) this.probes.set(probe.peer, probe.probeNo);
    return probes;
  }

  answerProbe(peer: string, hwm: number, incarnation = this.inc(peer)): void {
    this.core.probeAnswered(peer, this.probes.get(peer)!, { incarnation, hwm }, this.nowMs);
  }

  failProbe(peer: string): void {
    this.core.probeFailed(peer, this.probes.get(peer)!);
  }

  events(): CoreEvent[] {
    return this.core.takeEvents();
  }

  peer(name: string): PeerSnapshot {
    return only(
      this.core.peers(this.nowMs).filter((peer) => peer.name === name),
      `peer ${name}`,
    );
  }
}

void describe('MasterCore: construction, ids, snapshot', () => {
  void it('starts writable with every secondary Healthy and unknown', () => {
    const core = makeCore({ lastId: 7, nowMs: 1000 });
    assert.equal(core.clusterSize, 3);
    assert.equal(core.lastId, 7);
    assert.equal(core.readOnly, false);
    assert.equal(core.waitingAppends, 0);
    assert.deepEqual(core.quorum(), { size: 3, required: 2, healthy: 3 });
    assert.deepEqual(core.takeEvents(), []);
    assert.equal(core.nextWakeupMs(), 1000, 'the first probes are due at once');
    assert.deepEqual(core.peers(1250), [
      {
        name: 'sub1',
        url: 'http://127.0.0.1:8001',
        status: 'Healthy',
        ackedId: 0,
        lag: 7,
        lastContactMs: null,
        missedProbes: 0,
        mode: 'probe',
        inflightBatches: 0,
        failedAttempts: 0,
        lastError: null,
      },
      {
        name: 'sub2',
        url: 'http://127.0.0.1:8002',
        status: 'Healthy',
        ackedId: 0,
        lag: 7,
        lastContactMs: null,
        missedProbes: 0,
        mode: 'probe',
        inflightBatches: 0,
        failedAttempts: 0,
        lastError: null,
      },
    ]);
  });

  void it('rejects duplicate secondary names', () => {
    const peer = { name: 'sub1', url: 'http://a' };
    assert.throws(
      () =>
        new MasterCore(
          { peers: [peer, peer], health: HEALTH, replication: REPLICATION, maxWaiters: 1 },
          0,
          0,
        ),
      InvariantError,
    );
  });

  void it('assigns consecutive ids; lastId follows what is stored', () => {
    const core = makeCore();
    assert.equal(core.assign(1), 1);
    assert.equal(core.assign(3), 2);
    assert.equal(core.lastId, 0, 'assigned is not stored');
    core.stored(1, 0);
    assert.equal(core.lastId, 1);
    core.stored(4, 0);
    assert.equal(core.lastId, 4);
    core.stored(4, 0);
    assert.equal(core.assign(2), 5);
    assert.throws(() => {
      core.stored(3, 0);
    }, InvariantError);
    assert.throws(() => {
      core.stored(7, 0);
    }, InvariantError);
    assert.throws(() => core.assign(0), InvariantError);
    assert.throws(() => core.assign(1.5), InvariantError);
    assert.throws(() => core.waitFor(1, 99, 1, undefined, 0), InvariantError);
  });

  void it('continues ids after a restart with a stored log', () => {
    const core = makeCore({ lastId: 41 });
    assert.equal(core.assign(1), 42);
  });

  void it('peers() reports lag and the time since last contact, rounded', () => {
    const h = new Harness({ nowMs: 0 });
    h.nowMs = 10.4;
    h.connect();
    append(h.core, 3);
    h.nowMs = 20;
    assert.equal(h.peer('sub1').lastContactMs, 10);
    assert.equal(h.peer('sub1').lag, 3);
    assert.equal(h.peer('sub1').mode, 'replicate');
    h.nowMs = 25;
    const orders = h.poll();
    assert.deepEqual(batches(orders, 'sub1'), [[1, 3]]);
    h.reply(h.orderTo(orders, 'sub1'));
    const snapshot = h.peer('sub1');
    assert.equal(snapshot.ackedId, 3);
    assert.equal(snapshot.lag, 0);
    assert.equal(snapshot.lastContactMs, 0);
    assert.equal(snapshot.inflightBatches, 0);
    assert.equal(h.peer('sub2').inflightBatches, 1);
    assert.equal(h.peer('sub2').lag, 3);
  });
});

void describe('MasterCore: first contact and batching', () => {
  void it('probes each secondary with one empty batch, then waits for the answer', () => {
    const core = makeCore();
    assert.deepEqual(core.pollSends(0, upTo(10)), [
      { peer: 'sub1', batch: { requestId: 1, fromId: 1, toId: 0 } },
      { peer: 'sub2', batch: { requestId: 1, fromId: 1, toId: 0 } },
    ]);
    assert.deepEqual(core.pollSends(0, upTo(10)), []);
    core.replicated('sub1', 1, { incarnation: 'a', hwm: 0 }, 5);
    assert.deepEqual(core.takeEvents(), [], 'first contact is not a restart');
    assert.deepEqual(core.pollSends(5, upTo(10)), [], 'nothing to send yet');
  });

  void it('a restarted master finds a secondary that already holds its log', () => {
    const h = new Harness({ lastId: 5 });
    const orders = h.poll();
    // An empty probe first: nothing is resent to a secondary that already holds 1..5.
    assert.deepEqual(batches(orders, 'sub1'), [[1, 0]]);
    h.reply(orders[0]!, 5);
    assert.equal(h.peer('sub1').ackedId, 5);
    assert.equal(h.core.acksFor(5, h.nowMs), 2);
    assert.equal(h.core.acksFor(6, h.nowMs), 0);
    assert.deepEqual(batches(h.poll(), 'sub1'), []);
  });

  void it('respects maxInflightBatches and asks batchEnd for each batch with the limit', () => {
    const h = new Harness({ peers: 1, maxInflightBatches: 3 }).connect();
    append(h.core, 20);
    const calls: [number, number][] = [];
    const end = (fromId: number, limitId: number): number => {
      calls.push([fromId, limitId]);
      return Math.min(fromId + 4, limitId);
    };
    const orders = h.core.pollSends(0, end);
    assert.deepEqual(batches(orders, 'sub1'), [
      [1, 5],
      [6, 10],
      [11, 15],
    ]);
    assert.deepEqual(calls, [
      [1, 20],
      [6, 20],
      [11, 20],
    ]);
    assert.deepEqual(h.core.pollSends(0, end), [], 'window full');
    assert.equal(calls.length, 3, 'batchEnd is not asked when nothing can be sent');
    assert.equal(h.peer('sub1').inflightBatches, 3);
    h.reply(orders[0]!);
    assert.deepEqual(batches(h.core.pollSends(0, end), 'sub1'), [[16, 20]]);
    assert.deepEqual(h.core.pollSends(0, end), []);
  });

  void it('single-entry batches and a window of 1', () => {
    const h = new Harness({ peers: 1, maxInflightBatches: 1 }).connect();
    append(h.core, 3);
    for (let id = 1; id <= 3; id++) {
      const order = only(h.poll(1), 'order');
      assert.deepEqual([order.batch.fromId, order.batch.toId], [id, id]);
      assert.deepEqual(h.poll(1), []);
      h.reply(order);
    }
    assert.equal(h.peer('sub1').ackedId, 3);
  });

  void it('a batchEnd outside fromId..limit is an invariant violation', () => {
    const h = new Harness({ peers: 1 }).connect();
    append(h.core, 2);
    assert.throws(() => h.core.pollSends(0, (_fromId, limitId) => limitId + 1), InvariantError);
  });
});

void describe('MasterCore: write concern', () => {
  void it('releases w=1/2/3/majority/all in the order their own w is reached', () => {
    const h = new Harness({ maxInflightBatches: 8 }).connect();
    const majority = resolveWriteConcern('majority', 3);
    const all = resolveWriteConcern('all', 3);
    assert.equal(h.core.waitFor(1, append(h.core), 3, undefined, h.nowMs), true);
    assert.deepEqual(outcomes(h.events()), []);
    h.core.waitFor(2, append(h.core), 1, undefined, h.nowMs);
    assert.deepEqual(outcomes(h.events()), [['released', 2, 1]], 'w=1: the master alone');
    h.core.waitFor(3, append(h.core), majority, undefined, h.nowMs);
    h.core.waitFor(4, append(h.core), all, undefined, h.nowMs);
    assert.deepEqual(outcomes(h.events()), []);
    assert.equal(h.core.waitingAppends, 3);

    const orders = h.poll(1);
    const at = (peer: string, id: number): SendOrder =>
      only(
        orders.filter((order) => order.peer === peer && order.batch.toId === id),
        `${peer} ${id}`,
      );
    const steps: [peer: string, id: number, expected: Outcome[]][] = [
      ['sub1', 1, []],
      ['sub2', 1, [['released', 1, 3]]],
      ['sub1', 2, []],
      ['sub1', 3, [['released', 3, 2]]],
      ['sub2', 2, []],
      ['sub2', 3, []],
      ['sub2', 4, []],
      ['sub1', 4, [['released', 4, 3]]],
    ];
    for (const [peer, id, expected] of steps) {
      h.reply(at(peer, id));
      assert.deepEqual(outcomes(h.events()), expected, `${peer} acks ${id}`);
    }
    assert.equal(h.core.waitingAppends, 0);
  });

  // 5 nodes; secondaries hold 1..5, 1..4, 1..3, 1..2; the master holds 1..5.
  const fiveNodes: { w: WriteConcern; lastId: number; released: boolean; acks: number }[] = [
    { w: 1, lastId: 5, released: true, acks: 2 },
    { w: 2, lastId: 5, released: true, acks: 2 },
    { w: 3, lastId: 5, released: false, acks: 2 },
    { w: 'majority', lastId: 4, released: true, acks: 3 },
    { w: 'majority', lastId: 5, released: false, acks: 2 },
    { w: 4, lastId: 3, released: true, acks: 4 },
    { w: 4, lastId: 4, released: false, acks: 3 },
    { w: 5, lastId: 2, released: true, acks: 5 },
    { w: 'all', lastId: 2, released: true, acks: 5 },
    { w: 'all', lastId: 3, released: false, acks: 4 },
    { w: 'majority', lastId: 1, released: true, acks: 5 },
  ];
  for (const { w, lastId, released, acks } of fiveNodes) {
    void it(`5 nodes: w=${w} on id ${lastId} is ${released ? '' : 'not '}released (acks ${acks})`, () => {
      const h = new Harness({ peers: 4 }).connect();
      append(h.core, 5);
      const holds = [5, 4, 3, 2];
      for (const order of h.poll()) h.reply(order, holds[Number(order.peer.slice(3)) - 1]);
      h.events();
      assert.equal(h.core.acksFor(lastId, h.nowMs), acks);
      assert.equal(h.core.waitFor(9, lastId, resolveWriteConcern(w, 5), undefined, h.nowMs), true);
      assert.deepEqual(outcomes(h.events()), released ? [['released', 9, acks]] : []);
      assert.equal(h.core.waitingAppends, released ? 0 : 1);
    });
  }

  void it('no head-of-line blocking: a waiting w=3 never delays later w=1 and w=2 appends', () => {
    const h = new Harness().connect();
    h.core.waitFor(1, append(h.core), 3, undefined, h.nowMs);
    const w1: Outcome[] = [];
    const w2: Outcome[] = [];
    for (let token = 2; token <= 21; token++) {
      const w = token % 2 === 0 ? 1 : 2;
      h.core.waitFor(token, append(h.core), w, undefined, h.nowMs);
      if (w === 1) w1.push(['released', token, 1]);
      else w2.push(['released', token, 2]);
    }
    assert.deepEqual(outcomes(h.events()), w1, 'w=1 answered at once, in order');
    const orders = h.poll();
    h.replyAll(orders, 'sub1'); // sub2 is silent
    assert.deepEqual(outcomes(h.events()), w2, 'every w=2 answered, the w=3 still waits');
    assert.equal(h.core.waitingAppends, 1);
    h.replyAll(orders, 'sub2');
    assert.deepEqual(outcomes(h.events()), [['released', 1, 3]]);
  });

  const timeouts: { name: string; ackedBy: string[]; acks: number }[] = [
    { name: 'no secondary holds it', ackedBy: [], acks: 1 },
    { name: 'one secondary holds it', ackedBy: ['sub1'], acks: 2 },
  ];
  for (const { name, ackedBy, acks } of timeouts) {
    void it(`a w=3 timeout when ${name} expires with acks ${acks}`, () => {
      const h = new Harness().connect();
      const id = append(h.core);
      const orders = h.poll();
      for (const peer of ackedBy) h.replyAll(orders, peer);
      h.core.waitFor(7, id, 3, 1000, h.nowMs);
      assert.deepEqual(outcomes(h.events()), []);
      h.core.tick(999);
      assert.deepEqual(outcomes(h.events()), []);
      h.core.tick(1000);
      assert.deepEqual(outcomes(h.events()), [['expired', 7, acks]]);
      assert.equal(h.core.waitingAppends, 0);
      // Replication goes on; the expired append is never answered twice.
      h.replyAll(orders);
      h.core.tick(5000);
      assert.deepEqual(outcomes(h.events()), []);
      assert.equal(h.core.acksFor(id, h.nowMs), 3);
    });
  }

  void it('a released append with a deadline never expires later', () => {
    const h = new Harness().connect();
    h.core.waitFor(1, append(h.core), 2, 500, h.nowMs);
    h.replyAll(h.poll(), 'sub1');
    assert.deepEqual(outcomes(h.events()), [['released', 1, 2]]);
    h.core.tick(500);
    h.core.tick(10_000);
    assert.deepEqual(outcomes(h.events()), []);
  });

  void it('a deadline already past expires at the next tick', () => {
    const h = new Harness().connect();
    h.core.waitFor(1, append(h.core), 3, 0, h.nowMs);
    h.core.tick(0);
    assert.deepEqual(outcomes(h.events()), [['expired', 1, 1]]);
  });

  void it('waitFor answers false when the waiter table is full', () => {
    const h = new Harness({ maxWaiters: 2 }).connect();
    assert.equal(h.core.waitFor(1, append(h.core), 3, undefined, h.nowMs), true);
    assert.equal(h.core.waitFor(2, append(h.core), 3, undefined, h.nowMs), true);
    assert.equal(h.core.waitFor(3, append(h.core), 3, undefined, h.nowMs), false);
    assert.equal(h.core.waitingAppends, 2);
    h.replyAll(h.poll());
    assert.deepEqual(outcomes(h.events()), [
      ['released', 1, 3],
      ['released', 2, 3],
    ]);
  });

  // Regression: an idempotent replay waits again for an older id; the per-w queue used to assert
  // that ids arrive in order (against every waiter ever added with that w), so the replay threw.
  void it('an idempotent replay may wait for an older id than earlier waiters', () => {
    const h = new Harness().connect();
    const first = append(h.core);
    h.core.waitFor(1, first, 1, undefined, h.nowMs);
    h.core.waitFor(2, append(h.core), 1, undefined, h.nowMs);
    h.core.waitFor(3, append(h.core), 3, undefined, h.nowMs);
    assert.deepEqual(outcomes(h.events()), [
      ['released', 1, 1],
      ['released', 2, 1],
    ]);
    // Retries of the first append (same key, same id 1) with w=1 and w=3.
    assert.doesNotThrow(() => h.core.waitFor(4, first, 1, undefined, h.nowMs));
    assert.doesNotThrow(() => h.core.waitFor(5, first, 3, undefined, h.nowMs));
    assert.deepEqual(outcomes(h.events()), [['released', 4, 1]]);
    const orders = h.poll(1);
    for (const order of orders) if (order.batch.toId === 1) h.reply(order);
    assert.deepEqual(outcomes(h.events()), [['released', 5, 3]], 'id 1 is held by 3 nodes');
  });
});

void describe('MasterCore: with failover, what secondaries hold counts only under the lease', () => {
  const NO_LEASE = Number.NEGATIVE_INFINITY;

  /** 3 nodes, one entry waiting for w=2 until 1000 ms, sub1 holding it at `nowMs` 10. */
  function heldBySub1(leaseEndsAtMs: number): Harness {
    const h = new Harness({ leaseEndsAtMs }).connect();
    h.nowMs = 10;
    h.core.waitFor(1, append(h.core), 2, 1000, h.nowMs);
    h.reply(h.orderTo(h.poll(), 'sub1'));
    return h;
  }

  // [case, lease when sub1 answers, renewal at 10 ms (or none), released now, acks now]
  const cases: [string, number, number | undefined, boolean, number][] = [
    ['a fixed master: no lease to wait for', Number.POSITIVE_INFINITY, undefined, true, 2],
    ['no lease yet: waits', NO_LEASE, undefined, false, 1],
    ['no lease yet, then a renewal: released by it', NO_LEASE, 500, true, 2],
    ['no lease yet, then a renewal already ended: waits', NO_LEASE, 10, false, 1],
    ['a lease held as the answer arrives', 500, undefined, true, 2],
    ['a lease that ended before the answer arrived', 10, undefined, false, 1],
    ['a lease that ended, then an earlier end: changes nothing', 10, 5, false, 1],
  ];
  for (const [name, leaseEndsAtMs, renewal, released, acks] of cases) {
    void it(name, () => {
      const h = heldBySub1(leaseEndsAtMs);
      if (renewal !== undefined) h.core.renewLease(renewal, h.nowMs);
      assert.deepEqual(outcomes(h.core.takeEvents()), released ? [['released', 1, acks]] : []);
      assert.equal(h.core.acksFor(1, h.nowMs), acks);
      if (released) return;
      h.pump(1000);
      assert.deepEqual(outcomes(h.core.takeEvents()), [['expired', 1, 1]], 'w reached, not known');
    });
  }

  void it('expireAll answers every waiter as the master steps down, those without a timeout too', () => {
    const h = heldBySub1(NO_LEASE);
    h.core.waitFor(2, append(h.core), 3, undefined, h.nowMs);
    h.core.waitFor(3, append(h.core), 3, 2000, h.nowMs);
    assert.equal(h.core.waitingAppends, 3);
    h.core.expireAll(h.nowMs);
    assert.deepEqual(outcomes(h.core.takeEvents()), [
      ['expired', 1, 1],
      ['expired', 2, 1],
      ['expired', 3, 1],
    ]);
    assert.equal(h.core.waitingAppends, 0);
    h.pump(2000);
    assert.deepEqual(outcomes(h.core.takeEvents()), [], 'no deadline left behind');
  });

  void it('a lease ending by time alone: acks fall back to the master, expireAll says so', () => {
    const h = heldBySub1(NO_LEASE);
    h.core.renewLease(500, h.nowMs);
    h.core.takeEvents();
    h.core.waitFor(2, append(h.core), 3, undefined, h.nowMs);
    h.replyAll(h.poll(), 'sub1');
    assert.equal(h.core.acksFor(2, 499), 2);
    assert.equal(h.core.acksFor(2, 500), 1, 'the lease ends at 500: sub1 may have dropped it');
    h.core.expireAll(500);
    assert.deepEqual(outcomes(h.core.takeEvents()), [['expired', 2, 1]]);
  });
});

void describe('MasterCore: restarts, failures and backoff', () => {
  const detections = ['heartbeat reply', 'replication reply'] as const;
  for (const via of detections) {
    void it(`a secondary restarted empty (seen by a ${via}) is resent everything from id 1`, () => {
      const h = new Harness().connect();
      append(h.core, 5);
      h.replyAll(h.poll());
      assert.equal(h.peer('sub1').ackedId, 5);
      assert.equal(h.core.acksFor(1, h.nowMs), 3);
      h.incarnations.set('sub1', 'sub1-2');
      if (via === 'heartbeat reply') {
        h.pump(0);
        h.answerProbe('sub1', 0);
      } else {
        append(h.core);
        const orders = h.poll();
        h.replyAll(orders, 'sub2');
        h.reply(h.orderTo(orders, 'sub1'), 0);
      }
      const lastId = h.core.lastId;
      assert.deepEqual(h.events(), [
        { kind: 'peer-restarted', peer: 'sub1', hwm: 0, incarnation: 'sub1-2' },
      ]);
      assert.equal(h.peer('sub1').ackedId, 0, 'matchId drops to what the new process holds');
      assert.equal(h.peer('sub1').lag, lastId);
      assert.equal(h.peer('sub1').mode, 'replicate');
      assert.equal(h.core.acksFor(1, h.nowMs), 2);
      h.core.waitFor(9, lastId, 3, undefined, h.nowMs);
      assert.deepEqual(outcomes(h.events()), [], 'sub1 no longer counts');
      const resend = h.poll(3);
      const expected: [number, number][] =
        lastId === 5
          ? [
              [1, 3],
              [4, 5],
            ]
          : [
              [1, 3],
              [4, 6],
            ];
      assert.deepEqual(batches(resend, 'sub1'), expected);
      h.replyAll(resend, 'sub1');
      assert.equal(h.peer('sub1').ackedId, lastId);
      assert.deepEqual(outcomes(h.events()), [['released', 9, 3]]);
    });
  }

  void it('a secondary restarted with its durable log keeps its prefix', () => {
    const h = new Harness().connect();
    append(h.core, 5);
    h.replyAll(h.poll());
    h.pump(0);
    h.answerProbe('sub1', 5, 'sub1-2');
    assert.deepEqual(h.events(), [
      { kind: 'peer-restarted', peer: 'sub1', hwm: 5, incarnation: 'sub1-2' },
    ]);
    assert.equal(h.peer('sub1').ackedId, 5);
    assert.deepEqual(h.poll(), []);
  });

  void it('a failure falls back to probe mode with backoff; stale replies still count', () => {
    const h = new Harness().connect();
    const lastId = append(h.core, 6);
    const orders = h.poll(3);
    assert.deepEqual(batches(orders, 'sub1'), [
      [1, 3],
      [4, 6],
    ]);
    h.replyAll(orders, 'sub2');
    const [first, second] = orders.filter((order) => order.peer === 'sub1');
    assert.ok(first && second);
    h.core.waitFor(7, lastId, 3, undefined, h.nowMs);
    h.events();

    h.nowMs = 1000;
    h.fail(first, 'ECONNRESET', 0);
    assert.deepEqual(h.events(), [
      { kind: 'replication-failing', peer: 'sub1', error: 'ECONNRESET', retryInMs: 50 },
    ]);
    assert.deepEqual(
      (({ mode, inflightBatches, failedAttempts, lastError, ackedId }) => ({
        mode,
        inflightBatches,
        failedAttempts,
        lastError,
        ackedId,
      }))(h.peer('sub1')),
      { mode: 'probe', inflightBatches: 0, failedAttempts: 1, lastError: 'ECONNRESET', ackedId: 0 },
    );
    h.nowMs = 1049;
    assert.deepEqual(h.poll(3), [], 'not before the backoff');
    h.nowMs = 1050;
    const probe = only(h.poll(3), 'probe');
    assert.deepEqual([probe.peer, probe.batch.fromId, probe.batch.toId], ['sub1', 1, 3]);
    assert.deepEqual(h.poll(3), [], 'probe mode: one request at a time');

    // The other batch of the window fails late: not counted again.
    h.nowMs = 1051;
    h.fail(second, 'late failure');
    assert.deepEqual(h.events(), []);
    assert.equal(h.peer('sub1').failedAttempts, 1);
    assert.equal(h.peer('sub1').lastError, 'ECONNRESET');

    // The probe fails: attempt 2, no second 'replication-failing' event, the error is updated.
    h.nowMs = 1100;
    h.fail(probe, 'timeout', 0);
    assert.deepEqual(h.events(), []);
    assert.equal(h.peer('sub1').failedAttempts, 2);
    assert.equal(h.peer('sub1').lastError, 'timeout');
    h.nowMs = 1199;
    assert.deepEqual(h.poll(3), []);

    // A late success of the second batch (sent before the first failure) is true and counts.
    h.reply(second, 6);
    assert.deepEqual(h.events(), [
      { kind: 'replication-recovered', peer: 'sub1', failedAttempts: 2 },
      { kind: 'released', token: 7, acks: 3 },
    ]);
    const snapshot = h.peer('sub1');
    assert.equal(snapshot.ackedId, 6);
    assert.equal(snapshot.mode, 'replicate');
    assert.equal(snapshot.failedAttempts, 0);
    assert.equal(snapshot.lastError, null);
  });

  void it('an Unhealthy secondary is retried with the long backoff, and at once when back', () => {
    const h = new Harness().connect();
    append(h.core, 3);
    for (let nowMs = 0; nowMs <= 400; nowMs += 100) {
      h.pump(nowMs);
      h.answerProbe('sub2', 0);
    }
    assert.equal(h.peer('sub1').status, 'Unhealthy');
    h.events();
    const order = only(
      h.poll().filter((item) => item.peer === 'sub1'),
      'order',
    );
    h.fail(order, 'ECONNREFUSED', 0);
    assert.deepEqual(h.events(), [
      { kind: 'replication-failing', peer: 'sub1', error: 'ECONNREFUSED', retryInMs: 500 },
    ]);
    h.nowMs = 450;
    assert.deepEqual(batches(h.poll(), 'sub1'), []);
    h.answerProbe('sub1', 0);
    assert.deepEqual(h.events(), [
      { kind: 'health-changed', peer: 'sub1', from: 'Unhealthy', to: 'Healthy', missedProbes: 0 },
    ]);
    assert.deepEqual(batches(h.poll(), 'sub1'), [[1, 3]], 'no need to wait until 900');
  });

  for (const beyond of [3, 7]) {
    void it(`a report of hwm ${beyond} beyond the master's last id 2 is a failure, never progress`, () => {
      const h = new Harness().connect();
      append(h.core, 2);
      const orders = h.poll();
      h.core.waitFor(5, 2, 2, undefined, h.nowMs);
      h.nowMs = 1000;
      const order = only(
        orders.filter((item) => item.peer === 'sub1'),
        'order',
      );
      h.reply(order, beyond, 'other-history');
      const events = h.events();
      assert.equal(events.length, 1);
      const event = events[0]!;
      assert.equal(event.kind, 'replication-failing');
      assert.equal(event.peer, 'sub1');
      assert.equal(event.retryInMs, 75); // backoff attempt 1 with random 0.5
      assert.match(event.error, new RegExp(`${beyond}.*2`));
      const snapshot = h.peer('sub1');
      assert.equal(snapshot.ackedId, 0);
      assert.equal(snapshot.mode, 'probe');
      assert.equal(snapshot.failedAttempts, 1);
      assert.equal(h.core.waitingAppends, 1);
      // Same through a heartbeat: not observed, no restart reported, still alive.
      h.pump(1000);
      h.answerProbe('sub2', beyond, 'other-history');
      assert.deepEqual(h.events(), []);
      assert.equal(h.peer('sub2').ackedId, 0);
      assert.equal(h.core.acksFor(2, h.nowMs), 1);
    });
  }

  // Regression: a late reply from the process a secondary was before it restarted empty used to
  // bring back that process's hwm, so the master counted entries nobody held any more.
  void it('a late reply from a replaced incarnation does not count entries the new one lacks', () => {
    const h = new Harness().connect();
    const lastId = append(h.core, 3);
    const orders = h.poll();
    h.replyAll(orders, 'sub2');
    h.core.waitFor(1, lastId, 3, undefined, h.nowMs);
    const toOldSub1 = h.orderTo(orders, 'sub1');
    // sub1 (sub1-1) stores 1..3 and answers, but the answer is delayed; sub1 is killed and
    // restarts empty as sub1-2; a heartbeat says so.
    h.pump(0);
    h.answerProbe('sub1', 0, 'sub1-2');
    assert.deepEqual(h.events(), [
      { kind: 'peer-restarted', peer: 'sub1', hwm: 0, incarnation: 'sub1-2' },
    ]);
    // Now the old answer arrives.
    h.reply(toOldSub1, 3, 'sub1-1');
    assert.equal(h.peer('sub1').ackedId, 0, 'sub1-2 holds nothing');
    assert.deepEqual(outcomes(h.events()), [], 'id 3 is held by 2 nodes, not 3');
  });

  // Found by the simulator (seed 126, late replies): the old process answered the latest probe
  // after the new one had answered a batch, and was taken for a newer restart.
  void it("the old process's late answer to the latest probe does not bring it back", () => {
    const h = new Harness().connect();
    const lastId = append(h.core, 3);
    h.replyAll(h.poll());
    assert.equal(h.core.acksFor(lastId, h.nowMs), 3);
    h.pump(0);
    // sub1-1 answers this probe, but the answer is delayed; sub1 restarts empty as sub1-2 and
    // answers a batch first.
    const fourth = append(h.core);
    const orders = h.poll();
    h.replyAll(orders, 'sub2');
    h.reply(h.orderTo(orders, 'sub1'), 0, 'sub1-2');
    assert.equal(h.peer('sub1').ackedId, 0);
    h.events();
    h.answerProbe('sub1', lastId, 'sub1-1');
    assert.equal(h.peer('sub1').ackedId, 0, 'sub1-2 holds nothing');
    assert.deepEqual(h.events(), [], 'no restart back to the old process');
    h.core.waitFor(1, fourth, 3, undefined, h.nowMs);
    assert.deepEqual(outcomes(h.events()), [], 'id 4 is held by 2 nodes, not 3');
  });
});

void describe('MasterCore: health and read-only', () => {
  void it('silent secondaries: Suspected at 2, Unhealthy at 4 missed probes, read-only once', () => {
    const h = new Harness().connect();
    const seen: [number, CoreEvent[]][] = [];
    for (let nowMs = 0; nowMs <= 1000; nowMs += 100) {
      h.pump(nowMs);
      const events = h.events();
      if (events.length > 0) seen.push([nowMs, events]);
    }
    assert.deepEqual(seen, [
      [
        200,
        [
          {
            kind: 'health-changed',
            peer: 'sub1',
            from: 'Healthy',
            to: 'Suspected',
            missedProbes: 2,
          },
          {
            kind: 'health-changed',
            peer: 'sub2',
            from: 'Healthy',
            to: 'Suspected',
            missedProbes: 2,
          },
        ],
      ],
      [
        400,
        [
          {
            kind: 'health-changed',
            peer: 'sub1',
            from: 'Suspected',
            to: 'Unhealthy',
            missedProbes: 4,
          },
          {
            kind: 'health-changed',
            peer: 'sub2',
            from: 'Suspected',
            to: 'Unhealthy',
            missedProbes: 4,
          },
          {
            kind: 'read-only-changed',
            readOnly: true,
            quorum: { size: 3, required: 2, healthy: 1 },
          },
        ],
      ],
    ]);
    assert.equal(h.core.readOnly, true);
    assert.deepEqual(h.core.quorum(), { size: 3, required: 2, healthy: 1 });
    assert.equal(h.peer('sub1').missedProbes, 10);
    assert.throws(() => h.core.assign(1), InvariantError, 'no id is assigned while read-only');

    h.nowMs = 1010;
    h.answerProbe('sub2', 0);
    assert.deepEqual(h.events(), [
      { kind: 'health-changed', peer: 'sub2', from: 'Unhealthy', to: 'Healthy', missedProbes: 0 },
      { kind: 'read-only-changed', readOnly: false, quorum: { size: 3, required: 2, healthy: 2 } },
    ]);
    assert.equal(h.core.readOnly, false);
    assert.equal(append(h.core), 1);

    // sub1 comes back through a replication reply rather than a probe.
    const order = only(
      h.poll().filter((item) => item.peer === 'sub1'),
      'order',
    );
    h.reply(order);
    assert.deepEqual(h.events(), [
      { kind: 'health-changed', peer: 'sub1', from: 'Unhealthy', to: 'Healthy', missedProbes: 0 },
    ]);
    assert.deepEqual(h.core.quorum(), { size: 3, required: 2, healthy: 3 });
  });

  void it('heldByHealthyId: what the master and every secondary not Unhealthy hold', () => {
    const h = new Harness().connect();
    append(h.core, 10);
    assert.equal(h.core.heldByHealthyId, 0, 'no secondary has said it holds anything yet');
    const orders = h.poll(4);
    assert.deepEqual(batches(orders, 'sub1'), [
      [1, 4],
      [5, 8],
    ]);
    h.replyAll(orders, 'sub1');
    h.reply(
      h.orderTo(
        orders.filter((order) => order.batch.fromId === 1),
        'sub2',
      ),
    );
    assert.equal(h.core.heldByHealthyId, 4, 'sub1 holds 8, sub2 only 4');

    // sub2 goes silent: once Unhealthy it no longer holds the others back.
    const seen: [number, number][] = [];
    for (let nowMs = 100; nowMs <= 500; nowMs += 100) {
      for (const probe of h.pump(nowMs)) {
        if (probe.peer === 'sub1') h.answerProbe('sub1', 8);
        else h.failProbe('sub2');
      }
      seen.push([nowMs, h.core.heldByHealthyId]);
    }
    assert.equal(h.peer('sub2').status, 'Unhealthy');
    assert.deepEqual(seen.at(-1), [500, 8], `by time: ${JSON.stringify(seen)}`);

    // sub2 is back, restarted empty: it holds nothing, and neither do all secondaries.
    h.answerProbe('sub2', 0, 'sub2-2');
    assert.equal(h.peer('sub2').status, 'Healthy');
    assert.equal(h.core.heldByHealthyId, 0);

    // Never past what the master itself holds, whatever the secondaries say.
    const all = new Harness({ peers: 1 }).connect();
    append(all.core, 3);
    all.replyAll(all.poll());
    assert.equal(all.core.heldByHealthyId, 3);
    all.core.written(all.core.assign(2) + 1);
    all.replyAll(all.core.pollSends(all.nowMs, upTo(100), 5));
    assert.equal(all.peer('sub1').ackedId, 5);
    assert.equal(all.core.heldByHealthyId, 3, 'the master holds 3 until its write is durable');
    all.core.stored(5, all.nowMs);
    assert.equal(all.core.heldByHealthyId, 5);
  });

  void it('probes that fail at once count one miss per interval', () => {
    const h = new Harness({ peers: 1 }).connect();
    const seen: [number, string][] = [];
    for (let nowMs = 0; nowMs <= 500; nowMs += 50) {
      for (const probe of h.pump(nowMs)) h.core.probeFailed(probe.peer, probe.probeNo);
      for (const event of h.events()) {
        if (event.kind === 'health-changed') seen.push([nowMs, event.to]);
        if (event.kind === 'read-only-changed') seen.push([nowMs, `readOnly=${event.readOnly}`]);
      }
    }
    // misses at 0, 100, 200, 300: Suspected at the 2nd, Unhealthy at the 4th; 2 nodes need both
    assert.deepEqual(seen, [
      [100, 'Suspected'],
      [300, 'Unhealthy'],
      [300, 'readOnly=true'],
    ]);
  });

  void it('a late failure of an old probe is not counted twice', () => {
    const h = new Harness({ peers: 1 }).connect();
    const [first] = h.pump(0);
    assert.ok(first);
    h.pump(100); // first probe unanswered for an interval: miss 1; probe 2 sent
    h.core.probeFailed('sub1', first.probeNo);
    assert.equal(h.peer('sub1').missedProbes, 1);
    assert.equal(h.peer('sub1').status, 'Healthy');
    h.failProbe('sub1');
    assert.equal(h.peer('sub1').missedProbes, 2);
    assert.equal(h.peer('sub1').status, 'Suspected');
  });

  const quorumTable: { peers: number; down: number; readOnly: boolean; healthy: number }[] = [
    { peers: 0, down: 0, readOnly: false, healthy: 1 },
    { peers: 1, down: 1, readOnly: true, healthy: 1 },
    { peers: 2, down: 1, readOnly: false, healthy: 2 },
    { peers: 2, down: 2, readOnly: true, healthy: 1 },
    { peers: 3, down: 1, readOnly: false, healthy: 3 },
    { peers: 3, down: 2, readOnly: true, healthy: 2 },
    { peers: 4, down: 2, readOnly: false, healthy: 3 },
    { peers: 4, down: 3, readOnly: true, healthy: 2 },
  ];
  for (const { peers, down, readOnly, healthy } of quorumTable) {
    void it(`${down} of ${peers} secondaries Unhealthy -> readOnly ${readOnly}`, () => {
      const h = new Harness({ peers });
      const silent = new Set(peerNames(down));
      let readOnlyEvents = 0;
      for (let nowMs = 0; nowMs <= 800; nowMs += 100) {
        for (const probe of h.pump(nowMs)) {
          if (!silent.has(probe.peer)) h.answerProbe(probe.peer, 0);
        }
        for (const event of h.events()) {
          if (event.kind === 'read-only-changed') {
            readOnlyEvents += 1;
            assert.deepEqual(event, {
              kind: 'read-only-changed',
              readOnly: true,
              quorum: { size: peers + 1, required: Math.floor((peers + 1) / 2) + 1, healthy },
            });
          }
        }
      }
      assert.equal(h.core.readOnly, readOnly);
      assert.equal(h.core.quorum().healthy, healthy);
      assert.equal(readOnlyEvents, readOnly ? 1 : 0, 'exactly one event per transition');
      const statuses = h.core.peers(800).map((peer) => peer.status);
      assert.deepEqual(
        statuses,
        peerNames(peers).map((name) => (silent.has(name) ? 'Unhealthy' : 'Healthy')),
      );
    });
  }

  void it('Suspected secondaries still count towards the quorum', () => {
    const h = new Harness({ peers: 2 });
    for (let nowMs = 0; nowMs <= 300; nowMs += 100) h.pump(nowMs);
    assert.deepEqual(
      h.core.peers(300).map((peer) => peer.status),
      ['Suspected', 'Suspected'],
    );
    assert.equal(h.core.readOnly, false);
    assert.deepEqual(h.core.quorum(), { size: 3, required: 2, healthy: 3 });
  });

  void it('in a healthy network no secondary ever leaves Healthy (100 intervals)', () => {
    const h = new Harness().connect();
    for (let nowMs = 0; nowMs <= 10_000; nowMs += 100) {
      assert.equal(h.pump(nowMs).length, 2, `both probed at ${nowMs}`);
      h.nowMs = nowMs + 99; // answered just inside the interval
      for (const peer of ['sub1', 'sub2']) h.answerProbe(peer, 0);
      h.core.tick(nowMs + 99);
      assert.deepEqual(
        h.core.peers(nowMs + 99).map((peer) => [peer.status, peer.missedProbes]),
        [
          ['Healthy', 0],
          ['Healthy', 0],
        ],
      );
    }
    assert.deepEqual(h.events(), []);
    assert.equal(h.core.readOnly, false);
  });
});

void describe('MasterCore: nextWakeupMs', () => {
  void it('without secondaries or waiters there is nothing to wake up for', () => {
    const core = makeCore({ peers: 0 });
    assert.equal(core.nextWakeupMs(), undefined);
    core.stored(core.assign(1), 0);
    assert.equal(core.nextWakeupMs(), undefined);
  });

  void it('follows probes due, probes in flight and write-concern deadlines', () => {
    const h = new Harness({ nowMs: 0 });
    assert.equal(h.core.nextWakeupMs(), 0, 'first probes due now');
    h.pump(0);
    assert.equal(h.core.nextWakeupMs(), 100, 'probe timeouts');
    h.nowMs = 10;
    h.answerProbe('sub1', 0);
    h.answerProbe('sub2', 0);
    assert.equal(h.core.nextWakeupMs(), 100, 'next probes due');
    h.connect();
    h.core.waitFor(1, append(h.core), 3, 60, h.nowMs);
    assert.equal(h.core.nextWakeupMs(), 60, 'deadline');
    h.core.tick(60);
    assert.equal(h.core.nextWakeupMs(), 100);
  });

  void it('a commit point a level follower lacks is a wake-up when it is due alone', () => {
    const core = new MasterCore(
      {
        peers: [{ name: 'sub1', url: 'http://127.0.0.1:8001' }],
        health: HEALTH,
        replication: { ...REPLICATION, commitAloneAfterMs: 2 },
        maxWaiters: 10,
      },
      0,
      0,
    );
    only(core.pollProbes(0), 'heartbeat'); // in flight: its wake-up is at 100
    const probe = only(core.pollSends(0, upTo(10), undefined, 0), 'probe');
    core.replicated('sub1', probe.batch.requestId, { incarnation: 'a', hwm: 0 }, 0);
    append(core);
    const batch = only(core.pollSends(5, upTo(10), 1, 0), 'batch');
    core.replicated('sub1', batch.batch.requestId, { incarnation: 'a', hwm: 1 }, 6);
    assert.deepEqual(core.pollSends(6, upTo(10), 1, 1), [], 'not due before 7');
    assert.equal(core.nextWakeupMs(), 7);
    const alone = only(core.pollSends(7, upTo(10), 1, 1), 'commit point alone');
    assert.deepEqual([alone.batch.fromId, alone.batch.toId], [2, 1]);
    assert.deepEqual(core.pollSends(9, upTo(10), 1, 1), []);
    assert.equal(core.nextWakeupMs(), 100);
  });

  void it('a retry with something to send is a wake-up', () => {
    const h = new Harness().connect();
    append(h.core);
    const orders = h.poll();
    h.pump(1000);
    assert.equal(h.core.nextWakeupMs(), 1100);
    h.fail(orders[0]!, 'ECONNREFUSED', 0);
    assert.equal(h.core.nextWakeupMs(), 1050);
  });

  void it('no busy loop: a failed secondary with nothing left to send is not a wake-up', () => {
    const h = new Harness().connect();
    append(h.core);
    const first = h.poll(1);
    append(h.core);
    const second = h.poll(1);
    h.replyAll(first, 'sub2');
    h.replyAll(second); // sub1 stored 1..2 (both batches arrived), answered the second one
    const late = only(
      first.filter((order) => order.peer === 'sub1'),
      'order',
    );
    h.pump(1000);
    h.fail(late, 'timeout', 0); // the first batch times out: failures 1, retry at 1050
    assert.equal(h.peer('sub1').failedAttempts, 1);
    assert.equal(h.peer('sub1').ackedId, 2);
    assert.deepEqual(h.poll(), []);
    assert.equal(h.core.nextWakeupMs(), 1100, 'the 1050 retry has nothing to send');
    h.pump(5000);
    assert.deepEqual(h.poll(), []);
    const wake = h.core.nextWakeupMs();
    assert.ok(wake !== undefined && wake > 5000, `wake-up ${wake} must be after now (5000)`);
    assert.equal(wake, 5100);
    // An append gives the retry something to do: it is due at once.
    const lastId = append(h.core);
    assert.ok((h.core.nextWakeupMs() ?? Infinity) <= 5000);
    assert.deepEqual(batches(h.poll(), 'sub1'), [[lastId, lastId]]);
    assert.equal(h.core.nextWakeupMs(), 5100);
  });

  void it('never returns a past time after a pump, whatever happens (seeded, 40 runs)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const random = seededRandom(seed);
      const h = new Harness({ peers: 3 }).connect();
      const inflight: SendOrder[] = [];
      let nowMs = 0;
      for (let step = 0; step < 300; step++) {
        nowMs += randomInt(random, 120);
        const probes = h.pump(nowMs);
        for (const probe of probes) {
          const r = random();
          if (r < 0.4) h.answerProbe(probe.peer, h.peer(probe.peer).ackedId);
          else if (r < 0.6) h.core.probeFailed(probe.peer, probe.probeNo);
        }
        if (!h.core.readOnly && random() < 0.5) append(h.core, 1 + randomInt(random, 3));
        inflight.push(...h.poll(1 + randomInt(random, 4)));
        while (inflight.length > 0 && random() < 0.6) {
          const order = inflight.splice(randomInt(random, inflight.length), 1)[0]!;
          if (random() < 0.5) h.fail(order, 'boom', random());
          else h.reply(order, Math.min(order.batch.toId, h.core.lastId));
        }
        inflight.push(...h.poll(1 + randomInt(random, 4)));
        h.events();
        const wake = h.core.nextWakeupMs();
        assert.ok(
          wake !== undefined && wake > nowMs,
          `seed ${seed} step ${step}: wake-up ${wake} at ${nowMs}`,
        );
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A seeded simulation: the master core and secondaries built on ReplicaLog, over a fake network
// that delays, reorders, drops and duplicates messages, with secondaries crashing and restarting
// (with their log, or empty). Checks honest write concern at every answer, agreement and the
// gap-free prefix at every step, no busy loop, and convergence after healing.
// ---------------------------------------------------------------------------------------------

interface SimSecondary {
  readonly name: string;
  incarnationNo: number;
  up: boolean;
  disk: Map<number, Entry>;
  replica: ReplicaLog;
  /** Highest id lost by an empty restart the master has not noticed yet (it may still count it). */
  unnoticedLossUpTo: number;
  checkedUpTo: number;
}

interface SimFaults {
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly errorRate: number;
  readonly crashRate: number;
}

const REPLICATION_TIMEOUT_MS = 200;
const SIM_LOG = 'sim-log';

class Simulation {
  readonly core: MasterCore;
  readonly log = new Map<number, Entry>();
  readonly secondaries: SimSecondary[];
  readonly waiting = new Map<number, { lastId: number; w: number }>();
  readonly answered = new Set<number>();
  nowMs = 0;
  /** Pending deliveries by time; the fraction keeps ties in the order they were scheduled. */
  readonly #queue = new MinHeap<{ atMs: number; run: () => void }>();
  #seq = 0;
  #nextToken = 1;

  constructor(
    readonly random: () => number,
    peers: number,
  ) {
    this.core = makeCore({ peers, maxInflightBatches: 3, maxWaiters: 10_000 });
    this.secondaries = peerNames(peers).map((name) => ({
      name,
      incarnationNo: 1,
      up: true,
      disk: new Map(),
      replica: new ReplicaLog(undefined, 0, 1000),
      unnoticedLossUpTo: 0,
      checkedUpTo: 0,
    }));
  }

  #at(atMs: number, run: () => void): void {
    this.#seq += 1;
    assert.ok(this.#seq < 1e6);
    this.#queue.push(atMs + this.#seq * 1e-7, { atMs, run });
  }

  #delay(): number {
    return 1 + randomInt(this.random, 40);
  }

  #secondary(name: string): SimSecondary {
    return this.secondaries.find((sec) => sec.name === name)!;
  }

  /** One request/answer exchange; `handle` runs on the secondary and gives the answer. */
  #exchange<T>(
    name: string,
    faults: SimFaults,
    timeoutMs: number,
    handle: (sec: SimSecondary) => T | undefined,
    onAnswer: (answer: T) => void,
    onFailure: (error: string) => void,
  ): void {
    const sentAt = this.nowMs;
    let settled = false;
    const settle = (run: () => void): void => {
      if (settled) return;
      settled = true;
      run();
    };
    this.#at(sentAt + timeoutMs, () => {
      settle(() => {
        onFailure('timeout');
      });
    });
    if (this.random() < faults.dropRate) return; // request lost
    const copies = this.random() < faults.duplicateRate ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      this.#at(this.nowMs + this.#delay() + copy * this.#delay(), () => {
        const sec = this.#secondary(name);
        if (!sec.up) {
          if (copy === 0) {
            this.#at(this.nowMs + 1, () => {
              settle(() => {
                onFailure('ECONNREFUSED');
              });
            });
          }
          return;
        }
        const answer = handle(sec);
        if (copy > 0) return; // the duplicate's answer goes nowhere
        const incarnationNo = sec.incarnationNo;
        if (this.random() < faults.dropRate) return; // answer lost
        this.#at(this.nowMs + this.#delay(), () => {
          // A process that died takes its unsent answers with it (the connection is reset).
          const alive = sec.up && sec.incarnationNo === incarnationNo;
          settle(() => {
            if (answer !== undefined && alive) onAnswer(answer);
            else onFailure(alive ? 'HTTP 500' : 'ECONNRESET');
          });
        });
      });
    }
  }

  #send(order: SendOrder, faults: SimFaults): void {
    const items: Entry[] = [];
    for (let id = order.batch.fromId; id <= order.batch.toId; id++) items.push(this.log.get(id)!);
    this.#exchange(
      order.peer,
      faults,
      REPLICATION_TIMEOUT_MS,
      (sec) => {
        const outcome = sec.replica.receive({ logId: SIM_LOG, epoch: 1, entries: items }, (id) =>
          sec.disk.get(id),
        );
        assert.equal(outcome.kind, 'accepted', JSON.stringify(outcome));
        if (outcome.append.length > 0) {
          for (const item of outcome.append) sec.disk.set(item.id, item);
          sec.replica.stored(outcome.append[outcome.append.length - 1]!.id);
        }
        if (this.random() < faults.errorRate) return undefined; // 500 after storing
        return { incarnation: `${sec.name}-${sec.incarnationNo}`, hwm: sec.replica.hwm };
      },
      (report) => {
        this.core.replicated(order.peer, order.batch.requestId, report, this.nowMs);
      },
      (error) => {
        this.core.replicationFailed(
          order.peer,
          order.batch.requestId,
          error,
          this.nowMs,
          this.random(),
        );
      },
    );
  }

  #probe(probe: ProbeOrder, faults: SimFaults): void {
    this.#exchange(
      probe.peer,
      faults,
      HEALTH.heartbeatIntervalMs,
      (sec) => ({ incarnation: `${sec.name}-${sec.incarnationNo}`, hwm: sec.replica.hwm }),
      (report) => {
        this.core.probeAnswered(probe.peer, probe.probeNo, report, this.nowMs);
      },
      () => {
        this.core.probeFailed(probe.peer, probe.probeNo);
      },
    );
  }

  #clientAppend(): void {
    const core = this.core;
    if (core.readOnly) return;
    const count = 1 + randomInt(this.random, 3);
    const firstId = core.assign(count);
    for (let id = firstId; id < firstId + count; id++) {
      this.log.set(id, { id, epoch: 1, message: `m${id}` });
    }
    const lastId = firstId + count - 1;
    core.stored(lastId, 0);
    const choices: WriteConcern[] = [1, 2, 'majority', 'all', core.clusterSize];
    const w = resolveWriteConcern(
      choices[randomInt(this.random, choices.length)]!,
      core.clusterSize,
    );
    const deadline =
      this.random() < 0.5 ? undefined : this.nowMs + 100 + randomInt(this.random, 2000);
    const token = this.#nextToken++;
    this.waiting.set(token, { lastId, w });
    assert.equal(core.waitFor(token, lastId, w, deadline, 0), true);
  }

  #crash(): void {
    const sec = this.secondaries[randomInt(this.random, this.secondaries.length)]!;
    const kind = randomInt(this.random, 3);
    if (kind === 0) {
      sec.up = !sec.up; // stop, or come back with the same process
      return;
    }
    sec.incarnationNo += 1;
    sec.up = true;
    if (kind === 1) {
      // restart with its durable log (pending entries were in memory only)
      sec.replica = new ReplicaLog(
        sec.replica.hwm > 0 ? { logId: SIM_LOG, epoch: 1 } : undefined,
        sec.replica.hwm,
        1000,
      );
    } else {
      sec.unnoticedLossUpTo = Math.max(sec.unnoticedLossUpTo, sec.replica.hwm);
      sec.disk = new Map();
      sec.replica = new ReplicaLog(undefined, 0, 1000);
    }
  }

  #holders(id: number): number {
    let holders = this.core.lastId >= id ? 1 : 0;
    for (const sec of this.secondaries) {
      if (sec.replica.hwm >= id || sec.unnoticedLossUpTo >= id) holders += 1;
    }
    return holders;
  }

  #handleEvents(): void {
    for (const event of this.core.takeEvents()) {
      if (event.kind === 'peer-restarted') this.#secondary(event.peer).unnoticedLossUpTo = 0;
      if (event.kind !== 'released' && event.kind !== 'expired') continue;
      const waiter = this.waiting.get(event.token);
      assert.ok(waiter !== undefined, `token ${event.token} answered twice or never asked`);
      this.waiting.delete(event.token);
      this.answered.add(event.token);
      if (event.kind === 'released') {
        assert.ok(event.acks >= waiter.w, `released with acks ${event.acks} < w ${waiter.w}`);
        const holders = this.#holders(waiter.lastId);
        assert.ok(
          event.acks <= holders,
          `id ${waiter.lastId} released with acks ${event.acks} but ${holders} nodes hold it`,
        );
      } else {
        assert.ok(event.acks < waiter.w, `expired with acks ${event.acks} >= w ${waiter.w}`);
      }
    }
  }

  /** Agreement and the gap-free prefix; ids already checked are not rechecked (they never change). */
  #checkLogs(): void {
    for (const sec of this.secondaries) {
      sec.checkedUpTo = Math.min(sec.checkedUpTo, sec.replica.hwm);
      for (let id = sec.checkedUpTo + 1; id <= sec.replica.hwm; id++) {
        const held = sec.disk.get(id);
        const expected = this.log.get(id);
        if (held?.message !== expected?.message || held?.id !== id)
          assert.fail(`${sec.name} shows ${JSON.stringify(held)} at id ${id}`);
      }
      sec.checkedUpTo = sec.replica.hwm;
      const snapshot = this.core.peers(this.nowMs).find((peer) => peer.name === sec.name)!;
      assert.ok(snapshot.ackedId <= this.core.lastId);
    }
  }

  #pump(faults: SimFaults): void {
    const core = this.core;
    core.tick(this.nowMs);
    for (const probe of core.pollProbes(this.nowMs)) this.#probe(probe, faults);
    const batchSize = 1 + randomInt(this.random, 5);
    for (const order of core.pollSends(this.nowMs, upTo(batchSize))) this.#send(order, faults);
    this.#handleEvents();
    const wake = core.nextWakeupMs();
    assert.ok(wake === undefined || wake > this.nowMs, `wake-up ${wake} at ${this.nowMs}`);
  }

  /** Runs until `untilMs`; clients append every ~`appendEveryMs` while `appendEveryMs` > 0. */
  run(untilMs: number, faults: SimFaults, appendEveryMs: number): void {
    let nextAppendAt = appendEveryMs > 0 ? this.nowMs : Infinity;
    while (this.nowMs < untilMs) {
      const nextMessage = Math.floor(this.#queue.peekKey() ?? Infinity);
      const next = Math.min(
        nextMessage,
        this.core.nextWakeupMs() ?? Infinity,
        nextAppendAt,
        untilMs,
      );
      assert.ok(next >= this.nowMs);
      this.nowMs = next;
      while ((this.#queue.peekKey() ?? Infinity) < this.nowMs + 1) {
        this.#queue.pop()!.run();
        this.#handleEvents();
      }
      if (this.nowMs >= nextAppendAt) {
        this.#clientAppend();
        if (this.random() < faults.crashRate) this.#crash();
        nextAppendAt = this.nowMs + 1 + randomInt(this.random, 2 * appendEveryMs);
      }
      this.#pump(faults);
      this.#checkLogs();
    }
  }

  heal(): void {
    for (const sec of this.secondaries) sec.up = true;
  }
}

void describe('MasterCore: seeded simulation', () => {
  const faults: SimFaults = {
    dropRate: 0.05,
    duplicateRate: 0.05,
    errorRate: 0.05,
    crashRate: 0.02,
  };
  const calm: SimFaults = { dropRate: 0, duplicateRate: 0, errorRate: 0, crashRate: 0 };
  for (let seed = 1; seed <= 12; seed++) {
    void it(`seed ${seed}: honest acks, agreement, no busy loop, convergence after healing`, () => {
      const sim = new Simulation(seededRandom(seed), 1 + (seed % 4));
      sim.run(6000, faults, 15);
      sim.heal();
      sim.run(6000 + 20_000, calm, 0);
      const lastId = sim.core.lastId;
      assert.ok(lastId > 50, `seed ${seed}: only ${lastId} entries appended`);
      for (const sec of sim.secondaries) {
        assert.equal(sec.replica.hwm, lastId, `seed ${seed}: ${sec.name} converged`);
        assert.equal(sec.replica.pendingCount, 0);
      }
      for (const peer of sim.core.peers(sim.nowMs)) {
        assert.equal(peer.ackedId, lastId);
        assert.equal(peer.status, 'Healthy');
      }
      assert.equal(sim.core.readOnly, false);
      assert.equal(sim.waiting.size, 0, 'every append got its answer');
      assert.equal(sim.core.waitingAppends, 0);
    });
  }
});
