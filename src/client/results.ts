/** What the client's calls return, and the options they take. */
import type { RetryPolicy } from './options.js';
import type { Entry, WriteConcern } from './wire.js';

/** Options every call takes. */
export interface CallOptions {
  /** Stops waiting (and retrying); the call then fails with code ABORTED. */
  readonly signal?: AbortSignal;
  /** Bound on each attempt (default: the client's readTimeoutMs or appendAttemptTimeoutMs). */
  readonly attemptTimeoutMs?: number;
  /** This call's changes to the client's retry policy (`{ maxAttempts: 1 }`: no retry). */
  readonly retry?: Partial<RetryPolicy>;
}

export interface AppendOptions extends CallOptions {
  /** Nodes that must hold the entry before the answer: 1..N, "majority" or "all" (the default). */
  readonly w?: WriteConcern;
  /** How long the master waits for `w` before answering 504 WRITE_CONCERN_TIMEOUT (stored). */
  readonly timeoutMs?: number;
  /**
   * The append's key: every retry carries it, so the master makes one entry (or batch) at most.
   * Default: a new random key per call. `null`: none, and then an attempt without an answer is
   * not retried (it might have been stored).
   */
  readonly idempotencyKey?: string | null;
}

export interface ReadOptions extends CallOptions {
  /** Only entries with a larger id. */
  readonly since?: number;
  /** At most this many entries (the node caps it at its MAX_READ_LIMIT). */
  readonly limit?: number;
}

interface Appended {
  /** The write concern, resolved to a node count. */
  readonly w: number;
  /** Nodes (the master included) known to hold it when the master answered. */
  readonly acks: number;
  /** True when the master had seen the key before: nothing new was stored (the answer was 200). */
  readonly replayed: boolean;
  /** The key sent, the caller's or the generated one; undefined with `idempotencyKey: null`. */
  readonly idempotencyKey: string | undefined;
  /**
   * Attempts made, retries included; the redirects of an attempt (a 421 followed to the master,
   * a node passed over that refused the connection) are part of it.
   */
  readonly attempts: number;
  /** The node that answered: the client's `url`, or the master the append was redirected to. */
  readonly node: string;
}

export interface AppendResult extends Appended {
  readonly entry: Entry;
}

export interface BatchAppendResult extends Appended {
  /** Consecutive ids, in the order of the messages. */
  readonly entries: readonly Entry[];
}
