/**
 * Tables of election states and transitions, shared by the core's tests of checkTransition and
 * by the ElectionStateStore conformance suite (which runs them through `save`).
 */
import { MAX_EPOCH, type ElectionState } from './election-state.js';

export type TransitionCase = readonly [name: string, before: ElectionState, after: ElectionState];

function state(epoch: number, votedFor: string | null, acceptedEpoch: number): ElectionState {
  return { epoch, votedFor, acceptedEpoch };
}

/** States that break an invariant on their own, whatever came before. */
export const INVALID_STATES: readonly (readonly [name: string, state: ElectionState])[] = [
  ['a negative epoch', state(-1, null, 0)],
  ['a fractional epoch', state(1.5, null, 0)],
  ['a NaN epoch', state(Number.NaN, null, 0)],
  ['an infinite epoch', state(Number.POSITIVE_INFINITY, null, 0)],
  ['an epoch above 2^32 - 1', state(MAX_EPOCH + 1, null, 0)],
  ['a negative acceptedEpoch', state(3, null, -1)],
  ['a fractional acceptedEpoch', state(3, null, 1.5)],
  ['acceptedEpoch above epoch', state(3, null, 4)],
  ['an empty votedFor', state(3, '', 2)],
  ['a votedFor that is not a string', state(3, 42 as unknown as string, 2)],
  ['a missing epoch', { votedFor: null, acceptedEpoch: 0 } as unknown as ElectionState],
];

/** Valid states that may not replace the one before them. */
export const REFUSED_TRANSITIONS: readonly TransitionCase[] = [
  ['lowers epoch', state(5, null, 2), state(4, null, 2)],
  ['lowers epoch even without a vote', state(5, 'a', 2), state(0, null, 0)],
  ['lowers acceptedEpoch', state(5, null, 3), state(5, null, 2)],
  ['lowers acceptedEpoch in a new epoch', state(5, 'a', 3), state(6, 'b', 2)],
  ['votes for another node in the same epoch', state(5, 'a', 2), state(5, 'b', 2)],
  ['forgets the vote of the same epoch', state(5, 'a', 2), state(5, null, 2)],
  ['changes the vote while raising acceptedEpoch', state(5, 'a', 2), state(5, 'b', 5)],
];

/** Transitions a node makes: all allowed. */
export const ALLOWED_TRANSITIONS: readonly TransitionCase[] = [
  ['the same state again', state(5, 'a', 2), state(5, 'a', 2)],
  ['the first vote of an epoch', state(5, null, 2), state(5, 'a', 2)],
  ['a higher epoch, no vote yet', state(5, 'a', 2), state(6, null, 2)],
  ['a vote in a higher epoch, for another node', state(5, 'a', 2), state(7, 'b', 2)],
  ['accepting the master of the current epoch', state(5, 'a', 2), state(5, 'a', 5)],
  ['a higher epoch and its master at once', state(5, null, 2), state(9, null, 9)],
  ['from fresh to the largest epoch', state(0, null, 0), state(MAX_EPOCH, 'a', MAX_EPOCH)],
];
