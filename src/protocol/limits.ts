/**
 * Limits both ends of replication agree on: the master's configuration may not go above what a
 * secondary accepts.
 */

const MiB = 1024 * 1024;

/** Most entries in one replication batch (the top of MAX_BATCH_ENTRIES). */
export const BATCH_ENTRIES_LIMIT = 100_000;

/** Most message bytes in one replication batch (the top of MAX_BATCH_BYTES). */
export const BATCH_BYTES_LIMIT = 64 * MiB;

/**
 * Most bytes of one internal request body a secondary reads: room for the largest batch the
 * master may send (BATCH_BYTES_LIMIT of messages), their JSON escaping and their epochs.
 */
export const INTERNAL_BODY_LIMIT_BYTES = 4 * BATCH_BYTES_LIMIT;
