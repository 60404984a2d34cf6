import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterNodeView } from './client/cluster-wire.js';
import {
  advanceCluster,
  changeText,
  initialClusterState,
  summary,
  withNode,
  withRoleChange,
  type NodeSample,
} from './cluster-state.js';
import { readFailoverHealth, UnexpectedAnswer } from './secondary-answers.js';

const PEERS = [
  { name: 'a', url: 'http://a' },
  { name: 'b', url: 'http://b' },
  { name: 'c', url: 'http://c' },
];
const MAX_EVENTS = 3;

function answer(patch: Partial<Extract<NodeSample, { kind: 'reachable' }>> = {}): NodeSample {
  return {
    kind: 'reachable',
    role: 'secondary',
    epoch: 1,
    masterName: 'a',
    lastId: 4,
    commitId: 3,
    ...patch,
  };
}

/** The state after each node's first answer: a leads epoch 1, b and c follow it. */
function steady() {
  let state = initialClusterState(PEERS, 'b', false);
  state = withNode(state, 'a', answer({ role: 'master' }), 10, MAX_EVENTS);
  state = withNode(state, 'b', answer(), 10, MAX_EVENTS);
  return withNode(state, 'c', answer(), 10, MAX_EVENTS);
}

void describe('cluster state', () => {
  void it('starts with every node pending, the serving one marked, no master', () => {
    const state = initialClusterState(PEERS, 'b', true);
    assert.deepEqual(
      state.nodes.map((view) => [view.name, view.self, view.reach, view.role]),
      [
        ['a', false, 'pending', null],
        ['b', true, 'pending', null],
        ['c', false, 'pending', null],
      ],
    );
    assert.equal(state.master, null);
    assert.equal(state.epoch, 0);
    assert.equal(state.faultsNeedToken, true);
  });

  void it('shows the master and the epoch; first answers are not election events', () => {
    const state = steady();
    assert.equal(state.master, 'a');
    assert.equal(state.epoch, 1);
    assert.deepEqual(state.elections, []);
    assert.deepEqual(
      state.nodes.find((view) => view.name === 'c'),
      {
        name: 'c',
        url: 'http://c',
        self: false,
        reach: 'reachable',
        reachError: null,
        role: 'secondary',
        epoch: 1,
        masterName: 'a',
        lastId: 4,
        commitId: 3,
      },
    );
  });

  void it('keeps a dead node as it last answered and says so; a new epoch shows its new master', () => {
    let state = steady();
    state = withNode(state, 'a', { kind: 'unreachable', error: 'refused' }, 20, MAX_EVENTS);
    const a = state.nodes.find((view) => view.name === 'a');
    assert.ok(a !== undefined);
    assert.equal(a.reach, 'unreachable');
    assert.equal(a.role, 'master', 'what it last answered is kept');
    assert.equal(state.master, 'a', 'the followers still follow it');
    assert.deepEqual(state.elections, [
      { atMs: 20, node: 'a', epoch: 1, text: 'does not answer (refused)' },
    ]);
    // The followers move on to epoch 2: no master known there yet.
    state = withNode(state, 'c', answer({ role: 'candidate', epoch: 2, masterName: null }), 30, 3);
    assert.deepEqual([state.epoch, state.master], [2, null]);
    state = withNode(state, 'c', answer({ role: 'master', epoch: 2, masterName: 'c' }), 40, 3);
    assert.deepEqual([state.epoch, state.master], [2, 'c']);
    assert.deepEqual(
      state.elections.map((event) => [event.atMs, event.node, event.epoch, event.text]),
      [
        [40, 'c', 2, 'is master (was candidate)'],
        [30, 'c', 2, 'is a candidate (was secondary), epoch 1 → 2'],
        [20, 'a', 1, 'does not answer (refused)'],
      ],
    );
  });

  void it("takes no election event from the serving node's own answers", () => {
    let state = steady();
    state = withNode(state, 'b', answer({ role: 'candidate', epoch: 2 }), 20, MAX_EVENTS);
    assert.deepEqual(state.elections, []);
    assert.equal(state.epoch, 2);
  });

  void it('records its own role changes, newest first, at most maxEvents', () => {
    let state = steady();
    for (const [index, to] of ['pre-candidate', 'candidate', 'master', 'follower'].entries()) {
      state = withRoleChange(
        state,
        { from: 'x', to, epoch: 2, master: to === 'master' ? 'b' : null, reason: 'why' },
        index,
        MAX_EVENTS,
      );
    }
    assert.deepEqual(
      state.elections.map((event) => event.text),
      [
        'x → follower in epoch 2 (no master known): why',
        'x → master in epoch 2 (master b): why',
        'x → candidate in epoch 2 (no master known): why',
      ],
    );
    assert.ok(state.elections.every((event) => event.node === 'b'));
  });

  void it('describes a new master followed, an epoch change and a return', () => {
    const before: ClusterNodeView = steady().nodes[2]!;
    assert.equal(changeText(before, before), undefined);
    assert.equal(
      changeText(before, { ...before, masterName: 'b', epoch: 2 }),
      'follows b, epoch 1 → 2',
    );
    assert.equal(
      changeText({ ...before, reach: 'unreachable' }, before),
      'answers again as a secondary of a',
    );
    assert.equal(changeText({ ...before, reach: 'pending' }, before), undefined);
  });

  void it('prefers the node that answers as master over what followers say', () => {
    const nodes = steady().nodes.map((view) =>
      view.name === 'c' ? { ...view, role: 'master' as const, masterName: 'c' } : view,
    );
    // Two claim epoch 1 (one of them stale, as a node in a partition may): the first answering.
    assert.deepEqual(summary(nodes), { epoch: 1, master: 'a' });
    assert.deepEqual(summary(initialClusterState(PEERS, 'a', false).nodes), {
      epoch: 0,
      master: null,
    });
  });

  void it('advances the version only when something shows', () => {
    const state = steady();
    assert.equal(advanceCluster(state, { ...state }), state);
    const next = advanceCluster(state, { ...state, epoch: 9 });
    assert.equal(next.version, state.version + 1);
  });
});

void describe('readFailoverHealth', () => {
  const health = {
    node: 'a',
    role: 'master',
    failover: true,
    epoch: 3,
    master: { name: 'a', url: 'http://localhost:8000' },
    log: { lastId: 7, commitId: 6 },
  };

  void it("reads a failover node's health", () => {
    assert.deepEqual(readFailoverHealth(JSON.stringify(health)), {
      kind: 'reachable',
      role: 'master',
      epoch: 3,
      masterName: 'a',
      lastId: 7,
      commitId: 6,
    });
    assert.equal(
      readFailoverHealth(JSON.stringify({ ...health, role: 'candidate', master: null })).masterName,
      null,
    );
  });

  void it('refuses what is not a failover health answer, saying why', () => {
    const refused = (body: unknown, pattern: RegExp) => {
      assert.throws(
        () => readFailoverHealth(typeof body === 'string' ? body : JSON.stringify(body)),
        (error: unknown) => error instanceof UnexpectedAnswer && pattern.test(error.message),
      );
    };
    refused('not json', /not JSON/);
    refused({ ...health, failover: undefined }, /failover: true/);
    refused({ ...health, role: 'leader' }, /role "leader"/);
    refused({ ...health, epoch: -1 }, /epoch, lastId and commitId/);
    refused({ ...health, log: { lastId: 1 } }, /commitId/);
  });
});
