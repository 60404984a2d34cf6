import type { Entry } from '../core/entry.js';
import { guaranteeLabel, type GuaranteeNumber } from './sim-violation.js';

/** What the checker may look at on one node. */
export interface NodeView {
  readonly name: string;
  readonly up: boolean;
  shownLength(): number;
  shownEntry(index: number): Entry | undefined;
  /** The whole log shown (entries 1..shownLength). */
  shownLog(): readonly Entry[];
}

/** One client operation as the checker tracks it. */
export interface CheckedOperation {
  readonly messages: readonly string[];
  readonly idempotencyKey: string | undefined;
  /** Highest id acknowledged to any client when this operation was first sent. */
  readonly ackedBeforeInvokeId: number;
  /** Every attempt so far was refused explicitly: nothing of it may ever be stored. */
  refusedOnly: boolean;
  /** Final outcome known and it is a refusal. */
  finallyRefused: boolean;
}

interface NodeTrack {
  /** Positions of the shown log verified so far (they never change once shown). */
  checkedLength: number;
  /** A restart with volatile storage: the next read may be shorter. */
  mayShrink: boolean;
}

export type Fail = (guarantee: string, details: string) => never;

/**
 * Safety guarantees 1–10, checked directly on the simulated state: after every step on what each
 * node shows, and at the moment the master answers or a client sees an outcome. Shown entries
 * never change, so each position is verified once (again only after a restart); a step costs
 * O(nodes) plus the entries that appeared.
 */
export class SafetyChecker {
  /** id -> message of the first node that showed it: every other showing must agree. */
  readonly #messageAt = new Map<number, string>();
  /** message -> id: a message shown at two ids is a duplicate. */
  readonly #idOf = new Map<string, number>();
  readonly #operationOf = new Map<string, CheckedOperation>();
  readonly #keyIds = new Map<string, string>();
  readonly #tracks = new Map<string, NodeTrack>();
  /** Highest id the master answered as stored (ok or 504): it must stay durable on the master. */
  #answeredLastId = 0;
  /** Highest id a client received an ok for (order respects time). */
  #clientAckedId = 0;
  checks = 0;

  /**
   * `survivingW`: the least write concern whose acknowledgement no failure can undo (1 with the
   * fixed master; a majority with failover, where a minority write may be rolled back in the open,
   * F3). Only those acknowledgements order later appends (G7).
   */
  constructor(
    private readonly fail: Fail,
    private readonly survivingW = 1,
  ) {}

  get clientAckedId(): number {
    return this.#clientAckedId;
  }

  get answeredLastId(): number {
    return this.#answeredLastId;
  }

  register(operation: CheckedOperation): void {
    for (const message of operation.messages) this.#operationOf.set(message, operation);
  }

  /** A node restarted; `volatile` when its storage did not keep everything it showed. */
  restarted(node: string, volatile: boolean): void {
    const track = this.#track(node);
    track.checkedLength = 0;
    track.mayShrink = volatile || track.mayShrink;
  }

  /** G3, G4, G5, G6, G8 on every node that is up, and G2 on the master's durable log. */
  checkStep(nodes: readonly NodeView[], masterDurableLastId: number | undefined): void {
    this.checks += 1;
    for (const node of nodes) if (node.up) this.#checkLog(node);
    if (masterDurableLastId !== undefined && masterDurableLastId < this.#answeredLastId) {
      this.#fail(
        2,
        `the master answered entries up to id ${this.#answeredLastId} as stored, but only 1..${masterDurableLastId} are durable on it`,
      );
    }
  }

  #checkLog(node: NodeView): void {
    const track = this.#track(node.name);
    const length = node.shownLength();
    if (length < track.checkedLength) {
      if (!track.mayShrink) {
        this.#fail(
          8,
          `${node.name} showed ${track.checkedLength} entries, now ${length} (durable storage, no volatile restart)`,
        );
      }
      track.checkedLength = 0;
    }
    track.mayShrink = false;
    for (let index = track.checkedLength; index < length; index++) {
      const entry = node.shownEntry(index);
      const id = index + 1;
      if (entry?.id !== id) {
        this.#fail(4, `${node.name} shows ${JSON.stringify(entry)} at position ${id}: a gap`);
      }
      const agreed = this.#messageAt.get(id);
      if (agreed === undefined) {
        this.#firstShown(node.name, entry);
      } else if (agreed !== entry.message) {
        this.#fail(
          3,
          `${node.name} shows "${entry.message}" at id ${id}, shown as "${agreed}" before`,
        );
      }
    }
    track.checkedLength = length;
  }

  #firstShown(node: string, entry: Entry): void {
    this.#messageAt.set(entry.id, entry.message);
    const otherId = this.#idOf.get(entry.message);
    if (otherId !== undefined) {
      this.#fail(
        5,
        `${node} shows "${entry.message}" at id ${entry.id}; it is also at id ${otherId}`,
      );
    }
    this.#idOf.set(entry.message, entry.id);
    const operation = this.#operationOf.get(entry.message);
    if (operation === undefined) {
      this.#fail(6, `${node} shows "${entry.message}" at id ${entry.id}, which no client sent`);
    }
    if (operation.finallyRefused) {
      this.#fail(
        6,
        `${node} shows "${entry.message}" at id ${entry.id}, but its append was refused`,
      );
    }
  }

  /** G10: ids are assigned only while the master's own view has a quorum. */
  accepted(readOnly: boolean): void {
    if (readOnly) this.#fail(10, 'the master accepted an append while read-only by its own view');
  }

  /** G1 and G9 at the moment the master answers a waiting append. */
  answered(lastId: number, w: number, acks: number, expired: boolean, holders: number): void {
    if (!expired && acks < w)
      this.#fail(9, `id ${lastId} released for w=${w} with only ${acks} acks`);
    if (acks > holders) {
      this.#fail(
        1,
        `id ${lastId} answered with ${acks} acks (w=${w}${expired ? ', expired' : ''}) but only ${holders} nodes hold it`,
      );
    }
    this.#answeredLastId = Math.max(this.#answeredLastId, lastId);
  }

  /** G2 (the ids are the master's), G5 (a key maps to one id), G7 and G9, as a client sees it. */
  clientStored(
    operation: CheckedOperation,
    ids: readonly number[],
    w: number,
    acks: number,
    acknowledged: boolean,
  ): void {
    if (ids.length !== operation.messages.length)
      this.#fail(5, `${operation.messages[0]} answered with ${ids.length} ids`);
    // With failover, what was answered below a surviving w may be rolled back in the open (F3):
    // its ids promise nothing, but its acknowledgement must still be honest (G9).
    const survives = this.survivingW === 1 || (acknowledged && w >= this.survivingW);
    if (survives) this.#checkIds(operation, ids);
    if (acknowledged) {
      if (acks < w)
        this.#fail(9, `${operation.messages[0]} acknowledged with ${acks} acks < w=${w}`);
      if (w >= this.survivingW)
        this.#clientAckedId = Math.max(this.#clientAckedId, ids[ids.length - 1] ?? 0);
    }
  }

  /** G3 (the answer agrees with what is shown), G5 (a key maps to one id), G7 (time order). */
  #checkIds(operation: CheckedOperation, ids: readonly number[]): void {
    for (const [index, id] of ids.entries()) {
      const shown = this.#messageAt.get(id);
      if (shown !== undefined && shown !== operation.messages[index])
        this.#fail(
          3,
          `answer puts "${operation.messages[index]}" at id ${id}, shown as "${shown}"`,
        );
    }
    const key = operation.idempotencyKey;
    if (key !== undefined) {
      const known = this.#keyIds.get(key);
      const got = ids.join(',');
      if (known !== undefined && known !== got)
        this.#fail(5, `key ${key} answered with ids ${got}, before with ${known}`);
      this.#keyIds.set(key, got);
    }
    const firstId = ids[0] ?? 0;
    if (firstId <= operation.ackedBeforeInvokeId) {
      this.#fail(
        7,
        `${operation.messages[0]} got id ${firstId}, but id ${operation.ackedBeforeInvokeId} was acknowledged before it was sent`,
      );
    }
  }

  /** G6: a refused append leaves no trace. */
  clientRefused(operation: CheckedOperation): void {
    if (!operation.refusedOnly) return;
    for (const message of operation.messages) {
      const id = this.#idOf.get(message);
      if (id !== undefined) this.#fail(6, `"${message}" was refused but is shown at id ${id}`);
    }
  }

  #track(node: string): NodeTrack {
    let track = this.#tracks.get(node);
    if (track === undefined) {
      track = { checkedLength: 0, mayShrink: false };
      this.#tracks.set(node, track);
    }
    return track;
  }

  #fail(number: GuaranteeNumber, details: string): never {
    return this.fail(guaranteeLabel(number), details);
  }
}
