import type { Dispatcher, Pool } from 'undici';
import type { PeerConfig } from '../core/master-core.js';
import type { Entry } from '../core/entry.js';
import { stampJson } from '../protocol/codec.js';
import { REPLICATE_FRAME_TYPE, encodeReplicateFrame } from '../protocol/frame.js';
import { internalRequestHeaders } from '../protocol/headers.js';
import type {
  EpochEndAnswerBody,
  EpochEndRequestBody,
  HeartbeatBody,
  VoteAnswerBody,
  VoteRequestBody,
} from '../protocol/messages.js';
import { EPOCH_END_PATH, HEARTBEAT_PATH, REPLICATE_PATH, VOTE_PATH } from '../protocol/paths.js';
import {
  epochEndAnswer,
  replicaAnswer,
  voteAnswer,
  type ReplicaAnswer,
} from '../protocol/replies.js';
import type { OutgoingBatch, PeerAnswer, PeerTransport } from './replication-transport.js';
import { undici, undiciIfLoaded } from './undici.js';

/** Which pool a request goes through: the peer's in one of the two maps, with its size. */
interface PoolPlace {
  readonly pools: Map<string, Pool>;
  readonly peer: PeerConfig;
  readonly connections: number;
}

export interface HttpReplicationTransportOptions {
  /** Connections per secondary for replication: the window of batches in flight. */
  readonly connectionsPerPeer: number;
  readonly clusterToken: string | undefined;
  /** CAs trusted for https:// secondaries (TLS_CA, or the node's own certificate). */
  readonly ca?: readonly string[] | undefined;
}

/**
 * Replication over HTTP/1.1 with undici keep-alive pools. Heartbeats get a pool of their own so
 * that a probe never queues behind a large batch: a slow batch must not look like a dead node.
 */
export class HttpReplicationTransport implements PeerTransport {
  readonly #replicationPools = new Map<string, Pool>();
  /** Probes, and with failover votes and epoch-end questions: small, never behind a batch. */
  readonly #heartbeatPools = new Map<string, Pool>();
  /** Set by `close`: a request that waited for undici to load makes no pool after it. */
  #closed = false;
  /** JSON bodies (heartbeats, votes, epoch-end questions). */
  readonly #headers: Record<string, string>;
  /** Replication batches, sent as frames (frame.ts). */
  readonly #frameHeaders: Record<string, string>;
  readonly #encoded = new WeakMap<
    readonly Entry[],
    {
      readonly logId: string;
      readonly epoch: number;
      readonly stamp: string;
      readonly frame: Buffer;
    }
  >();

  constructor(private readonly options: HttpReplicationTransportOptions) {
    this.#headers = internalRequestHeaders(options.clusterToken);
    this.#frameHeaders = { ...this.#headers, 'content-type': REPLICATE_FRAME_TYPE };
  }

  replicate(peer: PeerConfig, batch: OutgoingBatch, timeoutMs: number): Promise<ReplicaAnswer> {
    const place = {
      pools: this.#replicationPools,
      peer,
      connections: this.options.connectionsPerPeer,
    };
    const frame = this.#encode(batch);
    return this.#post(place, REPLICATE_PATH, frame, timeoutMs, replicaAnswer, this.#frameHeaders);
  }

  /**
   * The batch's frame, encoded once: secondaries that are level get the same entries (the same
   * array) in one pump, and a large batch is the most expensive thing the master serializes. A
   * failover batch also carries its stamp (commit point, keys), the same for both in one pump:
   * the frame is reused only for the same stamp.
   */
  #encode(batch: OutgoingBatch): Buffer {
    const { logId, epoch, entries, failover } = batch;
    const stamp = stampJson(failover);
    const cached = this.#encoded.get(entries);
    if (cached?.logId === logId && cached.epoch === epoch && cached.stamp === stamp) {
      return cached.frame;
    }
    const frame = encodeReplicateFrame(logId, epoch, entries, failover);
    this.#encoded.set(entries, { logId, epoch, stamp, frame });
    return frame;
  }

  heartbeat(peer: PeerConfig, body: HeartbeatBody, timeoutMs: number): Promise<ReplicaAnswer> {
    const place = { pools: this.#heartbeatPools, peer, connections: 1 };
    return this.#post(place, HEARTBEAT_PATH, JSON.stringify(body), timeoutMs, replicaAnswer);
  }

  vote(
    peer: PeerConfig,
    body: VoteRequestBody,
    timeoutMs: number,
  ): Promise<PeerAnswer<VoteAnswerBody>> {
    const place = { pools: this.#heartbeatPools, peer, connections: 1 };
    return this.#post(place, VOTE_PATH, JSON.stringify(body), timeoutMs, voteAnswer);
  }

  epochEnd(
    peer: PeerConfig,
    body: EpochEndRequestBody,
    timeoutMs: number,
  ): Promise<PeerAnswer<EpochEndAnswerBody>> {
    const place = { pools: this.#heartbeatPools, peer, connections: 1 };
    return this.#post(place, EPOCH_END_PATH, JSON.stringify(body), timeoutMs, epochEndAnswer);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#replicationPools.values(), ...this.#heartbeatPools.values()];
    this.#replicationPools.clear();
    this.#heartbeatPools.clear();
    await Promise.all(pools.map((pool) => pool.destroy()));
  }

  #pool({ pools, peer, connections }: PoolPlace, PoolClass: typeof Pool): Pool {
    let pool = pools.get(peer.name);
    if (pool === undefined) {
      const ca = this.options.ca;
      pool = new PoolClass(peer.url, {
        connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        ...(ca === undefined ? {} : { connect: { ca: [...ca] } }),
      });
      pools.set(peer.name, pool);
    }
    return pool;
  }

  /**
   * One POST through undici's low-level `dispatch`: no stream objects, no AbortSignal, one timer;
   * on the replication path this is paid per batch, so it is kept lean. Never rejects (unless
   * undici itself fails to load: a broken install).
   */
  #post<A>(
    place: PoolPlace,
    path: string,
    body: string | Buffer,
    timeoutMs: number,
    read: (statusCode: number, text: string) => A | { ok: false; error: string },
    headers: Record<string, string> = this.#headers,
  ): Promise<A | { ok: false; error: string }> {
    // undici loads on the first request (./undici.ts); from then on a request waits no turn.
    const loaded = undiciIfLoaded();
    if (loaded === undefined) {
      return undici().then(() =>
        // Closed while undici loaded: no pool may be made now, nothing would destroy it.
        this.#closed
          ? { ok: false, error: 'the transport is closed' }
          : this.#post(place, path, body, timeoutMs, read, headers),
      );
    }
    const pool = this.#pool(place, loaded.Pool);
    return new Promise((resolve) => {
      let settled = false;
      let controller: Dispatcher.DispatchController | undefined;
      let statusCode = 0;
      const chunks: Buffer[] = [];
      const settle = (answer: A | { ok: false; error: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(answer);
      };
      // Covers the whole request, time queued for a connection included, as a deadline should.
      const timer = setTimeout(() => {
        settle({ ok: false, error: `no answer within ${timeoutMs} ms` });
        controller?.abort(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: (started) => {
          controller = started;
          if (settled) started.abort(new Error(`no answer within ${timeoutMs} ms`));
        },
        onResponseStart: (_controller, code) => {
          statusCode = code;
        },
        onResponseData: (_controller, chunk) => {
          chunks.push(chunk);
        },
        onResponseEnd: () => {
          settle(read(statusCode, Buffer.concat(chunks).toString('utf8')));
        },
        onResponseError: (_controller, error) => {
          settle({ ok: false, error: describeNetworkError(error, timeoutMs) });
        },
      };
      try {
        pool.dispatch(
          {
            method: 'POST',
            path,
            headers,
            body,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          },
          handler,
        );
      } catch (error) {
        settle({ ok: false, error: describeNetworkError(error, timeoutMs) });
      }
    });
  }
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError')
      return `no answer within ${timeoutMs} ms`;
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
