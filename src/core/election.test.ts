import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvariantError } from './assert.js';
import type { ElectionAction, ElectionRole, VoteAnswer } from './election-actions.js';
import { FRESH_ELECTION_STATE, type ElectionState } from './election-state.js';
import { Election } from './election.js';
import type { VoteRequest } from './vote.js';

const T = 1000;
const ABC = ['a', 'b', 'c'];

interface NodeOptions {
  readonly peers?: readonly string[];
  readonly state?: ElectionState;
  readonly lastId?: number;
  /** Draws for the randomized deadlines, in order (the last one repeats); 0 = exactly T. */
  readonly draws?: readonly number[];
  readonly nowMs?: number;
}

function node(self: string, options: NodeOptions = {}): Election {
  const draws = [...(options.draws ?? [0])];
  return new Election({
    self,
    peers: options.peers ?? ABC,
    electionTimeoutMs: T,
    random: () => (draws.length > 1 ? draws.shift()! : draws[0]!),
    initial: options.state ?? state(1, null, 1),
    lastId: () => options.lastId ?? 0,
    nowMs: options.nowMs ?? 0,
  });
}

function state(epoch: number, votedFor: string | null, acceptedEpoch: number): ElectionState {
  return { epoch, votedFor, acceptedEpoch };
}

const kinds = (actions: readonly ElectionAction[]): string[] =>
  actions.map((action) => (action.kind === 'role-changed' ? `role:${action.to}` : action.kind));

function requestsIn(actions: readonly ElectionAction[]): VoteRequest[] {
  return actions.flatMap((action) => (action.kind === 'request-vote' ? [action.request] : []));
}

function answerIn(actions: readonly ElectionAction[]): VoteAnswer {
  const answers = actions.flatMap((action) => (action.kind === 'answer-vote' ? [action] : []));
  assert.equal(answers.length, 1, 'one answer per request');
  return answers[0]!.answer;
}

function persisted(actions: readonly ElectionAction[]): ElectionState[] {
  return actions.flatMap((action) => (action.kind === 'persist' ? [action.state] : []));
}

/** Runs a's election to the end through `voters` (the others' messages are lost). */
function electA(a: Election, voters: readonly [string, Election][], nowMs: number): void {
  const preVote = requestsIn(a.tick(nowMs))[0]!;
  const campaign = voters.flatMap(([name, voter]) =>
    a.onVoteAnswer(nowMs, name, answerIn(voter.onVoteRequest(nowMs, preVote))),
  );
  const vote = requestsIn(campaign).find((request) => !request.preVote)!;
  for (const [name, voter] of voters) {
    a.onVoteAnswer(nowMs, name, answerIn(voter.onVoteRequest(nowMs, vote)));
  }
  assert.equal(a.role, 'master');
}

void describe('Election: becoming master', () => {
  void it('a single-node cluster elects itself at its first tick, persisting before each step', () => {
    const solo = node('a', { peers: ['a'], state: FRESH_ELECTION_STATE });
    const actions = solo.tick(0);
    assert.deepEqual(kinds(actions), [
      'role:pre-candidate',
      'persist',
      'role:candidate',
      'persist',
      'role:master',
    ]);
    assert.deepEqual(persisted(actions), [state(2, 'a', 0), state(2, 'a', 2)]);
    assert.equal(solo.role, 'master');
    assert.equal(solo.masterName, 'a');
  });

  void it('three nodes: no action before the deadline, then pre-vote, vote, master', () => {
    const [a, b, c] = [node('a', { lastId: 5 }), node('b', { lastId: 5 }), node('c')];
    assert.deepEqual(a.tick(T - 1), [], 'the deadline is T with a draw of 0');
    const preVotes = a.tick(T);
    assert.deepEqual(kinds(preVotes), ['role:pre-candidate', 'request-vote', 'request-vote']);
    const preVote = requestsIn(preVotes)[0]!;
    assert.deepEqual(preVote, { epoch: 2, candidate: 'a', log: a.ownLog, preVote: true });
    assert.equal(a.epoch, 1, 'a pre-vote changes no epoch');

    const preAnswer = b.onVoteRequest(T, preVote);
    assert.deepEqual(kinds(preAnswer), ['answer-vote'], 'nothing to persist for a pre-vote');
    assert.deepEqual(answerIn(preAnswer), { epoch: 2, granted: true, preVote: true });
    assert.equal(b.epoch, 1);

    const campaign = a.onVoteAnswer(T + 1, 'b', answerIn(preAnswer));
    assert.deepEqual(kinds(campaign), [
      'persist',
      'role:candidate',
      'request-vote',
      'request-vote',
    ]);
    assert.deepEqual(persisted(campaign), [state(2, 'a', 1)]);
    const vote = requestsIn(campaign)[1]!;
    assert.deepEqual(vote, { epoch: 2, candidate: 'a', log: a.ownLog, preVote: false });

    const voteAnswer = c.onVoteRequest(T + 2, vote);
    assert.deepEqual(kinds(voteAnswer), ['persist', 'role:follower', 'answer-vote']);
    assert.deepEqual(persisted(voteAnswer), [state(2, 'a', 1)]);
    const won = a.onVoteAnswer(T + 3, 'c', answerIn(voteAnswer));
    assert.deepEqual(kinds(won), ['persist', 'role:master']);
    assert.deepEqual(persisted(won), [state(2, 'a', 2)], 'the new master accepts its own log');
    assert.deepEqual([a.role, a.masterName, c.masterName], ['master', 'a', null]);
    assert.deepEqual(c.onMasterContact(T + 4, 'a', 2), [
      {
        kind: 'role-changed',
        from: 'follower',
        to: 'follower',
        epoch: 2,
        master: 'a',
        reason: 'master-contact',
      },
    ]);
    assert.equal(c.masterName, 'a');
  });

  void it('bootstrap makes a fresh node master of epoch 1; elections start at epoch 2', () => {
    const a = node('a', { state: FRESH_ELECTION_STATE });
    const actions = a.bootstrap(0);
    assert.deepEqual(kinds(actions), ['persist', 'role:master']);
    assert.deepEqual(persisted(actions), [state(1, 'a', 1)]);
    assert.throws(() => node('b', { state: state(1, null, 0) }).bootstrap(0), InvariantError);
    const b = node('b', { state: FRESH_ELECTION_STATE });
    assert.equal(requestsIn(b.tick(T))[0]!.epoch, 2, 'never epoch 1, the bootstrap master’s');
  });

  void it('a vote is persisted before it is answered, and a repeated request is granted again', () => {
    const b = node('b');
    const request: VoteRequest = { epoch: 3, candidate: 'a', log: b.ownLog, preVote: false };
    const first = b.onVoteRequest(T + 10, request);
    assert.deepEqual(kinds(first), ['persist', 'role:follower', 'answer-vote']);
    assert.deepEqual(persisted(first), [state(3, 'a', 1)]);
    const again = b.onVoteRequest(T + 11, request);
    assert.deepEqual(kinds(again), ['answer-vote'], 'already stored: nothing to persist');
    assert.equal(answerIn(again).granted, true);
  });
});

void describe('Election: retries and refusals', () => {
  void it('split votes: both candidates retry with new random deadlines, the next epoch', () => {
    // Draws: the first deadline, the pre-vote's, the candidacy's, then the retry's.
    const a = node('a', { draws: [0, 0, 0, 0.5] });
    const b = node('b', { draws: [0, 0, 0, 0.25] });
    for (const candidate of [a, b]) {
      const preVote = requestsIn(candidate.tick(T))[0]!;
      candidate.onVoteAnswer(T, 'c', { epoch: preVote.epoch, granted: true, preVote: true });
    }
    // Both are candidates of epoch 2 with their own vote; c's answers are lost.
    assert.deepEqual([a.role, b.role, a.epoch, b.epoch], ['candidate', 'candidate', 2, 2]);
    const refused = b.onVoteRequest(T, { epoch: 2, candidate: 'a', log: a.ownLog, preVote: false });
    assert.equal(answerIn(refused).granted, false, 'b voted for itself in epoch 2');
    assert.deepEqual([a.nextTickMs(), b.nextTickMs()], [2 * T, 2 * T]);
    assert.deepEqual(a.tick(2 * T - 1), []);
    for (const [candidate, draw] of [
      [a, 0.5],
      [b, 0.25],
    ] as const) {
      const restart = candidate.tick(2 * T);
      assert.deepEqual(kinds(restart), ['role:pre-candidate', 'request-vote', 'request-vote']);
      assert.equal(requestsIn(restart)[0]!.epoch, 3, 'the next attempt asks for the next epoch');
      assert.equal(candidate.nextTickMs(), 2 * T + T * (1 + draw), 'a new random deadline');
    }
  });

  void it('a returning node cannot disrupt: pre-votes refused while a master is heard', () => {
    const c = node('c');
    c.onMasterContact(100, 'a', 1);
    const b = node('b');
    const preVote = requestsIn(b.tick(T))[0]!;
    const cases: [nowMs: number, granted: boolean][] = [
      [100 + T / 2, false],
      [100 + T - 1, false],
      [100 + T, true],
    ];
    for (const [nowMs, granted] of cases) {
      const actions = c.onVoteRequest(nowMs, preVote);
      assert.deepEqual(kinds(actions), ['answer-vote'], `at ${nowMs}: nothing changes at c`);
      const answer = answerIn(actions);
      assert.equal(answer.granted, granted, `pre-vote at ${nowMs}`);
      if (granted) continue;
      assert.deepEqual(b.onVoteAnswer(2 * T, 'c', answer), [], 'a refusal in our epoch: no change');
      assert.deepEqual([b.epoch, c.epoch, b.role], [1, 1, 'pre-candidate']);
    }
  });

  void it('a candidate whose log is behind wins neither a pre-vote nor a vote', () => {
    const a = node('a', { lastId: 3 });
    const b = node('b', { lastId: 5 });
    const c = node('c', { state: state(2, null, 2), lastId: 1 });
    const preVote = requestsIn(a.tick(T))[0]!;
    for (const [voter, name] of [
      [b, 'b'],
      [c, 'c'],
    ] as const) {
      const answer = answerIn(voter.onVoteRequest(T, preVote));
      assert.equal(answer.granted, false, `${name} refuses a's pre-vote`);
      a.onVoteAnswer(T, name, answer);
    }
    assert.equal(a.role, 'follower', "c's refusal carried epoch 2: a follows that epoch");
    assert.deepEqual([a.epoch, a.state.votedFor], [2, null]);
    const vote: VoteRequest = { epoch: 3, candidate: 'a', log: a.ownLog, preVote: false };
    assert.equal(answerIn(b.onVoteRequest(T, vote)).granted, false, 'the log check, not the epoch');
  });

  void it('a candidate counts each voter once, and only votes of its own epoch', () => {
    const peers = ['a', 'b', 'c', 'd', 'e'];
    const a = node('a', { peers, state: state(2, null, 1) });
    a.tick(T);
    const preVote = (epoch: number): VoteAnswer => ({ epoch, granted: true, preVote: true });
    const vote = (epoch: number): VoteAnswer => ({ epoch, granted: true, preVote: false });
    a.onVoteAnswer(T, 'b', preVote(3));
    a.onVoteAnswer(T, 'b', preVote(3));
    assert.equal(a.role, 'pre-candidate', 'b twice is not a majority of five');
    a.onVoteAnswer(T, 'c', preVote(3));
    assert.deepEqual([a.role, a.epoch], ['candidate', 3]);
    const ignored: [string, string, VoteAnswer][] = [
      ['a vote of an older epoch', 'b', vote(2)],
      ['a late pre-vote for this epoch', 'b', preVote(3)],
      ['a refusal', 'b', { epoch: 3, granted: false, preVote: false }],
      ['the one vote that counts', 'c', vote(3)],
      ['the same vote again', 'c', vote(3)],
    ];
    for (const [name, from, answer] of ignored) {
      assert.deepEqual(a.onVoteAnswer(T, from, answer), [], name);
      assert.equal(a.role, 'candidate', name);
    }
    assert.deepEqual(kinds(a.onVoteAnswer(T, 'd', vote(3))), ['persist', 'role:master']);
  });

  void it('one vote per epoch, across a restart from the persisted state', () => {
    const b = node('b');
    const stored = persisted(
      b.onVoteRequest(T, { epoch: 2, candidate: 'a', log: b.ownLog, preVote: false }),
    ).at(-1)!;
    const restarted = node('b', { state: stored, nowMs: 5 * T });
    const log = { acceptedEpoch: 1, lastId: 9 };
    // A timeout after the restart, when the start no longer holds votes back (next describe).
    const actions = restarted.onVoteRequest(6 * T, {
      epoch: 2,
      candidate: 'c',
      log,
      preVote: false,
    });
    assert.deepEqual(kinds(actions), ['answer-vote']);
    assert.equal(answerIn(actions).granted, false);
    assert.deepEqual(restarted.state, state(2, 'a', 1));
  });
});

void describe('Election: a node just started keeps the promise it may have made', () => {
  // b may have answered a master just before it crashed: for a timeout after its start, it
  // refuses votes and pre-votes as if it had heard from one (the master's lease counts on it).
  const cases: [what: string, startedAtMs: number, askedAtMs: number, granted: boolean][] = [
    ['at its start', 5 * T, 5 * T, false],
    ['just before a timeout passed', 5 * T, 6 * T - 1, false],
    ['a timeout after its start', 5 * T, 6 * T, true],
    ['on a first start, a timeout in', 0, T, true],
  ];
  for (const [what, startedAtMs, askedAtMs, granted] of cases) {
    for (const preVote of [true, false]) {
      const kind = preVote ? 'pre-vote' : 'vote';
      void it(`a ${kind} asked ${what}: ${granted ? 'granted' : 'refused'}`, () => {
        const b = node('b', { nowMs: startedAtMs });
        const request: VoteRequest = { epoch: 2, candidate: 'a', log: b.ownLog, preVote };
        const answer = answerIn(b.onVoteRequest(askedAtMs, request));
        assert.equal(answer.granted, granted);
      });
    }
  }
});

void describe('Election: stepping down', () => {
  function masterA(peers: readonly string[] = ABC): Election {
    const a = node('a', { peers });
    const voters = peers.slice(1, 1 + Math.floor(peers.length / 2));
    electA(
      a,
      voters.map((name) => [name, node(name, { peers })]),
      T,
    );
    return a;
  }

  /** A reply: who, when its request was sent, when it arrived. */
  type Reply = [from: string, sentAtMs: number, arrivedAtMs: number];
  const FIVE = ['a', 'b', 'c', 'd', 'e'];
  const NONE = Number.NEGATIVE_INFINITY;
  // Elected at T. Columns: the replies, when check-quorum deposes it, when its lease ends.
  const quorumCases: [
    name: string,
    peers: string[],
    replies: Reply[],
    downAtMs: number,
    leaseEndsAtMs: number,
  ][] = [
    ['3 nodes, no reply: a whole timeout after election, no lease', ABC, [], 2 * T, NONE],
    ['3 nodes, b answered at once at 1.3 s', ABC, [['b', 1300, 1300]], 2300, 2300],
    ['5 nodes, one reply is not a majority', FIVE, [['b', 1300, 1300]], 2 * T, NONE],
    [
      '5 nodes, b and c answered at 1.3 s',
      FIVE,
      [
        ['b', 1300, 1300],
        ['c', 1300, 1300],
      ],
      2300,
      2300,
    ],
    [
      '5 nodes, the older of two replies counts',
      FIVE,
      [
        ['b', 1300, 1300],
        ['c', 1500, 1500],
      ],
      2300,
      2300,
    ],
    [
      '3 nodes, a reply to a request sent before the election',
      ABC,
      [['b', 900, 1100]],
      2 * T,
      1900,
    ],
    // §6.4.1: the lease runs from the request's send time, however late the answer arrives.
    ['3 nodes, a request of 1.3 s answered at 1.9 s', ABC, [['b', 1300, 1900]], 2300, 2300],
    ['3 nodes, an answer arriving after its lease ended', ABC, [['b', 1000, 1999]], 2 * T, 2 * T],
    [
      '3 nodes, answers overtaking each other',
      ABC,
      [
        ['b', 1600, 1700],
        ['b', 1200, 1800],
      ],
      2600,
      2600,
    ],
  ];
  for (const [name, peers, replies, stepsDownAtMs, leaseEndsAtMs] of quorumCases) {
    void it(`check-quorum, ${name}: steps down at ${stepsDownAtMs} ms and not before`, () => {
      const a = masterA(peers);
      for (const [from, sentAtMs, arrivedAtMs] of replies) {
        assert.deepEqual(a.onPeerReply(arrivedAtMs, from, 2, sentAtMs), []);
      }
      assert.equal(a.leaseEndsAtMs(), leaseEndsAtMs, 'the lease');
      assert.equal(a.nextTickMs(), stepsDownAtMs);
      assert.deepEqual(a.tick(stepsDownAtMs - 1), []);
      assert.equal(a.role, 'master');
      const actions = a.tick(stepsDownAtMs);
      assert.equal(a.leaseEndsAtMs(), NONE, 'a follower holds no lease');
      assert.deepEqual(actions, [
        {
          kind: 'role-changed',
          from: 'master',
          to: 'follower',
          epoch: 2,
          master: null,
          reason: 'lost-quorum',
        },
      ]);
    });
  }

  void it('a master that keeps hearing from its majority stays master', () => {
    const a = masterA();
    for (let nowMs = T; nowMs <= 20 * T; nowMs += T / 2) {
      a.onPeerReply(nowMs, 'c', 2, nowMs - T / 4);
      assert.deepEqual(a.tick(nowMs), []);
    }
    assert.equal(a.role, 'master');
  });

  void it('a reply to a request sent after it arrived is a bug', () => {
    const a = masterA();
    assert.throws(() => a.onPeerReply(1200, 'b', 2, 1201), /sent at 1201 ms arrived at 1200 ms/);
    assert.throws(() => a.onPeerReply(1200, 'b', 2, Number.NaN), InvariantError);
  });

  const messages: [name: string, send: (x: Election) => ElectionAction[]][] = [
    [
      'a vote request',
      (x) => x.onVoteRequest(3 * T, { epoch: 7, candidate: 'c', log: x.ownLog, preVote: false }),
    ],
    ['a refused vote answer', (x) => x.onVoteAnswer(3 * T, 'c', refusal(7))],
    ['a master contact', (x) => x.onMasterContact(3 * T, 'c', 7)],
    ['a peer reply', (x) => x.onPeerReply(3 * T, 'c', 7, 3 * T)],
  ];
  const roles: [ElectionRole, () => Election][] = [
    ['master', () => masterA()],
    ['candidate', () => candidateA()],
    ['pre-candidate', () => preCandidateA()],
  ];
  for (const [role, make] of roles) {
    for (const [name, send] of messages) {
      void it(`a ${role} steps down on a higher epoch in ${name}, persisting it first`, () => {
        const x = make();
        assert.equal(x.role, role);
        const actions = send(x);
        assert.deepEqual(kinds(actions).slice(0, 2), ['persist', 'role:follower']);
        assert.equal(persisted(actions)[0]!.epoch, 7);
        assert.deepEqual([x.role, x.epoch], ['follower', 7]);
      });
    }
  }

  function refusal(epoch: number): VoteAnswer {
    return { epoch, granted: false, preVote: false };
  }
  function preCandidateA(): Election {
    const a = node('a');
    a.tick(T);
    return a;
  }
  function candidateA(): Election {
    const a = preCandidateA();
    a.onVoteAnswer(T, 'b', { epoch: 2, granted: true, preVote: true });
    return a;
  }

  void it('a master of an older epoch is refused with ours; two masters in one epoch is a bug', () => {
    const b = node('b', { state: state(4, null, 3) });
    assert.deepEqual(b.onMasterContact(0, 'a', 3), [{ kind: 'refuse-stale', to: 'a', epoch: 4 }]);
    const a = masterA();
    assert.throws(() => a.onMasterContact(T, 'c', 2), /two masters in epoch 2/);
  });

  void it('acceptMasterLog raises acceptedEpoch, once, never past the epoch', () => {
    const b = node('b', { state: state(4, 'c', 2) });
    b.onMasterContact(0, 'c', 4);
    assert.deepEqual(b.acceptMasterLog(4), [{ kind: 'persist', state: state(4, 'c', 4) }]);
    assert.deepEqual(b.acceptMasterLog(4), []);
    assert.deepEqual(b.acceptMasterLog(3), []);
    assert.throws(() => b.acceptMasterLog(5), InvariantError);
  });

  void it('refuses time going back and messages from unknown nodes', () => {
    const a = node('a');
    a.tick(10);
    assert.throws(() => a.tick(9), /time went back/);
    assert.throws(() => a.onPeerReply(10, 'z', 1, 10), /not another node/);
    assert.throws(() => node('z'), /not in its peers/);
  });
});
