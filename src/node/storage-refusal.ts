import { StorageError } from '../adapters/file-store/file-log-store.js';
import { InvariantError } from '../core/assert.js';

/** A store write that failed, as a refusal: nothing of it was stored, the caller may retry. */
export interface StorageRefusal {
  readonly reason: 'storage-full' | 'storage-failed';
  readonly message: string;
}

/**
 * What a failed store write tells the caller. A broken invariant (the store refusing an append
 * that does not continue the log) is no storage failure: it is thrown on, and stops the node.
 */
export function storageRefusal(error: unknown): StorageRefusal {
  if (error instanceof InvariantError) throw error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof StorageError && error.code === 'STORAGE_FULL')
    return { reason: 'storage-full', message };
  return { reason: 'storage-failed', message };
}
