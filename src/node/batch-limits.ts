import { BATCH_BYTES_LIMIT, BATCH_ENTRIES_LIMIT } from '../protocol/limits.js';

/**
 * A secondary at least this many full batches behind is catching up (restarted empty, back from a
 * partition): it is sent catch-up batches.
 */
export const CATCH_UP_BEHIND_BATCHES = 8;

/**
 * A catch-up batch holds up to this many times MAX_BATCH_ENTRIES and MAX_BATCH_BYTES (within the
 * protocol's BATCH_ENTRIES_LIMIT and BATCH_BYTES_LIMIT): with the defaults 8000 entries and 8 MiB
 * of messages, so a window of MAX_INFLIGHT_BATCHES (4) holds at most 32 MiB. Fewer, larger
 * requests spend less per entry on HTTP, on the pump and on wake-ups of both processes.
 */
export const CATCH_UP_BATCH_FACTOR = 8;

export interface BatchLimits {
  readonly entries: number;
  readonly bytes: number;
}

/**
 * The most entries and message bytes of one batch to a secondary that lacks `behind` entries
 * (the master's last id minus the batch's first id, plus one): the configured limits, or the
 * catch-up limits while it is far behind. The same for every secondary at the same place, so that
 * secondaries that are level share one read and one encoding.
 */
export function batchLimits(behind: number, maxEntries: number, maxBytes: number): BatchLimits {
  if (behind < CATCH_UP_BEHIND_BATCHES * maxEntries)
    return { entries: maxEntries, bytes: maxBytes };
  return {
    entries: Math.min(BATCH_ENTRIES_LIMIT, maxEntries * CATCH_UP_BATCH_FACTOR),
    bytes: Math.min(BATCH_BYTES_LIMIT, maxBytes * CATCH_UP_BATCH_FACTOR),
  };
}
