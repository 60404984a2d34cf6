import { assert } from './assert.js';

/**
 * Where a log stops holding entries of epochs up to `epoch`: the last id whose entry's epoch is
 * `<= epoch`, and that entry's epoch (0 and 0 when there is none). Entry epochs never go down
 * along a log, so this is a binary search over `1..lastId` with `epochAt(id)`. The master answers
 * a follower's question with it (KIP-101's OffsetsForLeaderEpoch, with KIP-279's answer: the
 * epoch found, which may be lower than the one asked for), and the follower finds its own end of
 * that epoch with it.
 */
export function epochEnd(
  epoch: number,
  lastId: number,
  epochAt: (id: number) => number,
): { readonly epoch: number; readonly endId: number } {
  assert(Number.isSafeInteger(lastId) && lastId >= 0, `lastId must be >= 0, got ${lastId}`);
  let low = 0;
  let high = lastId;
  // Invariant: entry `low` (or none, at 0) has an epoch <= epoch; every id above `high` has more.
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (epochAt(middle) <= epoch) low = middle;
    else high = middle - 1;
  }
  return { epoch: low === 0 ? 0 : epochAt(low), endId: low };
}

/**
 * Where a follower whose log ends at `ownLastId` must cut it, given the master's answer
 * `(masterEpoch, masterEndId)` to "where do your entries of epochs <= my last entry's epoch end":
 * at the master's end, or at the follower's own end of `masterEpoch` if that comes first. The
 * follower repeats the question until the cut is its own end: its last entry then has an epoch
 * the master holds up to at least that id, and two logs that hold the same epoch at the same id
 * are the same up to there (one master per epoch, each appending to a prefix of its own log).
 */
export function truncationPoint(
  ownLastId: number,
  masterAnswer: { readonly epoch: number; readonly endId: number },
  ownEpochAt: (id: number) => number,
): number {
  const ownEnd = epochEnd(masterAnswer.epoch, ownLastId, ownEpochAt).endId;
  return Math.min(ownLastId, masterAnswer.endId, ownEnd);
}
