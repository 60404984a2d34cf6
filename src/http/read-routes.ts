import type { FastifyInstance } from 'fastify';
import type { Entry } from '../core/entry.js';
import { ApiError } from './api-error.js';
import { EntryParams, ReadQuery } from './schemas.js';

/** What the read endpoints need from a node, master or secondary. */
export interface ReadableNode {
  read(sinceId: number, limit: number): Entry[];
  get(id: number): Entry | undefined;
  health(): object;
}

/** Serializes entries as the public `[{"id":1,"message":"..."}]`, without copying each entry. */
export function entriesJson(entries: readonly Entry[]): string {
  let out = '[';
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    if (index > 0) out += ',';
    out += `{"id":${entry.id},"message":${JSON.stringify(entry.message)}}`;
  }
  return out + ']';
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

export function registerReadRoutes(
  app: FastifyInstance,
  node: ReadableNode,
  maxReadLimit: number,
): void {
  for (const base of ['/logs', '/messages']) {
    app.get<{ Querystring: ReadQuery }>(
      base,
      { schema: { querystring: ReadQuery } },
      (request, reply) => {
        const since = request.query.since === undefined ? 0 : parseId(request.query.since, 'since');
        const limit =
          request.query.limit === undefined
            ? Number.MAX_SAFE_INTEGER
            : Math.min(parseId(request.query.limit, 'limit'), maxReadLimit);
        void reply
          .type('application/json; charset=utf-8')
          .send(entriesJson(node.read(since, limit)));
      },
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
