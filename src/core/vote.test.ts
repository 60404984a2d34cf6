import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ElectionState } from './election-state.js';
import { InvariantError } from './assert.js';
import {
  decideVote,
  isAtLeastAsComplete,
  randomElectionTimeoutMs,
  type LogPosition,
  type VoteRequest,
  type VoteVerdict,
} from './vote.js';

const at = (acceptedEpoch: number, lastId: number): LogPosition => ({ acceptedEpoch, lastId });

void describe('isAtLeastAsComplete', () => {
  const cases: [string, LogPosition, LogPosition, boolean][] = [
    ['same position', at(2, 5), at(2, 5), true],
    ['same epoch, longer', at(2, 6), at(2, 5), true],
    ['same epoch, shorter', at(2, 4), at(2, 5), false],
    ['later epoch, shorter: the epoch decides', at(3, 1), at(2, 9), true],
    ['earlier epoch, longer: the epoch decides', at(1, 90), at(2, 5), false],
    ['empty logs', at(0, 0), at(0, 0), true],
  ];
  for (const [name, candidate, voter, expected] of cases) {
    void it(name, () => {
      assert.equal(isAtLeastAsComplete(candidate, voter), expected);
    });
  }
});

const state = (epoch: number, votedFor: string | null, acceptedEpoch = 1): ElectionState => ({
  epoch,
  votedFor,
  acceptedEpoch,
});
const ask = (epoch: number, candidate: string, log: LogPosition, preVote = false): VoteRequest => ({
  epoch,
  candidate,
  log,
  preVote,
});

interface VoteCase {
  readonly name: string;
  readonly state: ElectionState;
  readonly own: LogPosition;
  readonly masterAlive?: boolean;
  readonly request: VoteRequest;
  readonly verdict: VoteVerdict;
  readonly next: ElectionState;
}

const VOTES: readonly VoteCase[] = [
  {
    name: 'a later epoch and a log as complete: granted, the epoch and the vote stored',
    state: state(2, null),
    own: at(1, 5),
    request: ask(3, 'sub1', at(1, 5)),
    verdict: 'granted',
    next: state(3, 'sub1'),
  },
  {
    name: 'the same candidate asking again in the epoch: granted again (a lost answer)',
    state: state(3, 'sub1'),
    own: at(1, 5),
    request: ask(3, 'sub1', at(1, 5)),
    verdict: 'granted',
    next: state(3, 'sub1'),
  },
  {
    name: 'another candidate in an epoch already voted in: refused, nothing changes',
    state: state(3, 'sub1'),
    own: at(1, 5),
    request: ask(3, 'sub2', at(1, 9)),
    verdict: 'voted-for-another',
    next: state(3, 'sub1'),
  },
  {
    name: 'a stale epoch: refused, nothing changes',
    state: state(4, null),
    own: at(1, 5),
    request: ask(3, 'sub1', at(1, 5)),
    verdict: 'stale-epoch',
    next: state(4, null),
  },
  {
    name: 'a shorter log of the same accepted epoch: refused, but the later epoch is taken',
    state: state(2, 'master'),
    own: at(2, 7),
    request: ask(3, 'sub1', at(2, 6)),
    verdict: 'log-behind',
    next: { epoch: 3, votedFor: null, acceptedEpoch: 1 },
  },
  {
    name: 'Figure 8: a longer log of an older accepted epoch loses to a shorter newer one',
    state: state(4, null, 3),
    own: at(3, 2),
    request: ask(5, 'sub1', at(2, 9)),
    verdict: 'log-behind',
    next: { epoch: 5, votedFor: null, acceptedEpoch: 3 },
  },
  {
    name: 'a master heard within the election timeout: refused, the epoch taken',
    state: state(2, null),
    own: at(2, 5),
    masterAlive: true,
    request: ask(3, 'sub1', at(2, 5)),
    verdict: 'master-alive',
    next: state(3, null),
  },
  {
    name: 'pre-vote for the next epoch: granted, nothing stored',
    state: state(2, 'master'),
    own: at(2, 5),
    request: ask(3, 'sub1', at(2, 5), true),
    verdict: 'granted',
    next: state(2, 'master'),
  },
  {
    name: 'pre-vote while a master is alive: refused (a returning node cannot disrupt)',
    state: state(2, null),
    own: at(2, 5),
    masterAlive: true,
    request: ask(3, 'sub1', at(2, 5), true),
    verdict: 'master-alive',
    next: state(2, null),
  },
  {
    name: 'pre-vote with a log behind: refused',
    state: state(2, null),
    own: at(2, 5),
    request: ask(3, 'sub1', at(2, 4), true),
    verdict: 'log-behind',
    next: state(2, null),
  },
  {
    name: 'pre-vote for the epoch the voter is in already: stale',
    state: state(3, null),
    own: at(2, 5),
    request: ask(3, 'sub1', at(2, 5), true),
    verdict: 'stale-epoch',
    next: state(3, null),
  },
];

void describe('decideVote', () => {
  for (const c of VOTES) {
    void it(c.name, () => {
      const decision = decideVote(c.state, c.own, c.masterAlive ?? false, c.request);
      assert.equal(decision.verdict, c.verdict);
      assert.deepEqual(decision.next, c.next);
    });
  }

  void it('refuses a request for epoch 0 and a broken state as invariants', () => {
    assert.throws(
      () => decideVote(state(1, null), at(1, 1), false, ask(0, 'sub1', at(1, 1))),
      InvariantError,
    );
    assert.throws(
      () => decideVote(state(1, null, 2), at(2, 1), false, ask(3, 'sub1', at(2, 1))),
      InvariantError,
    );
  });
});

void describe('randomElectionTimeoutMs', () => {
  const cases: [number, number, number][] = [
    [1500, 0, 1500],
    [1500, 0.5, 2250],
    [1000, 0.999, 1999],
  ];
  for (const [baseMs, draw, expected] of cases) {
    void it(`${baseMs} ms with a draw of ${draw}: ${expected} ms`, () => {
      assert.equal(
        randomElectionTimeoutMs(baseMs, () => draw),
        expected,
      );
    });
  }

  void it('refuses a timeout of 0 and a draw outside [0, 1)', () => {
    assert.throws(() => randomElectionTimeoutMs(0, () => 0.5), InvariantError);
    assert.throws(() => randomElectionTimeoutMs(1500, () => 1), InvariantError);
  });
});
