import type { IncomingMessage, ServerResponse } from 'node:http';
import { assert } from '../core/assert.js';
import { ApiError } from './api-error.js';

/**
 * Admission of request bodies: the bytes of all bodies being received or handled at once stay
 * under a budget, so that a flood of large requests cannot exhaust memory however many
 * connections it opens. A request is charged its Content-Length (a chunked one, whose size is
 * not known in advance, the largest body allowed) when it arrives, and released when its answer
 * is sent or its connection closes. A request that does not fit is answered at once with 503
 * OVERLOADED and Retry-After, before a byte of its body is read, and nothing is stored.
 */
export class BodyBudget {
  #usedBytes = 0;

  constructor(
    readonly capacityBytes: number,
    /** What a body of unknown size (chunked) is charged: the largest body the server accepts. */
    readonly unknownSizeBytes: number,
  ) {
    assert(capacityBytes >= unknownSizeBytes, 'the budget must hold the largest body');
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  /** The bytes a request will hold: 0 without a body. */
  chargeOf(request: IncomingMessage): number {
    const length = request.headers['content-length'];
    if (length !== undefined) {
      const bytes = Number(length);
      // A malformed length is refused by the HTTP parser or the body limit later; charge the most.
      return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : this.unknownSizeBytes;
    }
    return request.headers['transfer-encoding'] === undefined ? 0 : this.unknownSizeBytes;
  }

  /**
   * Charges the request and arranges its release; false (and the 503 already sent) when the
   * budget cannot take it. Bodies over the body limit are charged only up to it: they are refused
   * with 413 after that many bytes anyway.
   */
  admit(request: IncomingMessage, response: ServerResponse): boolean {
    const bytes = Math.min(this.chargeOf(request), this.unknownSizeBytes);
    if (bytes === 0) return true;
    if (this.#usedBytes + bytes > this.capacityBytes) {
      const error = new ApiError(
        503,
        'OVERLOADED',
        `${this.#usedBytes} bytes of request bodies are being received or handled (limit ${this.capacityBytes}, MAX_INFLIGHT_BODY_BYTES); nothing was stored, retry later`,
        {},
        { 'retry-after': '1' },
      );
      const body = JSON.stringify(error.toBody());
      // The body was not read: close the connection rather than read and discard it.
      response.writeHead(503, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'retry-after': '1',
        connection: 'close',
      });
      response.end(body);
      return false;
    }
    this.#usedBytes += bytes;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#usedBytes -= bytes;
      assert(this.#usedBytes >= 0, 'body budget released more than it charged');
    };
    // 'close' fires once the answer is sent or the connection is gone, whichever comes first.
    response.once('close', release);
    return true;
  }
}
