import type { ElectionState } from './election-state.js';
import type { VoteRequest, VoteVerdict } from './vote.js';

/**
 * The types the election core (election.ts) takes and returns. Actions are plain data: the
 * caller executes each list in order, and finishes a `persist` (written and fsynced) before it
 * executes anything after it - a vote or an epoch must be on disk before anyone hears of it.
 */

/**
 * Who a node is in the election: following (a master or nobody), asking whether it could win
 * (pre-vote, nothing changed yet), running in an epoch it voted itself in, or master of it.
 */
export type ElectionRole = 'follower' | 'pre-candidate' | 'candidate' | 'master';

/** The answer to a VoteRequest, as the candidate receives it. */
export interface VoteAnswer {
  /**
   * The voter's epoch; for a granted pre-vote, the epoch asked for (the voter's stays lower), so
   * that only a refusal can carry an epoch that makes the candidate step down.
   */
  readonly epoch: number;
  readonly granted: boolean;
  readonly preVote: boolean;
}

/** Why the role, the epoch or the known master changed (for the log line). */
export type RoleChangeReason =
  | 'election-timeout'
  | 'pre-vote-won'
  | 'vote-won'
  | 'higher-epoch'
  | 'master-contact'
  | 'lost-quorum'
  | 'bootstrap';

export type ElectionAction =
  /** Store this state durably (tmp + fsync + rename) before executing the actions after it. */
  | { readonly kind: 'persist'; readonly state: ElectionState }
  /** Send this request to one peer (one action per peer). */
  | { readonly kind: 'request-vote'; readonly to: string; readonly request: VoteRequest }
  /** Answer a vote request; `verdict` is for the log line (the wire needs `answer` only). */
  | {
      readonly kind: 'answer-vote';
      readonly to: string;
      readonly answer: VoteAnswer;
      readonly verdict: VoteVerdict;
    }
  /** Answer a master of an older epoch with ours: it is not the master any more. */
  | { readonly kind: 'refuse-stale'; readonly to: string; readonly epoch: number }
  /**
   * The role, the epoch or the known master changed: switch the node's role object (a master
   * stops accepting appends at once when `from` is 'master'), update /health, write one log line.
   */
  | {
      readonly kind: 'role-changed';
      readonly from: ElectionRole;
      readonly to: ElectionRole;
      readonly epoch: number;
      readonly master: string | null;
      readonly reason: RoleChangeReason;
    };

/** What an Election is built from. */
export interface ElectionConfig {
  /** This node's name, one of `peers`. */
  readonly self: string;
  /** Every node of the cluster, this one included (PEERS): majorities are counted over it. */
  readonly peers: readonly string[];
  /** ELECTION_TIMEOUT_MS: the randomized deadline is 1x-2x this; check-quorum waits 1x. */
  readonly electionTimeoutMs: number;
  /** A draw in [0, 1): the seeded PRNG in the simulator, Math.random in production. */
  readonly random: () => number;
  /** The stored election state (FRESH_ELECTION_STATE on a first start). */
  readonly initial: ElectionState;
  /** The last id of this node's log, read when a request is built or decided. */
  readonly lastId: () => number;
  /** The time of construction; the first election deadline counts from it. */
  readonly nowMs: number;
}
