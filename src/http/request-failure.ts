import type { ServerResponse } from 'node:http';
import type { Logger } from '../adapters/logger.js';
import { InvariantError } from '../core/assert.js';
import { stopOnInvariant, type InvariantHandler } from '../node/fatal.js';
import { ApiError } from './api-error.js';
import { knownApiError } from './refusals.js';
import { sendApiError } from './send-json.js';

/** What answering a failed request on node:http needs: where to log, and who hears of a bug. */
export interface FailureOptions {
  readonly logger: Logger;
  /** Told of an InvariantError while handling a request; default: stopOnInvariant. */
  readonly onInvariant?: InvariantHandler;
}

/** Answers a failed request; `headers` go beside the error's own (`connection: close`). */
export type RequestFailer = (
  response: ServerResponse,
  error: unknown,
  url: string,
  headers?: Readonly<Record<string, string>>,
) => void;

/**
 * For the routes served on node:http before fastify, what fastify's error handler does for the
 * others (create-server.ts): a failed request answered in the envelope through the one refusal
 * table (an unknown error as 500 INTERNAL_ERROR, logged as `what` failing); a broken invariant
 * gets no answer and goes to `onInvariant`, which stops the node.
 */
export function requestFailer(options: FailureOptions, what: string): RequestFailer {
  const onInvariant =
    options.onInvariant ??
    ((error, context) => {
      stopOnInvariant(options.logger, error, context);
    });
  return (response, error, url, headers = {}) => {
    if (error instanceof InvariantError) {
      // The node's state can no longer be trusted: no answer, and the node stops.
      onInvariant(error, { method: 'POST', url });
      response.destroy();
      return;
    }
    const apiError =
      knownApiError(error) ??
      new ApiError(500, 'INTERNAL_ERROR', 'internal error; see the node log');
    if (apiError.code === 'INTERNAL_ERROR') {
      options.logger.error(
        { event: 'internal-error', err: error, url },
        `${what} failed with an internal error`,
      );
    }
    sendApiError(response, apiError, headers);
  };
}
