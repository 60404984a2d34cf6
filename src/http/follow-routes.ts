import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Clock } from '../adapters/clock.js';
import type { CommonConfig } from '../config/config.js';
import { FollowMetrics } from './follow-metrics.js';
import { FollowSlots } from './follow-slots.js';
import { streamStartAfter, STREAM_HEADERS } from './follow-sse.js';
import { LogEventStream, type StreamedLog } from './follow-stream.js';
import { waitForEntries } from './follow-waiter.js';
import { StreamQuery } from './schemas.js';

/** The follow options (config.ts). */
export type FollowLimits = Pick<
  CommonConfig,
  'maxWaitMs' | 'maxFollowers' | 'streamKeepAliveMs' | 'maxStreamBufferBytes'
>;

export interface FollowEdges {
  /** Paces the waits, the keep-alive comments and the stream's chunks. */
  readonly clock: Clock;
  /** Where the followers' metrics go; none in tests that do not read them. */
  readonly registry?: Registry;
}

/**
 * Waits, for `GET /logs?since=&waitMs=`, until the node shows an entry after `sinceId`, `waitMs`
 * (capped by MAX_WAIT_MS) has passed, the client has gone or the node closes; throws 503
 * OVERLOADED when MAX_FOLLOWERS are open. The caller answers as a plain read afterwards.
 */
export type LongPoll = (sinceId: number, waitMs: number, response: ServerResponse) => Promise<void>;

/**
 * Following the log on every node: registers `GET /logs/stream` and `GET /messages/stream`, and
 * returns the long poll for the read routes. Both kinds of follower share MAX_FOLLOWERS, and
 * both are ended when the node closes.
 */
export function registerFollowRoutes(
  app: FastifyInstance,
  log: StreamedLog,
  limits: FollowLimits,
  edges: FollowEdges,
): LongPoll {
  const slots = new FollowSlots(limits.maxFollowers);
  const metrics =
    edges.registry === undefined ? undefined : new FollowMetrics(edges.registry, () => slots);
  app.addHook('preClose', (done) => {
    slots.endAll();
    done();
  });
  const openStream = streamOpener(log, limits, edges.clock, slots, (nextId, bufferedBytes) => {
    metrics?.slowReaderDisconnected();
    slowReaderLogged(app.log, limits, nextId, bufferedBytes);
  });
  for (const base of ['/logs', '/messages']) {
    app.get<{ Querystring: StreamQuery }>(
      `${base}/stream`,
      { schema: { querystring: StreamQuery }, exposeHeadRoute: false },
      openStream,
    );
  }
  return longPoll(log, limits, edges.clock, slots);
}

function longPoll(
  log: StreamedLog,
  limits: FollowLimits,
  clock: Clock,
  slots: FollowSlots,
): LongPoll {
  return async (sinceId, waitMs, response) => {
    if (slots.closing) return;
    let end = (): void => undefined;
    const release = slots.admit('poll', () => {
      end();
    });
    const waiting = waitForEntries(log, clock, sinceId, Math.min(waitMs, limits.maxWaitMs));
    end = waiting.end;
    response.on('close', end);
    try {
      await waiting.done;
    } finally {
      response.off('close', end);
      release();
    }
  };
}

type SlowReader = (nextId: number, bufferedBytes: number) => void;

/** The handler of `GET /logs/stream`: takes over the reply as an event stream. */
function streamOpener(
  log: StreamedLog,
  limits: FollowLimits,
  clock: Clock,
  slots: FollowSlots,
  slowReader: SlowReader,
): (request: FastifyRequest<{ Querystring: StreamQuery }>, reply: FastifyReply) => void {
  return (request, reply) => {
    const since = request.query.since === undefined ? undefined : Number(request.query.since);
    const startAfterId = streamStartAfter(since, request.headers['last-event-id']);
    // Built first (it touches nothing before start), so that the slot can end it.
    const stream = new LogEventStream(
      log,
      reply.raw,
      clock,
      { keepAliveMs: limits.streamKeepAliveMs, maxBufferBytes: limits.maxStreamBufferBytes },
      {
        slowReader: ({ nextId, bufferedBytes }) => {
          slowReader(nextId, bufferedBytes);
        },
        closed: () => {
          release();
        },
      },
      startAfterId,
    );
    const release = slots.admit('stream', () => {
      stream.end();
    });
    reply.hijack();
    reply.raw.writeHead(200, STREAM_HEADERS);
    stream.start();
    // Opened as the node began to close: ended at once, the reader retries elsewhere or later.
    if (slots.closing) stream.end();
  };
}

function slowReaderLogged(
  logger: FastifyBaseLogger,
  limits: FollowLimits,
  nextId: number,
  bufferedBytes: number,
): void {
  logger.warn(
    { event: 'follow-slow-reader', nextId, bufferedBytes },
    `disconnected a log stream whose reader took nothing for ${limits.streamKeepAliveMs} ms (STREAM_KEEP_ALIVE_MS) with ${bufferedBytes} bytes waiting for it (limit ${limits.maxStreamBufferBytes}, MAX_STREAM_BUFFER_BYTES); it resumes with Last-Event-ID`,
  );
}
