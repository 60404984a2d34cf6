import type { PeerTransport } from '../../adapters/replication-transport.js';
import { assert } from '../../core/assert.js';
import { epochEnd, truncationPoint } from '../../core/epoch-end.js';
import type { PeerConfig } from '../../core/master-core.js';
import type { SharedStore } from '../shared-store.js';
import type { Rollback } from './rollbacks.js';

/** The most questions one comparison asks: each lowers the epoch compared, so few are needed. */
const MAX_SYNC_ROUNDS = 64;

export interface SyncRequest {
  readonly master: PeerConfig;
  readonly logId: string;
  readonly epoch: number;
  /** This node's commit point: no truncation may go below it (F1). */
  readonly commitId: number;
  readonly timeoutMs: number;
  /** False once the node moved on (another epoch or master): the comparison stops. */
  readonly current: () => boolean;
  /** Wall-clock time, for the rollback's `atMs`. */
  readonly nowMs: () => number;
  /**
   * Told of each truncation before it happens, and awaited: the report (log line, metric, the
   * rollbacks file) is durable first, so that a crash during the truncation loses nothing
   * silently (F3). A crash after the report and before the cut reports the same entries again.
   */
  readonly report: (rollback: Rollback) => Promise<void>;
}

export type SyncResult =
  { readonly kind: 'synced' } | { readonly kind: 'failed'; readonly reason: string };

/**
 * Makes this node's log a prefix of the master's (KIP-101): asks the master where its entries of
 * epochs up to this log's last epoch end, cuts this log there (never below the commit point: a
 * committed entry is in every later master's log, so a cut below it is a broken invariant), and
 * asks again until nothing is cut. Returns what was cut, for F3's report.
 */
export async function syncWithMaster(
  store: SharedStore,
  transport: PeerTransport,
  request: SyncRequest,
): Promise<SyncResult> {
  const held = store.identity?.logId;
  if (store.lastId() > 0 && held !== undefined && held !== request.logId) {
    return {
      kind: 'failed',
      reason: `this node holds entries of log ${held}, the master of epoch ${request.epoch} leads log ${request.logId}; start it with an empty DATA_DIR to join`,
    };
  }
  for (let round = 0; round < MAX_SYNC_ROUNDS; round++) {
    const lastId = store.lastId();
    if (lastId === 0) return { kind: 'synced' };
    const lastEpoch = epochAt(store, lastId);
    const body = { logId: request.logId, epoch: request.epoch, lastEpoch };
    const answer = await transport.epochEnd(request.master, body, request.timeoutMs);
    if (!answer.ok) return { kind: 'failed', reason: answer.error };
    if (!request.current()) return { kind: 'failed', reason: 'the node moved on' };
    assert(
      answer.body.epoch <= lastEpoch,
      `asked for the end of epoch ${lastEpoch}, the master answered epoch ${answer.body.epoch}`,
    );
    const cut = truncationPoint(lastId, answer.body, (id) => epochAt(store, id));
    if (cut === lastId) return { kind: 'synced' };
    await truncate(store, cut, request);
  }
  return { kind: 'failed', reason: `no common prefix after ${MAX_SYNC_ROUNDS} rounds` };
}

/** Reports the entries after `cut`, then removes them (never below the commit point). */
async function truncate(store: SharedStore, cut: number, request: SyncRequest): Promise<void> {
  assert(
    cut >= request.commitId,
    `truncating after ${cut}, below the commit point ${request.commitId}: a committed entry would be lost (F1)`,
  );
  const lastId = store.lastId();
  const fromId = cut + 1;
  const entries = store.read(fromId, lastId - cut);
  assert(entries.length === lastId - cut, `entries ${fromId}..${lastId} are in the store`);
  await request.report({
    atMs: request.nowMs(),
    epoch: request.epoch,
    master: request.master.name,
    fromId,
    toId: lastId,
    entries,
    keys: store.keysStartingIn(fromId, lastId),
  });
  const removed = await store.truncateAfter(cut);
  assert(
    removed.length === entries.length && store.lastId() === cut,
    `truncating after ${cut} removed ${removed.length} entries, ${entries.length} were reported; the log ends at ${store.lastId()}`,
  );
}

/** The epoch of entry `id`, which the store holds. */
export function epochAt(store: SharedStore, id: number): number {
  const entry = store.get(id);
  assert(entry !== undefined, `entry ${id} of ${store.lastId()} is missing from the store`);
  return entry.epoch;
}

/**
 * The master's answer to a follower's question: KIP-279's (epoch, end) from its own log. The
 * master's log ends at `written.lastId`: entries past the store's end are written, not durable
 * yet (the master replicates them in parallel with its fsync), all of its own epoch. A follower
 * may hold them already, and must not cut them.
 */
export function masterEpochEnd(
  store: SharedStore,
  lastEpoch: number,
  written: { readonly epoch: number; readonly lastId: number },
): { readonly epoch: number; readonly endId: number } {
  if (written.lastId > store.lastId() && lastEpoch >= written.epoch) {
    return { epoch: written.epoch, endId: written.lastId };
  }
  return epochEnd(lastEpoch, store.lastId(), (id) => epochAt(store, id));
}
