import type { FastifyInstance } from 'fastify';
import { assert } from '../core/assert.js';
import type { WriteConcern } from '../core/write-concern.js';
import type { Appended, AppendedOutcome } from '../node/append-outcome.js';
import type { AppendRequest, AppendResult } from '../node/append-outcome.js';
import type { Entry } from '../core/entry.js';

/** What the append routes need of a node: the fixed master, or a failover node in any role. */
export interface AppendingNode {
  readonly clusterSize: number;
  append(request: AppendRequest): Promise<AppendResult>;
  readonly messageJson: (entry: Entry) => string;
}
import { ApiError, invalidWriteConcern } from './api-error.js';
import { requireToken } from './create-server.js';
import {
  entriesJson,
  entryJson,
  plainMessageJson,
  type MessageJson,
} from '../protocol/entry-json.js';
import { AppendBody, AppendQuery } from './schemas.js';
import { isWellFormed } from '../protocol/well-formed.js';
import { appendRefusalError } from './refusals.js';

export interface MasterRouteLimits {
  readonly maxMessageBytes: number;
  readonly maxBatchCount: number;
  /** When set, appends need `Authorization: Bearer <apiToken>` (401 otherwise). */
  readonly apiToken?: string | undefined;
}

/** The status of each way an append is answered with its entries. */
const APPENDED_STATUS: Readonly<Record<AppendedOutcome, 200 | 201 | 504>> = {
  created: 201,
  replayed: 200,
  'timed-out': 504,
};

const IDEMPOTENCY_KEY = /^[\x20-\x7E]{1,128}$/;

/**
 * The write concern from the body (a JSON number or string) or, without one, from `?w=` (always a
 * string). Anything else is refused here with the allowed range named.
 */
function readWriteConcern(
  bodyW: unknown,
  queryW: string | undefined,
  clusterSize: number,
): WriteConcern | undefined {
  if (bodyW === undefined) {
    if (queryW === undefined) return undefined;
    if (queryW === 'majority' || queryW === 'all') return queryW;
    if (/^[0-9]{1,6}$/.test(queryW)) return Number(queryW);
    throw invalidWriteConcern(queryW, clusterSize);
  }
  if (bodyW === 'majority' || bodyW === 'all') return bodyW;
  if (typeof bodyW === 'number' && Number.isInteger(bodyW)) return bodyW;
  throw invalidWriteConcern(bodyW, clusterSize);
}

/** The append endpoint, `POST /logs` and its alias `POST /messages`. */
export function registerMasterRoutes(
  app: FastifyInstance,
  node: AppendingNode,
  limits: MasterRouteLimits,
): void {
  const auth = requireToken(limits.apiToken, 'API_TOKEN');
  for (const path of ['/logs', '/messages']) {
    app.post<{ Body: AppendBody; Querystring: AppendQuery }>(
      path,
      {
        schema: { body: AppendBody, querystring: AppendQuery },
        // Checked before the body is read: a client without the token sends nothing we keep.
        ...(auth === undefined ? {} : { onRequest: auth }),
      },
      async (request, reply) => {
        const body = request.body as unknown;
        if (
          body === undefined ||
          body === null ||
          typeof body !== 'object' ||
          Array.isArray(body)
        ) {
          throw new ApiError(
            400,
            'INVALID_REQUEST',
            'body must be a JSON object such as {"message":"hi"}',
          );
        }
        const append = body as AppendBody;
        const { messages, messageBytes } = collectMessages(append, limits);
        const keyHeader = request.headers['idempotency-key'];
        // Node joins a repeated header into one value with ", ": only the distinct view tells,
        // and it is built for every header of the request, so it is asked only when it may say no.
        const keyCount =
          keyHeader !== undefined && !Array.isArray(keyHeader) && keyHeader.includes(', ')
            ? (request.raw.headersDistinct['idempotency-key']?.length ?? 0)
            : 1;
        if (
          Array.isArray(keyHeader) ||
          keyCount > 1 ||
          (keyHeader !== undefined && !IDEMPOTENCY_KEY.test(keyHeader))
        ) {
          throw new ApiError(
            400,
            'INVALID_REQUEST',
            'Idempotency-Key must be 1 to 128 printable ASCII characters, sent once',
          );
        }
        const result = await node.append({
          messages,
          messageBytes,
          w: readWriteConcern(append.w, request.query.w, node.clusterSize),
          timeoutMs: append.timeoutMs,
          idempotencyKey: keyHeader,
        });
        if (result.kind === 'refused') throw appendRefusalError(result.refusal);
        const payload = answerJson(result, append.messages !== undefined, node.messageJson);
        const first = result.entries[0];
        if (first !== undefined) void reply.header('location', `${path}/${first.id}`);
        return reply
          .code(APPENDED_STATUS[result.outcome])
          .type('application/json; charset=utf-8')
          .send(payload);
      },
    );
  }
}

/** The messages of an append, each checked, with its UTF-8 size (which the master keeps). */
function collectMessages(
  body: AppendBody,
  limits: MasterRouteLimits,
): { readonly messages: readonly string[]; readonly messageBytes: readonly number[] } {
  if (body.message !== undefined && body.messages !== undefined) {
    throw new ApiError(
      400,
      'INVALID_REQUEST',
      'send either "message" (one) or "messages" (a batch), not both',
    );
  }
  const messages = body.messages ?? (body.message === undefined ? undefined : [body.message]);
  if (messages === undefined) {
    throw new ApiError(
      400,
      'INVALID_REQUEST',
      'body needs "message": a non-empty string, as in {"message":"hi"}',
    );
  }
  if (messages.length > limits.maxBatchCount) {
    throw new ApiError(
      413,
      'MESSAGE_TOO_LARGE',
      `batch of ${messages.length} messages is over the limit of ${limits.maxBatchCount} (MAX_BATCH_COUNT); split it`,
    );
  }
  const messageBytes: number[] = [];
  for (const [index, message] of messages.entries()) {
    const bytes = Buffer.byteLength(message, 'utf8');
    messageBytes.push(bytes);
    const which = body.messages === undefined ? 'message' : `messages[${index}]`;
    if (bytes === 0) {
      throw new ApiError(
        400,
        'INVALID_REQUEST',
        `${which} is empty; a message is a non-empty string, as in {"message":"hi"}`,
      );
    }
    if (!isWellFormed(message)) {
      throw new ApiError(
        400,
        'INVALID_REQUEST',
        `${which} holds half of a UTF-16 surrogate pair (such as "\\ud800"), which has no UTF-8 form; send well-formed text`,
      );
    }
    if (bytes > limits.maxMessageBytes) {
      throw new ApiError(
        413,
        'MESSAGE_TOO_LARGE',
        `${which} is ${bytes} bytes, over the limit of ${limits.maxMessageBytes} bytes (MAX_MESSAGE_BYTES); shorten it or raise the limit`,
      );
    }
  }
  return { messages, messageBytes };
}

/**
 * The answer's JSON, written directly: a batch append answers with every entry it created, and
 * building an object per entry only to serialize it again is the largest avoidable cost of a
 * batch. Same fields, same order as `{status, log | logs, w, acks}` (plus `error` on 504).
 */
export function answerJson(
  result: Appended,
  batch: boolean,
  messageJson: MessageJson = plainMessageJson,
): string {
  const first = result.entries[0];
  assert(first !== undefined, 'an append answers with at least one entry');
  const logs = batch
    ? `"logs":${entriesJson(result.entries, messageJson)}`
    : `"log":${entryJson(first, messageJson)}`;
  const tail = `${logs},"w":${result.w},"acks":${result.acks}}`;
  if (result.outcome === 'timed-out') {
    const message = `stored, but only ${result.acks} of the ${result.w} nodes asked for held it when timeoutMs passed; it will still be replicated`;
    return `{"status":"error","error":{"code":"WRITE_CONCERN_TIMEOUT","message":${JSON.stringify(message)}},${tail}`;
  }
  return `{"status":"success",${tail}`;
}
