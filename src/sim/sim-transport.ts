import type {
  OutgoingBatch,
  ReplicaAnswer,
  ReplicationTransport,
} from '../adapters/replication-transport.js';
import type { PeerConfig } from '../core/master-core.js';
import { refusalError } from '../http/refusals.js';
import type { HeartbeatBody } from '../protocol/messages.js';
import type { ReplicaOutcome, SecondaryNode } from '../node/secondary-node.js';
import type { SimNetwork } from './sim-network.js';

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
    private readonly serving: (name: string) => SecondaryNode | undefined,
    /** A node threw (a broken invariant): the run fails with it. */
    private readonly fatal: (error: unknown) => void,
  ) {}

  replicate(peer: PeerConfig, batch: OutgoingBatch, timeoutMs: number): Promise<ReplicaAnswer> {
    const body = { logId: batch.logId, epoch: batch.epoch, entries: batch.entries };
    return this.#exchange(peer.name, timeoutMs, (node) => node.replicate(body));
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
    call: (node: SecondaryNode) => Promise<ReplicaOutcome>,
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
    const { incarnation, hwm } = outcome.reply;
    return { ok: true, report: { incarnation, hwm } };
  }
  const error = refusalError(outcome.refusal);
  if (error === undefined) return undefined;
  return { ok: false, error: `HTTP ${error.statusCode}: ${error.message}`, code: error.code };
}
