import { assert } from './assert.js';
import { majorityOf } from './quorum.js';
import { heldUpToByW } from './write-concern.js';

/**
 * The commit point of a failover master (issue 14): the highest id that a majority of the nodes
 * hold as part of this master's log. Only acknowledgements made in the master's own epoch count:
 * a node that acknowledged id n in this epoch holds this master's entries 1..n (it accepted the
 * master's log, truncating whatever differed), while a count of copies made in older epochs
 * proves nothing (Raft's Figure 8). With the vote rule of vote.ts, every entry up to the commit
 * point - of this epoch or older - is then in the log of every future master.
 */

/** What the master knows of one node: the id it acknowledged, and in which of its epochs. */
export interface Acknowledgement {
  readonly epoch: number;
  readonly ackedId: number;
}

/**
 * The commit point of the master of `epoch`, whose own log ends at `ownLastId`, in a cluster of
 * `clusterSize` nodes, from the other nodes' latest acknowledgements. It never goes down:
 * `previousCommitId` (what it already told others) is a floor.
 */
export function commitIdOf(
  epoch: number,
  ownLastId: number,
  acknowledgements: readonly Acknowledgement[],
  clusterSize: number,
  previousCommitId: number,
): number {
  assert(
    acknowledgements.length === clusterSize - 1,
    `one acknowledgement per other node: ${acknowledgements.length} for a cluster of ${clusterSize}`,
  );
  assert(
    previousCommitId <= ownLastId,
    `commit point ${previousCommitId} beyond the master's last id ${ownLastId}`,
  );
  for (const ack of acknowledgements) {
    assert(
      ack.epoch <= epoch,
      `an acknowledgement of epoch ${ack.epoch} for the master of ${epoch}`,
    );
    assert(
      ack.epoch < epoch || ack.ackedId <= ownLastId,
      `id ${ack.ackedId} acknowledged in epoch ${epoch}, beyond the master's last id ${ownLastId}`,
    );
  }
  const held = acknowledgements.filter((ack) => ack.epoch === epoch).map((ack) => ack.ackedId);
  held.push(ownLastId);
  const majorityHeld = heldUpToByW(held)[majorityOf(clusterSize) - 1] ?? 0;
  return Math.max(previousCommitId, majorityHeld);
}
