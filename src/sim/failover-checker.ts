import type { ElectionState } from '../core/election-state.js';
import { majorityOf } from '../core/quorum.js';
import { guaranteeLabel } from './sim-violation.js';

/** What the checker reads of one failover process. */
export interface FailoverView {
  readonly name: string;
  readonly up: boolean;
  /** What GET /logs shows now: ids 1..n (empty while down). */
  shownLength(): number;
  shownEntry(index: number): { readonly id: number; readonly message: string } | undefined;
  shownLog(): readonly { readonly id: number; readonly message: string }[];
  /** The message this node's disk durably holds at `id`, if any. */
  durableMessage(id: number): string | undefined;
}

export type Fail = (guarantee: string, details: string) => never;

/**
 * The failover contract, checked against the real nodes as the simulation runs:
 * - F2: at most one node is master in any epoch (checked at every role change).
 * - Guarantee 3 and F4: an entry any node has shown never changes or disappears: every node
 *   shows a prefix of one log (`#shown`), checked at the frontier after every step and whole at
 *   each observation; F5: shown ids are dense.
 * - F1: an append acknowledged with a majority write concern is that log's entry at its id, and
 *   a majority of nodes durably hold every shown entry (what makes it survive any failover).
 * - G1 as each append is answered: the master holds it, `acks` nodes hold it, and other nodes'
 *   copies are counted only under the master's lease (no newer master elected yet); and after
 *   every step, no running master believes it holds its lease once a newer master was elected.
 */
export class FailoverChecker {
  /** The one log every node shows a prefix of: message by id - 1. */
  readonly #shown: string[] = [];
  /** Each node's vote in each epoch, by `node@epoch`. */
  readonly #votes = new Map<string, string>();
  /** The master of each epoch, as the nodes announced it. */
  readonly #masters = new Map<number, string>();
  /** The highest epoch any node was elected master of. */
  #newestEpoch = 0;
  /** Majority-acknowledged entries: message by id. */
  readonly #majorityAcked = new Map<number, string>();
  readonly #majority: number;

  constructor(
    private readonly clusterSize: number,
    private readonly fail: Fail,
  ) {
    this.#majority = majorityOf(clusterSize);
  }

  get shownLength(): number {
    return this.#shown.length;
  }

  get majorityAckedCount(): number {
    return this.#majorityAcked.size;
  }

  /**
   * F2's foundation: `node` granted its vote in `epoch` to `candidate` - never to two candidates
   * in one epoch, whatever crashes happen between, for the vote is durable before it is sent:
   * `durable`, what the node's disk holds for sure as the answer leaves, already records it.
   */
  voted(node: string, epoch: number, candidate: string, durable?: ElectionState): void {
    if (
      durable !== undefined &&
      durable.epoch <= epoch &&
      !(durable.epoch === epoch && durable.votedFor === candidate)
    ) {
      this.fail(
        'F2 one vote per epoch',
        `${node} sent its vote for ${candidate} in epoch ${epoch} before it was durable (its disk holds epoch ${durable.epoch}, vote ${durable.votedFor ?? 'none'})`,
      );
    }
    const key = `${node}@${epoch}`;
    const known = this.#votes.get(key);
    if (known !== undefined && known !== candidate) {
      this.fail(
        'F2 one vote per epoch',
        `${node} voted for ${candidate} in epoch ${epoch}, after voting for ${known} in it`,
      );
    }
    this.#votes.set(key, candidate);
  }

  /** F2: `node` became master of `epoch`. */
  masterElected(node: string, epoch: number): void {
    const known = this.#masters.get(epoch);
    if (known !== undefined && known !== node) {
      this.fail(
        'F2 one master per epoch',
        `${node} and ${known} are both master of epoch ${epoch}`,
      );
    }
    this.#masters.set(epoch, node);
    this.#newestEpoch = Math.max(this.#newestEpoch, epoch);
  }

  get epochs(): number {
    return this.#masters.size;
  }

  /** G1 as `node` answers an append up to `lastId` with `acks`: it holds it, and so do `acks` nodes. */
  answered(
    node: string,
    lastId: number,
    acks: number,
    holders: number,
    masterDurableId: number | undefined,
  ): void {
    if (masterDurableId === undefined || masterDurableId < lastId) {
      this.fail(
        guaranteeLabel(1),
        `${node} answered an append up to id ${lastId} holding only 1..${masterDurableId ?? 0} durably (the master is one of the w nodes)`,
      );
    }
    if (acks > holders) {
      this.fail(
        guaranteeLabel(1),
        `${node} answered an append up to id ${lastId} with ${acks} acks, but ${holders} nodes hold it durably`,
      );
    }
    this.#checkLease(node, lastId, acks);
  }

  /**
   * The lease behind G1 (FAILOVER.md): a master counts other nodes' copies only while no newer
   * master can have been elected, since a newer one may make them drop what they said they held.
   * Stricter than the holder count above, which only fails once a copy is actually gone.
   */
  #checkLease(node: string, lastId: number, acks: number): void {
    if (acks < 2) return;
    const ownEpoch = this.#newestEpochOf(node);
    if (this.#newestEpoch > ownEpoch) {
      this.fail(
        guaranteeLabel(1),
        `${node}, master of epoch ${ownEpoch}, answered an append up to id ${lastId} with ${acks} acks after ${this.#masters.get(this.#newestEpoch) ?? '?'} was elected master of epoch ${this.#newestEpoch}: its lease outlived its majority`,
      );
    }
  }

  /**
   * The lease itself, at every step, whether or not an append uses it: `node`, master of `epoch`,
   * believes it holds its lease until `leaseEndsAtMs`, so no newer master may exist at `nowMs`
   * while that is later. Each node of the lease's majority refuses votes for a timeout after it
   * received the request the lease runs from, and any newer election needs one of them.
   */
  checkLeaseHeld(node: string, epoch: number, leaseEndsAtMs: number, nowMs: number): void {
    if (leaseEndsAtMs <= nowMs || this.#newestEpoch <= epoch) return;
    this.fail(
      guaranteeLabel(1),
      `${node}, master of epoch ${epoch}, holds its lease until ${leaseEndsAtMs} ms at ${nowMs} ms, but ${this.#masters.get(this.#newestEpoch) ?? '?'} was elected master of epoch ${this.#newestEpoch}: the lease outlives the promises of its majority`,
    );
  }

  #newestEpochOf(node: string): number {
    let ownEpoch = 0;
    for (const [epoch, master] of this.#masters) {
      if (master === node) ownEpoch = Math.max(ownEpoch, epoch);
    }
    return ownEpoch;
  }

  /** A client got a success answer for `ids`, with `w` nodes holding them. */
  acknowledged(ids: readonly number[], messages: readonly string[], w: number): void {
    if (w < this.#majority) return;
    ids.forEach((id, index) => {
      const message = messages[index] ?? '';
      const known = this.#majorityAcked.get(id);
      if (known !== undefined && known !== message) {
        this.fail(
          guaranteeLabel(1),
          `id ${id} acknowledged (w=${w}) for ${message}, and before for ${known}`,
        );
      }
      this.#majorityAcked.set(id, message);
      this.#agree(id, message, `acknowledged with w=${w}`);
    });
  }

  /**
   * After every step: each node's last shown entry is the log's entry at its id, and a majority
   * of nodes hold it durably.
   */
  checkFrontier(views: readonly FailoverView[]): void {
    for (const view of views) {
      if (!view.up) continue;
      const length = view.shownLength();
      if (length === 0) continue;
      const entry = view.shownEntry(length - 1);
      if (entry?.id !== length) {
        this.fail(
          'F5 dense ids',
          `${view.name} shows ${length} entries, the last has id ${entry?.id}`,
        );
      }
      this.#show(view.name, length, entry.message);
      this.#heldByMajority(views, length, entry.message);
    }
  }

  /** Shown means committed: a majority of nodes hold the entry durably (F1's foundation). */
  #heldByMajority(views: readonly FailoverView[], id: number, message: string): void {
    const holders = views.filter((view) => view.durableMessage(id) === message).length;
    if (holders < this.#majority) {
      this.fail(
        'F1 majority writes survive',
        `entry ${id} (${message}) is shown, but only ${holders} of ${this.clusterSize} nodes hold it durably`,
      );
    }
  }

  /** Now and then: every node's whole shown log, and majorities holding every shown entry. */
  checkWhole(views: readonly FailoverView[]): void {
    for (const view of views) {
      if (!view.up) continue;
      const log = view.shownLog();
      log.forEach((entry, index) => {
        if (entry.id !== index + 1) {
          this.fail('F5 dense ids', `${view.name} shows id ${entry.id} at position ${index + 1}`);
        }
        this.#show(view.name, entry.id, entry.message);
      });
    }
    this.#shown.forEach((message, index) => {
      this.#heldByMajority(views, index + 1, message);
    });
    for (const [id, message] of this.#majorityAcked) {
      if (id > this.#shown.length) continue;
      this.#agree(id, message, 'acknowledged by a majority');
    }
  }

  /** After healing: every majority-acknowledged entry is shown, at its id, by every node. */
  checkFinal(views: readonly FailoverView[]): void {
    for (const [id, message] of this.#majorityAcked) {
      for (const view of views) {
        const entry = view.shownEntry(id - 1);
        if (entry?.message !== message) {
          this.fail(
            'F1 majority writes survive',
            `${view.name} shows ${entry?.message ?? 'nothing'} at id ${id}, acknowledged by a majority for ${message}`,
          );
        }
      }
    }
  }

  #show(node: string, id: number, message: string): void {
    const known = this.#shown[id - 1];
    if (known === undefined) {
      if (id > this.#shown.length + 1) {
        // A node shows further than anyone checked yet: its earlier entries come in checkWhole.
        return;
      }
      this.#shown.push(message);
      return;
    }
    if (known !== message) {
      this.fail(
        'G3/F4 shown entries never change',
        `${node} shows ${message} at id ${id}, where ${known} was shown before`,
      );
    }
  }

  #agree(id: number, message: string, why: string): void {
    const shown = this.#shown[id - 1];
    if (shown !== undefined && shown !== message) {
      this.fail(guaranteeLabel(1), `entry ${id} ${why} is ${message}, but ${shown} is shown there`);
    }
  }
}
