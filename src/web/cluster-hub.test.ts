import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ManualClock } from '../testing/manual-clock.js';
import type { ClusterState } from './client/cluster-wire.js';
import { ClusterHub, type ClusterNode } from './cluster-hub.js';
import { RoleChangeFeed } from './role-change-feed.js';
import { SecondaryCallError, type CallSecondary } from './secondary-client.js';

const POLL_MS = 20;

type Health = ReturnType<ClusterNode['health']>;

function health(role: Health['role'], epoch: number, master: string | null): Health {
  return {
    role,
    epoch,
    master: master === null ? null : { name: master },
    log: { lastId: 2, commitId: 2 },
  };
}

/** A hub on node b of a, b, c; a and c answer what the test sets (undefined: down). */
function cluster() {
  const clock = new ManualClock();
  const feed = new RoleChangeFeed(clock);
  const answers = new Map<string, Health | undefined>([
    ['http://a', health('master', 1, 'a')],
    ['http://c', health('secondary', 1, 'a')],
  ]);
  const asked: string[] = [];
  const call: CallSecondary = (baseUrl, request) => {
    asked.push(`${baseUrl}${request.path}`);
    const answer = answers.get(baseUrl);
    if (answer === undefined) {
      return Promise.reject(new SecondaryCallError('GET /health: connection refused'));
    }
    const text = JSON.stringify({ failover: true, ...answer });
    return Promise.resolve({ status: 200, contentType: undefined, retryAfter: undefined, text });
  };
  let own = health('secondary', 1, 'a');
  const node: ClusterNode = {
    config: {
      self: 'b',
      peers: ['a', 'b', 'c'].map((name) => ({ name, url: `http://${name}` })),
    },
    health: () => own,
  };
  const hub = new ClusterHub({
    node,
    feed,
    call,
    logger: pino({ enabled: false }),
    clock,
    faultsNeedToken: false,
    options: { pollIntervalMs: POLL_MS, pollTimeoutMs: 100, minBroadcastIntervalMs: POLL_MS },
  });
  const received: ClusterState[] = [];
  const latest = (): ClusterState => {
    const state = received.at(-1);
    assert.ok(state !== undefined, 'no state received');
    return state;
  };
  const listen = () => hub.subscribe((snapshot) => received.push(snapshot.state));
  const setOwn = (next: Health) => {
    own = next;
  };
  return { clock, feed, answers, asked, hub, received, latest, listen, setOwn };
}

void describe('ClusterHub', () => {
  void it('polls no peer until a page listens; a one-off state asks each once', async () => {
    const { asked, hub, clock } = cluster();
    await clock.advance(5 * POLL_MS);
    assert.deepEqual(asked, []);
    const { state } = await hub.refresh();
    assert.deepEqual(asked.sort(), ['http://a/health', 'http://c/health']);
    assert.equal(state.master, 'a');
    assert.deepEqual(
      state.nodes.map((view) => [view.name, view.reach, view.role]),
      [
        ['a', 'reachable', 'master'],
        ['b', 'reachable', 'secondary'],
        ['c', 'reachable', 'secondary'],
      ],
    );
    hub.close();
  });

  void it('follows a failover live: the master dies, b is elected in epoch 2', async () => {
    const { clock, feed, answers, hub, latest, listen, setOwn } = cluster();
    const stop = listen();
    try {
      await clock.advance(3 * POLL_MS);
      assert.deepEqual([latest().master, latest().epoch], ['a', 1]);

      answers.set('http://a', undefined);
      answers.set('http://c', health('secondary', 2, 'b'));
      setOwn(health('master', 2, 'b'));
      feed.roleChanged({
        from: 'candidate',
        to: 'master',
        epoch: 2,
        master: 'b',
        reason: 'vote-won',
      });
      await clock.advance(3 * POLL_MS);
      const state = latest();
      assert.deepEqual([state.master, state.epoch], ['b', 2]);
      assert.equal(state.nodes[0]?.reach, 'unreachable');
      assert.deepEqual(state.elections.map((event) => `${event.node}: ${event.text}`).sort(), [
        'a: does not answer (GET /health: connection refused)',
        'b: candidate → master in epoch 2 (master b): vote-won',
        'c: follows b, epoch 1 → 2',
      ]);
    } finally {
      stop();
      hub.close();
    }
  });

  void it('stops polling when the last page leaves', async () => {
    const { clock, asked, hub, listen } = cluster();
    const stop = listen();
    await clock.advance(2 * POLL_MS);
    stop();
    const count = asked.length;
    assert.ok(count > 0);
    await clock.advance(10 * POLL_MS);
    assert.equal(asked.length, count);
    hub.close();
  });
});
