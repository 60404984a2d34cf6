import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { Clock } from '../adapters/clock.js';
import type { Logger } from '../adapters/logger.js';
import { repeatEvery } from '../adapters/repeat.js';
import { ApiError } from '../http/api-error.js';

/** A state as sent: its JSON, serialized once however many pages receive it. */
interface Snapshot {
  readonly json: string;
}

/** What the streams need of a hub (the master's DashboardHub, a failover node's ClusterHub). */
export interface SnapshotSource {
  subscribe(listener: (snapshot: Snapshot) => void): () => void;
}

export interface EventStreamOptions {
  /** Pages connected at once; one more gets 503 OVERLOADED. */
  readonly maxClients: number;
  /** A comment line this often keeps proxies and the browser from closing a quiet stream. */
  readonly heartbeatMs: number;
  /** How long the browser waits before reconnecting a dropped stream. */
  readonly retryMs: number;
}

export const DEFAULT_EVENT_STREAM_OPTIONS: EventStreamOptions = {
  maxClients: 32,
  heartbeatMs: 15_000,
  retryMs: 2000,
};

interface Client {
  readonly response: ServerResponse;
  /** A state that waits for the socket to drain; only the newest is kept. */
  waiting: Snapshot | undefined;
}

/**
 * The dashboard's Server-Sent Events: `GET /dashboard/events` sends a `state` event at once and
 * then one per change (the hub decides when). A slow page never makes the master buffer more
 * than one state for it: while its socket is full, newer states replace the waiting one.
 */
export class DashboardEvents {
  /** Each connected page, with what ends its stream. */
  readonly #clients = new Map<Client, () => void>();

  constructor(
    private readonly hub: SnapshotSource,
    private readonly logger: Logger,
    /** Paces the heartbeats. */
    private readonly clock: Clock,
    private readonly options: EventStreamOptions = DEFAULT_EVENT_STREAM_OPTIONS,
  ) {}

  get clientCount(): number {
    return this.#clients.size;
  }

  /** Takes over the reply as an event stream, or throws 503 OVERLOADED when full. */
  open(reply: FastifyReply): void {
    const { maxClients, heartbeatMs, retryMs } = this.options;
    if (this.#clients.size >= maxClients) {
      this.logger.warn(
        { event: 'dashboard-overloaded', clients: this.#clients.size },
        `refused a dashboard page: ${maxClients} are connected`,
      );
      throw new ApiError(
        503,
        'OVERLOADED',
        `${this.#clients.size} dashboard pages are connected (limit ${maxClients}); close one or retry later`,
        {},
        { 'retry-after': '5' },
      );
    }
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Reverse proxies (nginx) would otherwise hold events back to fill their buffer.
      'x-accel-buffering': 'no',
    });
    response.write(`retry: ${retryMs}\n\n`);
    const client: Client = { response, waiting: undefined };

    const onDrain = (): void => {
      const waiting = client.waiting;
      client.waiting = undefined;
      if (waiting !== undefined) this.#send(client, waiting);
    };
    response.on('drain', onDrain);
    const stopHeartbeat = repeatEvery(this.clock, heartbeatMs, () => {
      if (!response.writableNeedDrain) response.write(': heartbeat\n\n');
    });
    let unsubscribe = (): void => undefined;
    const close = (): void => {
      if (!this.#clients.delete(client)) return;
      stopHeartbeat();
      unsubscribe();
      response.off('drain', onDrain);
      if (!response.writableEnded) response.end();
    };
    this.#clients.set(client, close);
    response.on('close', close);
    response.on('error', close);
    try {
      unsubscribe = this.hub.subscribe((snapshot) => {
        this.#send(client, snapshot);
      });
    } catch (error) {
      // The hub closes with the server; a page that got in just then is let go, not left open.
      close();
      this.logger.debug({ event: 'dashboard-stream-refused', err: error }, 'dashboard closing');
    }
  }

  /** Ends every stream, so that the server can close (an open stream would hold it). */
  closeAll(): void {
    for (const close of [...this.#clients.values()]) close();
  }

  #send(client: Client, snapshot: Snapshot): void {
    if (client.response.writableNeedDrain) {
      client.waiting = snapshot;
      return;
    }
    client.response.write(`event: state\ndata: ${snapshot.json}\n\n`);
  }
}
