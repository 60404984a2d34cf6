/**
 * An HTTP fault proxy placed between the master and one secondary (the master's SECONDARIES URL
 * points at it). It forwards every request to the secondary and, after the secondary has answered
 * (so a replicated batch is stored), can drop the reply by destroying the master's connection:
 * "a reply lost after the secondary stored the batch". It can also delay replies. It counts what
 * it did.
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { systemClock, type Clock } from '../adapters/clock.js';
import { REPLICATE_PATH } from '../protocol/paths.js';

export interface FaultProxySettings {
  /** Probability (0..1) of dropping the reply of a matching request after the target answered. */
  readonly dropReplyRate: number;
  /** Extra delay before a reply is passed on: a number, or [min, max] for a random one. */
  readonly delayMs: number | readonly [number, number];
}

export interface FaultProxyStats {
  /** Requests received from the client (the master). */
  requests: number;
  /** Requests the reply drop applies to (by default POST /internal/replicate). */
  matching: number;
  /** Replies passed back to the client. */
  forwarded: number;
  /** Replies dropped after the target answered. */
  repliesDropped: number;
  /** Replies delayed by a non-zero extra delay. */
  delayed: number;
  /** Requests the target did not answer (refused, reset, timed out): the client's connection is cut. */
  upstreamErrors: number;
  /** Requests whose client went away before the reply was passed on. */
  clientGone: number;
}

export interface FaultProxyOptions {
  /** The secondary's base URL, e.g. http://127.0.0.1:41234. */
  readonly target: string;
  /** Where to listen; default 127.0.0.1 and a free port. */
  readonly host?: string;
  readonly port?: number;
  /** Local address for connections to the target (netns: the proxy's own address). */
  readonly localAddress?: string;
  /** Which requests a reply may be dropped for; default POST to /internal/replicate. */
  readonly matches?: (method: string, path: string) => boolean;
  /** Randomness in [0, 1); default Math.random. */
  readonly random?: () => number;
  /** What delayed replies wait on; default the system clock. */
  readonly clock?: Clock;
  /** Bound on one forwarded request; default 30 s. */
  readonly upstreamTimeoutMs?: number;
  readonly initial?: Partial<FaultProxySettings>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'content-length',
  'host',
]);

function forwardableHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const result: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) result[name] = value;
  }
  return result;
}

function defaultMatches(method: string, path: string): boolean {
  return method === 'POST' && path.startsWith(REPLICATE_PATH);
}

export class FaultProxy {
  readonly stats: FaultProxyStats = {
    requests: 0,
    matching: 0,
    forwarded: 0,
    repliesDropped: 0,
    delayed: 0,
    upstreamErrors: 0,
    clientGone: 0,
  };
  #settings: FaultProxySettings;
  readonly #server: Server;
  readonly #agent: Agent;
  readonly #target: URL;
  readonly #sockets = new Set<Socket>();
  /** Cancels the wait of each delayed reply. */
  readonly #delayed = new Set<() => void>();
  #port = 0;
  #closed = false;

  private constructor(private readonly options: FaultProxyOptions) {
    this.#target = new URL(options.target);
    this.#settings = { dropReplyRate: 0, delayMs: 0, ...options.initial };
    this.#agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 });
    this.#server = createServer((req, res) => {
      this.#handle(req, res);
    });
    this.#server.keepAliveTimeout = 30_000;
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts a proxy listening on `host:port` (default 127.0.0.1, a free port). */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(options.port ?? 0, host, () => {
        proxy.#server.off('error', reject);
        resolve();
      });
    });
    const address = proxy.#server.address();
    proxy.#port = typeof address === 'object' && address !== null ? address.port : 0;
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  /** The URL the master should use for this secondary. */
  get url(): string {
    const host = this.options.host ?? '127.0.0.1';
    return `http://${host}:${this.#port}`;
  }

  get settings(): FaultProxySettings {
    return this.#settings;
  }

  /** Changes the faults in force; omitted fields keep their value. */
  configure(change: Partial<FaultProxySettings>): FaultProxySettings {
    const next = { ...this.#settings, ...change };
    if (!(next.dropReplyRate >= 0 && next.dropReplyRate <= 1))
      throw new Error(`dropReplyRate must be in 0..1, got ${next.dropReplyRate}`);
    this.#settings = next;
    return next;
  }

  /** Stops listening, cuts every connection and cancels pending replies. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const cancel of this.#delayed) cancel();
    this.#delayed.clear();
    const closed = new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
    for (const socket of this.#sockets) socket.destroy();
    this.#agent.destroy();
    await closed;
  }

  #random(): number {
    return (this.options.random ?? Math.random)();
  }

  #delay(): number {
    const delay = this.#settings.delayMs;
    if (typeof delay === 'number') return delay;
    const [min, max] = delay;
    return min + this.#random() * (max - min);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.stats.requests++;
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const matching = (this.options.matches ?? defaultMatches)(method, path);
    if (matching) this.stats.matching++;
    const chunks: Buffer[] = [];
    let clientGone = false;
    let replied = false;
    res.once('close', () => {
      if (!replied) clientGone = true;
    });
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('error', () => {
      clientGone = true;
    });
    req.once('end', () => {
      const body = Buffer.concat(chunks);
      const headers = forwardableHeaders(req.headers);
      headers['content-length'] = String(body.length);
      const upstream = httpRequest(
        {
          protocol: 'http:',
          host: this.#target.hostname,
          port: this.#target.port,
          method,
          path,
          headers,
          agent: this.#agent,
          timeout: this.options.upstreamTimeoutMs ?? 30_000,
          ...(this.options.localAddress === undefined
            ? {}
            : { localAddress: this.options.localAddress }),
        },
        (answer) => {
          const answerChunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => answerChunks.push(chunk));
          answer.once('error', () => {
            this.stats.upstreamErrors++;
            req.socket.destroy();
          });
          answer.once('end', () => {
            const answerBody = Buffer.concat(answerChunks);
            this.#reply(
              req,
              res,
              matching,
              () => clientGone,
              answer,
              answerBody,
              () => {
                replied = true;
              },
            );
          });
        },
      );
      upstream.once('timeout', () => {
        upstream.destroy(new Error('upstream timeout'));
      });
      upstream.once('error', () => {
        // The target is down, paused past the bound, or cut the connection: so does the proxy.
        this.stats.upstreamErrors++;
        req.socket.destroy();
      });
      upstream.end(body);
    });
  }

  #reply(
    req: IncomingMessage,
    res: ServerResponse,
    matching: boolean,
    clientGone: () => boolean,
    answer: IncomingMessage,
    body: Buffer,
    markReplied: () => void,
  ): void {
    const send = (): void => {
      if (this.#closed) return;
      if (clientGone() || req.socket.destroyed) {
        this.stats.clientGone++;
        return;
      }
      if (matching && this.#settings.dropReplyRate > 0) {
        if (this.#random() < this.#settings.dropReplyRate) {
          // The secondary stored the batch and answered; the master never hears of it.
          this.stats.repliesDropped++;
          req.socket.destroy();
          return;
        }
      }
      const headers = forwardableHeaders(answer.headers);
      headers['content-length'] = String(body.length);
      markReplied();
      res.writeHead(answer.statusCode ?? 502, headers);
      res.end(body);
      this.stats.forwarded++;
    };
    const delay = this.#delay();
    if (delay <= 0) {
      send();
      return;
    }
    this.stats.delayed++;
    const cancel = (this.options.clock ?? systemClock).schedule(delay, () => {
      this.#delayed.delete(cancel);
      send();
    });
    this.#delayed.add(cancel);
  }
}
