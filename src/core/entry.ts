/**
 * One record of the log. `id` is the sequence number the master assigned (1, 2, 3, ... with no
 * gaps); `epoch` is the master's epoch when it assigned the id, carried now so that leader
 * failover can be added later without changing the replication format.
 */
export interface Entry {
  readonly id: number;
  readonly epoch: number;
  readonly message: string;
}

/** The identity of one log: entries of two logs with different identities are never mixed. */
export interface LogIdentity {
  readonly logId: string;
  readonly epoch: number;
}

/** The public view of an entry, as `GET /logs` shows it. */
export interface PublicEntry {
  readonly id: number;
  readonly message: string;
}

export function toPublic(entry: Entry): PublicEntry {
  return { id: entry.id, message: entry.message };
}
