import type {
  OutgoingBatch,
  PeerAnswer,
  PeerTransport,
  ReplicaAnswer,
  ReplicationTransport,
} from '../adapters/replication-transport.js';
import type { PeerConfig } from '../core/master-core.js';
import { decodeReplicateFrame, encodeReplicateFrame } from '../protocol/frame.js';
import type { ReplicateBatch } from '../core/replica-log.js';
import { refusalError, type Refusal } from '../http/refusals.js';
import type {
  EpochEndAnswerBody,
  EpochEndRequestBody,
  HeartbeatBody,
  VoteAnswerBody,
  VoteRequestBody,
} from '../protocol/messages.js';
import type { ReplicaOutcome } from '../node/secondary-node.js';
import type { EpochEndOutcome, VoteOutcome } from '../node/failover/failover-node.js';
import type { SimNetwork } from './sim-network.js';

/** What answers replication requests: a SecondaryNode, or a FailoverNode in any role. */
export interface ReplicaServer {
  replicate(batch: ReplicateBatch): Promise<ReplicaOutcome>;
  heartbeat(body: HeartbeatBody): Promise<ReplicaOutcome>;
}

/** A failover node, as other nodes reach it. */
export interface PeerServer extends ReplicaServer {
  vote(body: VoteRequestBody): Promise<VoteOutcome>;
  epochEnd(body: EpochEndRequestBody): EpochEndOutcome;
}

/**
 * The master's ReplicationTransport in the simulation: each call is a request over the simulated
 * network to the secondary's real `replicate` or `heartbeat`, and its answer comes back as the
 * HTTP transport would report it (the refusal's status and code from the HTTP layer's table).
 */
export class SimReplicationTransport implements ReplicationTransport {
  constructor(
    private readonly network: SimNetwork,
    private readonly from: string,
    /** The secondary's running process, if it is serving (undefined: connection refused). */
    private readonly serving: (name: string) => ReplicaServer | undefined,
    /** A node threw (a broken invariant): the run fails with it. */
    private readonly fatal: (error: unknown) => void,
  ) {}

  replicate(peer: PeerConfig, batch: OutgoingBatch, timeoutMs: number): Promise<ReplicaAnswer> {
    const { logId, epoch, entries, failover } = batch;
    // As the wire carries it: through the real frame, encoded and decoded (frame.ts).
    const decoded = decodeReplicateFrame(encodeReplicateFrame(logId, epoch, entries, failover));
    if (!decoded.ok) {
      // The run fails with it: a frame the master made must always decode.
      const error = `the master's own frame does not decode: ${decoded.error}`;
      this.fatal(new Error(error));
      return Promise.resolve({ ok: false, error });
    }
    return this.#exchange(peer.name, timeoutMs, (node) => node.replicate(decoded.batch));
  }

  heartbeat(peer: PeerConfig, body: HeartbeatBody, timeoutMs: number): Promise<ReplicaAnswer> {
    return this.#exchange(peer.name, timeoutMs, (node) => node.heartbeat(body));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #exchange(
    name: string,
    timeoutMs: number,
    call: (node: ReplicaServer) => Promise<ReplicaOutcome>,
  ): Promise<ReplicaAnswer> {
    return new Promise((settle) => {
      this.network.request<ReplicaAnswer>(
        this.from,
        name,
        timeoutMs,
        (respond) => {
          const node = this.serving(name);
          if (node === undefined) return false;
          call(node).then((outcome) => {
            const answer = toAnswer(outcome);
            if (answer !== undefined) respond(answer);
          }, this.fatal);
          return true;
        },
        (delivery) => {
          settle(
            delivery.kind === 'answer' ? delivery.answer : { ok: false, error: delivery.error },
          );
        },
      );
    });
  }
}

/** What the master hears: the report, or the error as the HTTP transport words it; none if abandoned. */
function toAnswer(outcome: ReplicaOutcome): ReplicaAnswer | undefined {
  if (outcome.kind === 'replied') {
    const { incarnation, hwm, epoch, acceptedEpoch } = outcome.reply;
    const report = { incarnation, hwm };
    return epoch !== undefined && acceptedEpoch !== undefined
      ? { ok: true, report, epoch, acceptedEpoch }
      : { ok: true, report };
  }
  const error = refusalError(outcome.refusal);
  if (error === undefined) return undefined;
  const failed = {
    ok: false as const,
    error: `HTTP ${error.statusCode}: ${error.message}`,
    code: error.code,
  };
  const epoch = error.extra['epoch'];
  return typeof epoch === 'number' ? { ...failed, epoch } : failed;
}

/**
 * Every failover node's transport in the simulation: replication and heartbeats as above, and
 * votes and epoch-end questions, each a request over the simulated network to the peer's real
 * FailoverNode.
 */
export class SimPeerTransport extends SimReplicationTransport implements PeerTransport {
  constructor(
    private readonly net: SimNetwork,
    private readonly self: string,
    private readonly peers: (name: string) => PeerServer | undefined,
    private readonly onFatal: (error: unknown) => void,
  ) {
    super(net, self, peers, onFatal);
  }

  vote(
    peer: PeerConfig,
    body: VoteRequestBody,
    timeoutMs: number,
  ): Promise<PeerAnswer<VoteAnswerBody>> {
    return this.#ask(peer.name, timeoutMs, (node) => node.vote(body));
  }

  epochEnd(
    peer: PeerConfig,
    body: EpochEndRequestBody,
    timeoutMs: number,
  ): Promise<PeerAnswer<EpochEndAnswerBody>> {
    return this.#ask(peer.name, timeoutMs, (node) => Promise.resolve(node.epochEnd(body)));
  }

  #ask<T extends object>(
    name: string,
    timeoutMs: number,
    call: (
      node: PeerServer,
    ) => Promise<
      | { readonly kind: 'replied'; readonly reply: T }
      | { readonly kind: 'refused'; readonly refusal: Refusal }
    >,
  ): Promise<PeerAnswer<T>> {
    return new Promise((settle) => {
      this.net.request<PeerAnswer<T>>(
        this.self,
        name,
        timeoutMs,
        (respond) => {
          const node = this.peers(name);
          if (node === undefined) return false;
          call(node).then((outcome) => {
            if (outcome.kind === 'replied') {
              respond({ ok: true, body: outcome.reply });
              return;
            }
            const error = refusalError(outcome.refusal);
            if (error !== undefined) respond({ ok: false, error: error.message, code: error.code });
          }, this.onFatal);
          return true;
        },
        (delivery) => {
          settle(
            delivery.kind === 'answer' ? delivery.answer : { ok: false, error: delivery.error },
          );
        },
      );
    });
  }
}
