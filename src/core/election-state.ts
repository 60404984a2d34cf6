import { assert } from './assert.js';

/**
 * What a failover node must not forget across a crash (Raft's persistent state, with Viewstamped
 * Replication's accepted epoch for the vote's log check):
 * - `epoch`: the highest epoch this node has seen;
 * - `votedFor`: the node it voted for in `epoch`, or null if it has not voted in it;
 * - `acceptedEpoch`: the epoch of the last master whose log this node accepted (its log is a
 *   prefix of that master's log); votes compare `(acceptedEpoch, lastId)`.
 *
 * A node that forgets its vote could vote twice in one epoch and elect two masters in it.
 */
export interface ElectionState {
  readonly epoch: number;
  readonly votedFor: string | null;
  readonly acceptedEpoch: number;
}

/** What a node that never stored any election state starts from. */
export const FRESH_ELECTION_STATE: ElectionState = { epoch: 0, votedFor: null, acceptedEpoch: 0 };

/** Entries carry their epoch in 32 bits (the record codec, the memory store's index). */
export const MAX_EPOCH = 0xffff_ffff;

/** Asserts the invariants of one state; `where` names it in the message (a file, a save). */
export function checkElectionState(state: ElectionState, where: string): void {
  const { epoch, votedFor, acceptedEpoch } = state;
  assert(
    Number.isInteger(epoch) && epoch >= 0 && epoch <= MAX_EPOCH,
    `${where}: epoch must be an integer in 0..${MAX_EPOCH}, got ${epoch}`,
  );
  assert(
    Number.isInteger(acceptedEpoch) && acceptedEpoch >= 0 && acceptedEpoch <= epoch,
    `${where}: acceptedEpoch must be an integer in 0..epoch (${epoch}), got ${acceptedEpoch}`,
  );
  assert(
    votedFor === null || (typeof votedFor === 'string' && votedFor.length > 0),
    `${where}: votedFor must be a node name or null, got ${JSON.stringify(votedFor)}`,
  );
}

/**
 * Asserts that `after` may replace `before` on disk: both valid, neither epoch goes down, and a
 * vote cast in an epoch stays as it is for that epoch (a second, different vote - or forgetting
 * the first - would let the node vote twice in it).
 */
export function checkTransition(before: ElectionState, after: ElectionState): void {
  checkElectionState(before, 'the stored election state');
  checkElectionState(after, 'the election state to save');
  assert(
    after.epoch >= before.epoch,
    `the election state to save lowers epoch from ${before.epoch} to ${after.epoch}`,
  );
  assert(
    after.acceptedEpoch >= before.acceptedEpoch,
    `the election state to save lowers acceptedEpoch from ${before.acceptedEpoch} to ${after.acceptedEpoch}`,
  );
  assert(
    after.epoch !== before.epoch || before.votedFor === null || after.votedFor === before.votedFor,
    `the election state to save changes the vote of epoch ${before.epoch} from ${JSON.stringify(before.votedFor)} to ${JSON.stringify(after.votedFor)}: one vote per epoch`,
  );
}

/**
 * What a store does first in `save(next)`: checks `next` against `last` (the state it loaded or
 * was last asked to save; undefined before `load()`) and returns the copy it will write, so that
 * a caller changing its object afterwards changes nothing stored.
 */
export function checkedSave(
  last: ElectionState | undefined,
  next: ElectionState,
  store: string,
): ElectionState {
  assert(last !== undefined, `${store}: save() before load(); load the stored state first`);
  checkTransition(last, next);
  return { epoch: next.epoch, votedFor: next.votedFor, acceptedEpoch: next.acceptedEpoch };
}
