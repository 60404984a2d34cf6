import { assert } from '../core/assert.js';
import { refusalError } from './refusals.js';
import type { ApiError } from './api-error.js';

/** A log stream (`GET /logs/stream`) or a read waiting for new entries (`?waitMs=`). */
export type FollowKind = 'stream' | 'poll';

/** MAX_FOLLOWERS streams and waiting reads are open already. */
export interface FollowRefusal {
  readonly reason: 'too-many-followers';
  readonly streams: number;
  readonly polls: number;
  readonly limit: number;
}

/**
 * The followers a node holds at once: streams and waiting reads share one limit (MAX_FOLLOWERS),
 * on top of the connection limit that each of their connections counts against already, so that
 * followers alone can never take every connection appends and plain reads need. When the node
 * closes, every follower is ended (a stream ends, a waiting read answers), so that no open
 * connection holds the server up.
 */
export class FollowSlots {
  /** Each follower, with what ends it. */
  readonly #open = new Map<object, { readonly kind: FollowKind; readonly end: () => void }>();
  #streams = 0;
  #polls = 0;
  #closing = false;

  constructor(private readonly limit: number) {}

  get streams(): number {
    return this.#streams;
  }

  get polls(): number {
    return this.#polls;
  }

  /** Set by `endAll`: the node is closing, and nothing new should wait or stream. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Takes a slot for a follower, or throws 503 OVERLOADED (with Retry-After) when all are taken.
   * `end` is called when the node closes; the returned function frees the slot (more than once is
   * harmless).
   */
  admit(kind: FollowKind, end: () => void): () => void {
    if (this.#open.size >= this.limit) throw this.#refusal();
    const token = {};
    this.#open.set(token, { kind, end });
    this.#count(kind, 1);
    return () => {
      if (this.#open.delete(token)) this.#count(kind, -1);
    };
  }

  /** Ends every follower: the node is closing. */
  endAll(): void {
    this.#closing = true;
    for (const { end } of [...this.#open.values()]) end();
  }

  #count(kind: FollowKind, delta: number): void {
    if (kind === 'stream') this.#streams += delta;
    else this.#polls += delta;
  }

  #refusal(): ApiError {
    const refusal: FollowRefusal = {
      reason: 'too-many-followers',
      streams: this.#streams,
      polls: this.#polls,
      limit: this.limit,
    };
    const error = refusalError(refusal);
    assert(error !== undefined, 'the follow refusal has an answer');
    return error;
  }
}
