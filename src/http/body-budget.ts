import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../adapters/clock.js';
import { repeatEvery } from '../adapters/repeat.js';
import { assert } from '../core/assert.js';
import { ApiError } from './api-error.js';
import { sendApiError } from './send-json.js';

/** A body gets this long to arrive, plus the time its size takes at MIN_BODY_BYTES_PER_S. */
export const BODY_GRACE_MS = 1000;
/** The slowest a body may arrive: slower senders are cut off (408) and release their charge. */
export const MIN_BODY_BYTES_PER_S = 1024 * 1024;
/** Bodies up to this size are not charged (see `admit`). */
export const SMALL_BODY_BYTES = 64 * 1024;
/** How often bodies still arriving are checked against their deadline. */
const SWEEP_INTERVAL_MS = 250;

interface Receiving {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly deadlineMs: number;
}

/**
 * Admission of request bodies: the bytes of all bodies being received at once stay under a
 * budget, so that a flood of large requests cannot exhaust memory however many connections it
 * opens. A request is charged its Content-Length (a chunked one, whose size is not known in
 * advance, the largest body its route accepts) when it arrives, and released as soon as its body
 * has arrived (an append waiting for its write concern holds no charge; its messages are bounded
 * by MAX_WAITING_APPENDS) or its connection closes. A body must arrive at MIN_BODY_BYTES_PER_S
 * after BODY_GRACE_MS, so a slow sender cannot sit on a large charge: holding the budget takes
 * real bandwidth. A request that does not fit is answered at once with 503 OVERLOADED and
 * Retry-After; its body is read and thrown away, never kept, and nothing is stored.
 */
export class BodyBudget {
  #usedBytes = 0;
  readonly #receiving = new Set<Receiving>();
  /** Stops the sweep; set while bodies are being received. */
  #stopSweep: (() => void) | undefined;

  constructor(
    readonly capacityBytes: number,
    /** Deadlines are read from it and the sweep runs on it. */
    private readonly clock: Clock,
  ) {}

  get usedBytes(): number {
    return this.#usedBytes;
  }

  /**
   * The bytes a request will hold: its declared length; 0 without a body, and 0 above
   * `limitBytes` too, since its route refuses it with 413 before reading it. A chunked body,
   * whose size is not known in advance, is charged the route's limit, at most the whole budget.
   */
  chargeOf(request: IncomingMessage, limitBytes: number): number {
    const length = request.headers['content-length'];
    if (length !== undefined) {
      const bytes = Number(length);
      // A malformed length is refused by the HTTP parser; charge nothing meanwhile.
      return Number.isSafeInteger(bytes) && bytes >= 0 && bytes <= limitBytes ? bytes : 0;
    }
    return request.headers['transfer-encoding'] === undefined
      ? 0
      : Math.min(limitBytes, this.capacityBytes);
  }

  /**
   * Charges the request (`limitBytes` is its route's body limit) and arranges its release; false,
   * with the 503 already sent, when the budget cannot take it.
   */
  admit(request: IncomingMessage, response: ServerResponse, limitBytes: number): boolean {
    const bytes = this.chargeOf(request, limitBytes);
    // Small bodies are not tracked: one per connection, they are bounded by MAX_CONNECTIONS x
    // SMALL_BODY_BYTES already, and most appends are small, so they skip the bookkeeping.
    if (bytes <= SMALL_BODY_BYTES) return true;
    if (this.#usedBytes + bytes > this.capacityBytes) {
      this.#refuse(request, response);
      return false;
    }
    this.#usedBytes += bytes;
    const receiving: Receiving = {
      request,
      response,
      deadlineMs: this.clock.nowMs() + BODY_GRACE_MS + (bytes / MIN_BODY_BYTES_PER_S) * 1000,
    };
    this.#receiving.add(receiving);
    this.#stopSweep ??= repeatEvery(this.clock, SWEEP_INTERVAL_MS, () => {
      this.#cutSlowSenders();
    });
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#usedBytes -= bytes;
      assert(this.#usedBytes >= 0, 'body budget released more than it charged');
      this.#receiving.delete(receiving);
      if (this.#receiving.size === 0) this.close();
    };
    // 'end' once the body has arrived whole (listening for it does not start the stream);
    // 'close' if the request or its connection ends first.
    request.once('end', release);
    request.once('close', release);
    response.once('close', release);
    return true;
  }

  /** Stops the sweep (the server's shutdown); the next large body starts it again. */
  close(): void {
    this.#stopSweep?.();
    this.#stopSweep = undefined;
  }

  #cutSlowSenders(): void {
    const nowMs = this.clock.nowMs();
    for (const receiving of this.#receiving) {
      const { request, response } = receiving;
      if (receiving.deadlineMs > nowMs || request.complete) continue;
      // Its charge is released by 'close'. Told why when nothing was answered yet.
      const socket = request.socket;
      if (response.headersSent) {
        socket.destroy();
        continue;
      }
      response.once('finish', () => socket.destroy());
      sendApiError(
        response,
        new ApiError(
          408,
          'INVALID_REQUEST',
          `the body arrived slower than ${MIN_BODY_BYTES_PER_S} bytes per second; send it at once`,
        ),
        { connection: 'close' },
      );
    }
  }

  #refuse(request: IncomingMessage, response: ServerResponse): void {
    // Read the body and throw it away, so that a client still sending it gets this answer rather
    // than a reset connection; the request timeout bounds how long that may take.
    request.resume();
    sendApiError(
      response,
      new ApiError(
        503,
        'OVERLOADED',
        `${this.#usedBytes} bytes of request bodies are being received (limit ${this.capacityBytes}, MAX_INFLIGHT_BODY_BYTES); nothing was stored, retry later`,
        {},
        { 'retry-after': '1' },
      ),
    );
  }
}
