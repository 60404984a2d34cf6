import type { PeerConfig } from '../core/master-core.js';
import type { ReplicateBatch } from '../core/replica-log.js';
import type {
  EpochEndAnswerBody,
  EpochEndRequestBody,
  HeartbeatBody,
  VoteAnswerBody,
  VoteRequestBody,
} from '../protocol/messages.js';
import type { ReplicaAnswer } from '../protocol/replies.js';

/** What a request to a secondary came to: defined in the protocol, beside the reply it reads. */
export type { ReplicaAnswer } from '../protocol/replies.js';

/** A batch as the master hands it to the transport (the HTTP one sends it as a frame). */
export type OutgoingBatch = ReplicateBatch;

/** How the master reaches its secondaries. */
export interface ReplicationTransport {
  replicate(peer: PeerConfig, batch: OutgoingBatch, timeoutMs: number): Promise<ReplicaAnswer>;
  heartbeat(peer: PeerConfig, body: HeartbeatBody, timeoutMs: number): Promise<ReplicaAnswer>;
  close(): Promise<void>;
}

/** The answer to a request between failover nodes: its body, or why there is none. */
export type PeerAnswer<T> =
  | { readonly ok: true; readonly body: T }
  | { readonly ok: false; readonly error: string; readonly code?: string };

/**
 * With failover every node reaches every other: a master replicates, a candidate asks for votes,
 * a follower asks the master where its log diverges.
 */
export interface PeerTransport extends ReplicationTransport {
  vote(
    peer: PeerConfig,
    body: VoteRequestBody,
    timeoutMs: number,
  ): Promise<PeerAnswer<VoteAnswerBody>>;
  epochEnd(
    peer: PeerConfig,
    body: EpochEndRequestBody,
    timeoutMs: number,
  ): Promise<PeerAnswer<EpochEndAnswerBody>>;
}
