import type { PeerConfig } from '../core/master-core.js';
import type { Entry } from '../core/entry.js';
import type { ReplicateBatch } from '../core/replica-log.js';
import type { HeartbeatBody } from '../protocol/messages.js';
import type { ReplicaAnswer } from '../protocol/replies.js';

/** What a request to a secondary came to: defined in the protocol, beside the reply it reads. */
export type { ReplicaAnswer } from '../protocol/replies.js';

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
