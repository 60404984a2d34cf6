import type { Entry } from '../core/entry.js';
import type { QuorumView } from '../core/quorum.js';
import type { WriteConcern } from '../core/write-concern.js';
import type { StorageRefusal } from './storage-refusal.js';

/** An append as the master takes it, checked at the boundary already. */
export interface AppendRequest {
  readonly messages: readonly string[];
  /** UTF-8 size of each message, as measured when it was checked at the boundary. */
  readonly messageBytes: readonly number[];
  readonly w: WriteConcern | undefined;
  readonly timeoutMs: number | undefined;
  readonly idempotencyKey: string | undefined;
}

/** A queue is full: `appends` stored or waiting on the master, `replication` requests held on a secondary. */
export interface OverloadedRefusal {
  readonly reason: 'overloaded';
  readonly queue: 'appends' | 'replication';
  readonly inProgress: number;
  readonly limit: number;
}

/**
 * Why the master refused an append. Nothing of a refused append is stored, and each refusal
 * carries the figures its message needs; the HTTP layer turns it into a status and a body.
 */
export type AppendRefusal =
  | {
      readonly reason: 'invalid-write-concern';
      readonly w: WriteConcern | undefined;
      readonly clusterSize: number;
    }
  | { readonly reason: 'read-only'; readonly quorum: QuorumView; readonly retryAfterS: number }
  | OverloadedRefusal
  /** A write just failed and the ids it reserved are being released. */
  | { readonly reason: 'storage-unavailable' }
  /**
   * With failover: this node is not the master. `master`: the URL clients reach the master at
   * (ADVERTISED_URL), null while none is known (an election); then retry after `retryAfterS`.
   */
  | { readonly reason: 'not-master'; readonly master: string | null; readonly retryAfterS: number }
  | StorageRefusal;

/**
 * `created`: stored and held by w nodes. `replayed`: the idempotency key was known, the same
 * entries answer again. `timed-out`: stored, but fewer than w nodes held it when timeoutMs passed.
 */
export type AppendedOutcome = 'created' | 'replayed' | 'timed-out';

export type AppendResult =
  | {
      readonly kind: 'appended';
      readonly outcome: AppendedOutcome;
      readonly entries: readonly Entry[];
      readonly w: number;
      readonly acks: number;
    }
  | { readonly kind: 'refused'; readonly refusal: AppendRefusal };

export type Appended = Extract<AppendResult, { kind: 'appended' }>;

/** The metrics' label for how an append ended (stable: dashboards and alerts use them). */
export function appendOutcomeLabel(result: AppendResult): string {
  if (result.kind === 'appended')
    return result.outcome === 'timed-out' ? 'timeout' : result.outcome;
  const reason = result.refusal.reason;
  return reason === 'invalid-write-concern' ? 'invalid_request' : reason.replaceAll('-', '_');
}
