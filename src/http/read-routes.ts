import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvariantError } from '../core/assert.js';
import type { Entry } from '../core/entry.js';
import { entriesJson, entryJson } from '../protocol/entry-json.js';
import { ApiError } from './api-error.js';
import type { StreamedLog } from './follow-stream.js';
import {
  registerFollowRoutes,
  type FollowEdges,
  type FollowLimits,
  type LongPoll,
} from './follow-routes.js';
import { EntryParams, ReadQuery } from './schemas.js';

/** What the read endpoints need from a node, master or secondary. */
export interface ReadableNode extends StreamedLog {
  get(id: number): Entry | undefined;
  health(): object;
}

/** The read options (config.ts): MAX_READ_LIMIT and those of following. */
export interface ReadLimits extends FollowLimits {
  readonly maxReadLimit: number;
}

/** Entries serialized per step of a streamed read: about 120 kB of JSON for 100-byte messages. */
export const READ_CHUNK_ENTRIES = 1000;

/**
 * A large read as a stream of JSON, one chunk of entries per event-loop turn: the whole log is
 * never one string in memory, and appends are served between chunks instead of waiting for the
 * end. It shows ids `sinceId + 1 .. upToId`, fixed when the read starts; the log only grows, so
 * that prefix stays as it was.
 */
export class EntriesJsonStream extends Readable {
  readonly #firstId: number;
  #nextId: number;

  constructor(
    private readonly node: Pick<ReadableNode, 'read'>,
    sinceId: number,
    private readonly upToId: number,
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.#firstId = sinceId + 1;
    this.#nextId = sinceId + 1;
  }

  override _read(): void {
    // setImmediate, not a direct push: a socket that drains at once would otherwise keep the
    // stream producing chunk after chunk without ever returning to the event loop.
    setImmediate(() => {
      try {
        this.#produce();
      } catch (error) {
        // A broken invariant (an entry read back is not what the index says) is no disk error:
        // thrown on, it reaches the process's handler, which stops the node (node/fatal.ts).
        if (error instanceof InvariantError) throw error;
        // A failed read (a disk error) ends the answer early, as a dropped connection: never as
        // a shorter array that would look whole.
        this.destroy(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  #produce(): void {
    if (this.destroyed) return;
    const count = Math.min(READ_CHUNK_ENTRIES, this.upToId - this.#nextId + 1);
    const entries = count > 0 ? this.node.read(this.#nextId - 1, count) : [];
    let out = this.#nextId === this.#firstId ? '[' : '';
    for (const entry of entries) {
      if (entry.id !== this.#firstId) out += ',';
      out += entryJson(entry);
    }
    this.#nextId += entries.length;
    // A short read ends the array where the log ends; it cannot shrink, so this is only a guard.
    if (entries.length < count || this.#nextId > this.upToId) {
      this.push(`${out}]`);
      this.push(null);
      return;
    }
    this.push(out);
  }
}

function parseId(raw: string, what: string): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) {
    throw new ApiError(
      400,
      'INVALID_REQUEST',
      `${what} must be a non-negative integer; got "${raw}"`,
    );
  }
  return value;
}

/** Answers entries `since + 1 ..`, at most `limit`, as a plain read: in one piece or streamed. */
function sendEntries(
  reply: FastifyReply,
  node: ReadableNode,
  since: number,
  limit: number,
): FastifyReply {
  const count = Math.max(0, Math.min(limit, node.lastVisibleId() - since));
  void reply.type('application/json; charset=utf-8');
  if (count <= READ_CHUNK_ENTRIES) return reply.send(entriesJson(node.read(since, count)));
  return reply.send(new EntriesJsonStream(node, since, since + count));
}

/**
 * `GET /logs`: the visible log after `since`, at most `limit`. With `waitMs`, a read that would
 * answer `[]` first waits for a new entry (the long poll), then answers the same way.
 */
function readHandler(
  node: ReadableNode,
  maxReadLimit: number,
  longPoll: LongPoll,
): (request: FastifyRequest<{ Querystring: ReadQuery }>, reply: FastifyReply) => Promise<unknown> {
  return async (request, reply) => {
    const query = request.query;
    const since = query.since === undefined ? 0 : parseId(query.since, 'since');
    const limit =
      query.limit === undefined
        ? Number.MAX_SAFE_INTEGER
        : Math.min(parseId(query.limit, 'limit'), maxReadLimit);
    const waitMs = query.waitMs === undefined ? 0 : parseId(query.waitMs, 'waitMs');
    if (waitMs > 0 && limit > 0 && node.lastVisibleId() <= since) {
      await longPoll(since, waitMs, reply.raw);
    }
    return sendEntries(reply, node, since, limit);
  };
}

export function registerReadRoutes(
  app: FastifyInstance,
  node: ReadableNode,
  limits: ReadLimits,
  edges: FollowEdges,
): void {
  const longPoll = registerFollowRoutes(app, node, limits, edges);
  for (const base of ['/logs', '/messages']) {
    app.get<{ Querystring: ReadQuery }>(
      base,
      { schema: { querystring: ReadQuery } },
      readHandler(node, limits.maxReadLimit, longPoll),
    );
    app.get<{ Params: EntryParams }>(
      `${base}/:id`,
      { schema: { params: EntryParams } },
      (request, reply) => {
        const id = parseId(request.params.id, 'id');
        const entry = node.get(id);
        if (entry === undefined)
          throw new ApiError(404, 'NOT_FOUND', `no entry with id ${id} on this node`);
        void reply.send({ id: entry.id, message: entry.message });
      },
    );
  }
  app.get('/health', () => node.health());
}
