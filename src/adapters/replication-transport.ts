import type { PeerConfig } from '../core/master-core.js';
import type { ReplicaReport } from '../core/replication-progress.js';
import type { HeartbeatBody, ReplicateBody } from '../http/schemas.js';

/** The outcome of one request to a secondary, errors included: transports never throw. */
export type ReplicaAnswer =
  | { readonly ok: true; readonly report: ReplicaReport }
  | { readonly ok: false; readonly error: string; readonly code?: string };

/** How the master reaches its secondaries. */
export interface ReplicationTransport {
  replicate(peer: PeerConfig, body: ReplicateBody, timeoutMs: number): Promise<ReplicaAnswer>;
  heartbeat(peer: PeerConfig, body: HeartbeatBody, timeoutMs: number): Promise<ReplicaAnswer>;
  close(): Promise<void>;
}
