import { assert } from './assert.js';
import { checkElectionState, type ElectionState } from './election-state.js';

/**
 * How a node decides on a request for its vote, for failover (issue 14). The log check follows
 * Viewstamped Replication rather than Raft: logs are compared by the epoch of the last master
 * whose log the node accepted, then by the last id - not by the epoch of the last entry. Together
 * with a new master counting acknowledgements of its own epoch only (commit.ts), this is what
 * lets a new master commit older entries without Raft's no-op entry, which the log (messages
 * only, dense ids) has no room for.
 */

/** How complete a node's log is, as votes compare it. */
export interface LogPosition {
  /** The epoch of the last master whose log this node accepted (its log is a prefix of it). */
  readonly acceptedEpoch: number;
  readonly lastId: number;
}

/** A candidate's request. `preVote`: would you vote for me, without anything changing (§9.6). */
export interface VoteRequest {
  /** The epoch the candidate runs for (for a pre-vote, the one it would run for). */
  readonly epoch: number;
  readonly candidate: string;
  readonly log: LogPosition;
  readonly preVote: boolean;
}

/** Why a vote was refused; `granted` when it was not. */
export type VoteVerdict =
  'granted' | 'stale-epoch' | 'voted-for-another' | 'log-behind' | 'master-alive';

export interface VoteDecision {
  readonly verdict: VoteVerdict;
  /**
   * The state to store before answering (fsynced: a vote must never be forgotten). Unchanged for
   * a pre-vote; otherwise the request's epoch when it is higher, and the vote when granted.
   */
  readonly next: ElectionState;
}

/** True when a log at `candidate` holds at least what a log at `voter` may have committed. */
export function isAtLeastAsComplete(candidate: LogPosition, voter: LogPosition): boolean {
  if (candidate.acceptedEpoch !== voter.acceptedEpoch) {
    return candidate.acceptedEpoch > voter.acceptedEpoch;
  }
  return candidate.lastId >= voter.lastId;
}

/**
 * The decision on `request` of a node in `state` whose own log is at `own`. `masterAlive`: the
 * node heard from a master within the least election timeout; it then refuses votes and
 * pre-votes alike, so that a node returning from a partition cannot depose a master that still
 * has its majority (the dissertation's §9.6, with check-quorum on the master's side).
 */
export function decideVote(
  state: ElectionState,
  own: LogPosition,
  masterAlive: boolean,
  request: VoteRequest,
): VoteDecision {
  checkElectionState(state, 'the election state deciding a vote');
  assert(
    Number.isInteger(request.epoch) && request.epoch >= 1,
    `a vote request's epoch must be an integer >= 1, got ${request.epoch}`,
  );
  if (request.epoch < state.epoch || (request.preVote && request.epoch === state.epoch)) {
    return { verdict: 'stale-epoch', next: state };
  }
  if (request.preVote) {
    return { verdict: preVerdict(own, masterAlive, request), next: state };
  }
  const next: ElectionState =
    request.epoch > state.epoch ? { ...state, epoch: request.epoch, votedFor: null } : state;
  if (masterAlive) return { verdict: 'master-alive', next };
  if (next.votedFor !== null && next.votedFor !== request.candidate) {
    return { verdict: 'voted-for-another', next };
  }
  if (!isAtLeastAsComplete(request.log, own)) return { verdict: 'log-behind', next };
  return { verdict: 'granted', next: { ...next, votedFor: request.candidate } };
}

function preVerdict(own: LogPosition, masterAlive: boolean, request: VoteRequest): VoteVerdict {
  if (masterAlive) return 'master-alive';
  return isAtLeastAsComplete(request.log, own) ? 'granted' : 'log-behind';
}

/**
 * A node's randomized election timeout: uniform in [1x, 2x) `electionTimeoutMs`, drawn from the
 * injected `random` (the simulator's PRNG, Math.random in production).
 */
export function randomElectionTimeoutMs(electionTimeoutMs: number, random: () => number): number {
  assert(
    Number.isFinite(electionTimeoutMs) && electionTimeoutMs > 0,
    `electionTimeoutMs must be > 0, got ${electionTimeoutMs}`,
  );
  const draw = random();
  assert(draw >= 0 && draw < 1, `random() must be in [0, 1), got ${draw}`);
  return electionTimeoutMs * (1 + draw);
}
