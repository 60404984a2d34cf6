import { Pool, type Dispatcher } from 'undici';
import type { PeerConfig } from '../core/master-core.js';
import type { Entry } from '../core/entry.js';
import type { HeartbeatBody, ReplicaReplyBody } from '../http/schemas.js';
import { encodeReplicateBody } from './replication-codec.js';
import type {
  OutgoingBatch,
  ReplicaAnswer,
  ReplicationTransport,
} from './replication-transport.js';

export const REPLICATE_PATH = '/internal/replicate';
export const HEARTBEAT_PATH = '/internal/heartbeat';

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
export class HttpReplicationTransport implements ReplicationTransport {
  readonly #replicationPools = new Map<string, Pool>();
  readonly #heartbeatPools = new Map<string, Pool>();
  readonly #headers: Record<string, string>;
  readonly #encoded = new WeakMap<
    readonly Entry[],
    { readonly logId: string; readonly epoch: number; readonly text: string }
  >();

  constructor(private readonly options: HttpReplicationTransportOptions) {
    this.#headers = { 'content-type': 'application/json' };
    if (options.clusterToken !== undefined)
      this.#headers['authorization'] = `Bearer ${options.clusterToken}`;
  }

  replicate(peer: PeerConfig, batch: OutgoingBatch, timeoutMs: number): Promise<ReplicaAnswer> {
    const pool = this.#pool(this.#replicationPools, peer, this.options.connectionsPerPeer);
    return this.#post(pool, REPLICATE_PATH, this.#encode(batch), timeoutMs);
  }

  /**
   * The batch's body, encoded once: secondaries that are level get the same entries (the same
   * array) in one pump, and a large batch is the most expensive thing the master serializes.
   */
  #encode(batch: OutgoingBatch): string {
    const cached = this.#encoded.get(batch.entries);
    if (cached?.logId === batch.logId && cached.epoch === batch.epoch) return cached.text;
    const text = encodeReplicateBody(batch.logId, batch.epoch, batch.entries, batch.messageJson);
    this.#encoded.set(batch.entries, { logId: batch.logId, epoch: batch.epoch, text });
    return text;
  }

  heartbeat(peer: PeerConfig, body: HeartbeatBody, timeoutMs: number): Promise<ReplicaAnswer> {
    const pool = this.#pool(this.#heartbeatPools, peer, 1);
    return this.#post(pool, HEARTBEAT_PATH, JSON.stringify(body), timeoutMs);
  }

  async close(): Promise<void> {
    const pools = [...this.#replicationPools.values(), ...this.#heartbeatPools.values()];
    this.#replicationPools.clear();
    this.#heartbeatPools.clear();
    await Promise.all(pools.map((pool) => pool.destroy()));
  }

  #pool(pools: Map<string, Pool>, peer: PeerConfig, connections: number): Pool {
    let pool = pools.get(peer.name);
    if (pool === undefined) {
      const ca = this.options.ca;
      pool = new Pool(peer.url, {
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
   * on the replication path this is paid per batch, so it is kept lean. Never rejects.
   */
  #post(pool: Pool, path: string, body: string, timeoutMs: number): Promise<ReplicaAnswer> {
    return new Promise((resolve) => {
      let settled = false;
      let controller: Dispatcher.DispatchController | undefined;
      let statusCode = 0;
      const chunks: Buffer[] = [];
      const settle = (answer: ReplicaAnswer): void => {
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
          settle(answerFrom(statusCode, Buffer.concat(chunks).toString('utf8')));
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
            headers: this.#headers,
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

/** What a secondary's answer means: its report, or why there is none. */
function answerFrom(statusCode: number, text: string): ReplicaAnswer {
  if (statusCode !== 200) {
    const failure = parseErrorBody(text);
    return failure.code === undefined
      ? { ok: false, error: `HTTP ${statusCode}: ${failure.message}` }
      : {
          ok: false,
          error: `HTTP ${statusCode} ${failure.code}: ${failure.message}`,
          code: failure.code,
        };
  }
  try {
    const reply = JSON.parse(text) as ReplicaReplyBody;
    if (
      typeof reply.incarnation !== 'string' ||
      !Number.isSafeInteger(reply.hwm) ||
      reply.hwm < 0
    ) {
      return { ok: false, error: 'malformed reply from secondary' };
    }
    return { ok: true, report: { incarnation: reply.incarnation, hwm: reply.hwm } };
  } catch {
    return { ok: false, error: 'reply from secondary is not JSON' };
  }
}

function parseErrorBody(text: string): { code?: string; message: string } {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = parsed.error?.code;
    const message = parsed.error?.message;
    if (typeof code === 'string' && typeof message === 'string') return { code, message };
  } catch {
    // Not our envelope: report the raw text below.
  }
  return { message: text.slice(0, 200) };
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
