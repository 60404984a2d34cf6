import { assert } from '../core/assert.js';
import { StorageError } from '../adapters/file-store/file-log-store.js';
import type { AppendRefusal } from '../node/append-outcome.js';
import { storageRefusal } from '../node/storage-refusal.js';
import type { ReplicaRefusal } from '../node/secondary-node.js';
import { ApiError, invalidWriteConcern } from './api-error.js';
import type { FollowRefusal } from './follow-slots.js';

/** Every way a node refuses a request: as the node layer says it, and its followers' limit. */
export type Refusal = AppendRefusal | ReplicaRefusal | FollowRefusal;
type Reason = Refusal['reason'];
type RefusalOf<R extends Reason> = Extract<Refusal, { reason: R }>;

const RETRY_SOON = { 'retry-after': '1' };

/**
 * The one table from a node's refusal to its HTTP answer: status, error code, message and
 * headers. Nothing else in the HTTP layer decides how a refusal looks; the node never names a
 * status. `abandoned` has no answer: the master closed the connection and nobody is left to read it.
 */
const REFUSALS: { readonly [R in Reason]: ((refusal: RefusalOf<R>) => ApiError) | undefined } = {
  'invalid-write-concern': (refusal) => invalidWriteConcern(refusal.w, refusal.clusterSize),
  'read-only': ({ quorum, retryAfterS }) =>
    new ApiError(
      503,
      'READ_ONLY',
      `no quorum: ${quorum.healthy} of ${quorum.size} nodes healthy, ${quorum.required} needed; appends resume when a majority is back`,
      { quorum },
      { 'retry-after': String(retryAfterS) },
    ),
  overloaded: ({ queue, inProgress, limit }) =>
    new ApiError(
      503,
      'OVERLOADED',
      queue === 'appends'
        ? `${inProgress} appends are already being stored or waiting for their write concern (limit ${limit}, MAX_WAITING_APPENDS); nothing was stored, retry later`
        : `${inProgress} requests from the master are already held or being applied (limit ${limit}); the master retries after a backoff`,
      {},
      RETRY_SOON,
    ),
  'too-many-followers': ({ streams, polls, limit }) =>
    new ApiError(
      503,
      'OVERLOADED',
      `${streams} log streams and ${polls} waiting reads are open (limit ${limit} together, MAX_FOLLOWERS); read without waitMs, or retry later`,
      {},
      RETRY_SOON,
    ),
  'storage-unavailable': () =>
    new ApiError(
      503,
      'STORAGE_UNAVAILABLE',
      'a write to the log just failed and is being undone; nothing was stored, retry in a moment',
      {},
      RETRY_SOON,
    ),
  'storage-full': ({ message }) =>
    new ApiError(507, 'STORAGE_FULL', message, {}, { 'retry-after': '5' }),
  'storage-failed': ({ message }) => new ApiError(500, 'STORAGE_FAILED', message),
  rejected: ({ code, message, epoch }) =>
    new ApiError(409, code, message, epoch === undefined ? {} : { epoch }),
  'not-master': ({ master, retryAfterS }) =>
    master === null
      ? new ApiError(
          421,
          'NOT_MASTER',
          `this node is not the master and no master is known now (an election is under way); retry in ${retryAfterS} s`,
          { master },
          { 'retry-after': String(retryAfterS) },
        )
      : new ApiError(
          421,
          'NOT_MASTER',
          `this node is not the master; send appends to the master at ${master}`,
          { master },
        ),
  'injected-error': ({ errorRate }) =>
    new ApiError(500, 'INJECTED_ERROR', `injected error after storing (errorRate ${errorRate})`),
  abandoned: undefined,
  syncing: ({ epoch, master }) =>
    new ApiError(
      503,
      'SYNCING',
      `this node is comparing its log with ${master}, master of epoch ${epoch}; it answers once its log is a prefix of the master's`,
      { epoch },
      RETRY_SOON,
    ),
};

/** The HTTP answer to a refusal; undefined when no answer is to be sent. */
export function refusalError(refusal: Refusal): ApiError | undefined {
  const toError = REFUSALS[refusal.reason] as ((refusal: Refusal) => ApiError) | undefined;
  return toError?.(refusal);
}

/** The HTTP answer to a refused append: every append refusal has one. */
export function appendRefusalError(refusal: AppendRefusal): ApiError {
  const error = refusalError(refusal);
  assert(error !== undefined, `the append refusal ${refusal.reason} has an answer`);
  return error;
}

/**
 * The answer for errors our own code raises outside a node's results (API errors, and storage
 * errors of a read), through the same table; undefined for any other error. A broken invariant
 * is thrown on by `storageRefusal`, to stop the node.
 */
export function knownApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof StorageError) return refusalError(storageRefusal(error));
  return undefined;
}
