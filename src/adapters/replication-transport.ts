import type { PeerConfig } from '../core/master-core.js';
import type { ReplicaReport } from '../core/replication-progress.js';
import type { Entry } from '../core/entry.js';
import type { ReplicateBatch } from '../core/replica-log.js';
import type { HeartbeatBody } from '../http/schemas.js';

/** The outcome of one request to a secondary, errors included: transports never throw. */
export type ReplicaAnswer =
  | { readonly ok: true; readonly report: ReplicaReport }
  | { readonly ok: false; readonly error: string; readonly code?: string };

/** A batch as the master hands it to the transport. */
export interface OutgoingBatch extends ReplicateBatch {
  /** `JSON.stringify(entry.message)` where the master has it already, to save escaping again. */
  readonly messageJson?: (entry: Entry) => string;
}

/** How the master reaches its secondaries. */
export interface ReplicationTransport {
  replicate(peer: PeerConfig, batch: OutgoingBatch, timeoutMs: number): Promise<ReplicaAnswer>;
  heartbeat(peer: PeerConfig, body: HeartbeatBody, timeoutMs: number): Promise<ReplicaAnswer>;
  close(): Promise<void>;
}
