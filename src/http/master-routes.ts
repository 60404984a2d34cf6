import type { IncomingMessage, ServerResponse } from 'node:http';
import { assert } from '../core/assert.js';
import type { WriteConcern } from '../core/write-concern.js';
import type { Appended, AppendedOutcome } from '../node/append-outcome.js';
import type { AppendRequest, AppendResult } from '../node/append-outcome.js';
import type { Entry } from '../core/entry.js';
import type { Clock } from '../adapters/clock.js';
import { ApiError, invalidWriteConcern, unauthorizedError } from './api-error.js';
import { AnswerBurst } from './answer-burst.js';
import { appendTarget, checkAppendBody, checkAppendQuery } from './append-request.js';
import {
  entriesJson,
  entryJson,
  plainMessageJson,
  verbatimMessageJson,
  type MessageJson,
} from '../protocol/entry-json.js';
import type { AppendBody } from './schemas.js';
import { isWellFormed } from '../protocol/well-formed.js';
import { readJsonBody, type BodyLimits } from './json-body.js';
import { appendRefusalError } from './refusals.js';
import type { RequestInterceptor } from './replication-endpoint.js';
import { requestFailer, type FailureOptions, type RequestFailer } from './request-failure.js';
import { sendJsonText } from './send-json.js';
import { tokenChecker } from './token.js';

/** What the append endpoint needs of a node: the fixed master, or a failover node in any role. */
export interface AppendingNode {
  readonly clusterSize: number;
  append(request: AppendRequest): Promise<AppendResult>;
  readonly messageJson: (entry: Entry) => string;
}

export interface MasterRouteLimits extends BodyLimits {
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

/** A body or framing error answered: the client may still be sending, so the connection ends. */
const CLOSE = { connection: 'close' };

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

/**
 * The append endpoint, `POST /logs` and its alias `POST /messages`, served on node:http before
 * fastify (createServer's `routes`): every append crosses it, and fastify's pipeline around a
 * route (routing, hooks, content-type parsing, reply serialization) cost more CPU than the
 * append itself. It keeps the route's contract: the API token checked before the body is read,
 * MAX_BODY_BYTES, JSON whatever the Content-Type, the schemas of schemas.ts, and every error in
 * the envelope through the one refusal table. Other methods on these paths go on to fastify.
 */
export function appendEndpoint(
  node: AppendingNode,
  limits: MasterRouteLimits,
  options: FailureOptions,
  clock: Clock,
): RequestInterceptor {
  const authorized = tokenChecker(limits.apiToken);
  const fail = requestFailer(options, 'append');
  const burst = new AnswerBurst(clock);
  return (request, response) => {
    if (request.method !== 'POST') return false;
    const url = request.url ?? '';
    const target = appendTarget(url);
    if (target === undefined) return false;
    if (!authorized(request.headers.authorization)) {
      // Checked before the body is read: a client without the token sends nothing we keep.
      request.resume();
      fail(response, unauthorizedError('API_TOKEN'), url);
      return true;
    }
    readJsonBody(request, limits, (error, body, verbatim) => {
      if (error !== undefined) {
        fail(response, error, url, CLOSE);
        return;
      }
      let appending: Promise<AppendResult>;
      let append: AppendBody;
      let asked: AppendRequest;
      try {
        append = checkAppendBody(body);
        const query = checkAppendQuery(target.query);
        asked = appendRequest(request, append, query.w, node, limits, verbatim);
        appending = node.append(asked);
      } catch (thrown) {
        fail(response, thrown, url);
        return;
      }
      appending.then(
        (result) => {
          const messageJson =
            verbatim && result.kind === 'appended' && holdsVerbatim(result.entries, asked.messages)
              ? verbatimMessageJson
              : node.messageJson;
          const batch = append.messages !== undefined;
          const write = (): void => {
            answer(response, result, batch, target.path, messageJson, fail, url);
          };
          // Answers that waited for other nodes come in bursts already, released together by
          // one replication answer; those of w=1 come one by one, as each append is stored.
          if (result.kind === 'appended' && result.w === 1) burst.add(write);
          else write();
        },
        (thrown: unknown) => {
          fail(response, thrown, url);
        },
      );
    });
    return true;
  };
}

/**
 * Whether the answer's entries hold the messages of a verbatim body (json-body.ts's isVerbatim),
 * so that each is its own JSON once quoted. They do when the append is fresh (the very strings);
 * a replay answers with the entries stored under its key, which may hold other messages.
 */
function holdsVerbatim(entries: readonly Entry[], messages: readonly string[]): boolean {
  if (entries.length !== messages.length) return false;
  for (let index = 0; index < entries.length; index++) {
    if (entries[index]!.message !== messages[index]) return false;
  }
  return true;
}

/** The append a checked request asks for; refused (thrown) when a limit or a header says no. */
function appendRequest(
  request: IncomingMessage,
  append: AppendBody,
  queryW: string | undefined,
  node: AppendingNode,
  limits: MasterRouteLimits,
  verbatim: boolean,
): AppendRequest {
  const { messages, messageBytes } = collectMessages(append, limits, verbatim);
  const idempotencyKey = idempotencyKeyOf(request);
  return {
    messages,
    messageBytes,
    w: readWriteConcern(append.w, queryW, node.clusterSize),
    timeoutMs: append.timeoutMs,
    idempotencyKey,
  };
}

/** The Idempotency-Key header, if any: 1 to 128 printable ASCII characters, sent once. */
function idempotencyKeyOf(request: IncomingMessage): string | undefined {
  const keyHeader = request.headers['idempotency-key'];
  // Node joins a repeated header into one value with ", ": only the distinct view tells, and it
  // is built for every header of the request, so it is asked only when it may say no.
  const keyCount =
    typeof keyHeader === 'string' && keyHeader.includes(', ')
      ? (request.headersDistinct['idempotency-key']?.length ?? 0)
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
  return keyHeader;
}

/** The answer to an append: its entries (201, 200 replayed, 504 timed out), or its refusal. */
function answer(
  response: ServerResponse,
  result: AppendResult,
  batch: boolean,
  path: string,
  messageJson: MessageJson,
  fail: RequestFailer,
  url: string,
): void {
  if (result.kind === 'refused') {
    fail(response, appendRefusalError(result.refusal), url);
    return;
  }
  const first = result.entries[0];
  const location: Record<string, string> =
    first === undefined ? {} : { location: `${path}/${first.id}` };
  sendJsonText(
    response,
    APPENDED_STATUS[result.outcome],
    answerJson(result, batch, messageJson),
    location,
  );
}

/** How a refusal names a message; built only then (a batch of a hundred would build a hundred). */
function messageName(body: AppendBody, index: number): string {
  return body.messages === undefined ? 'message' : `messages[${index}]`;
}

/**
 * The messages of an append, each checked, with its UTF-8 size (which the master keeps). Those of
 * a verbatim body (json-body.ts's isVerbatim) are ASCII: one byte per character, well-formed.
 */
function collectMessages(
  body: AppendBody,
  limits: MasterRouteLimits,
  verbatim: boolean,
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
  const messageBytes = new Array<number>(messages.length);
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index]!;
    const bytes = verbatim ? message.length : Buffer.byteLength(message, 'utf8');
    messageBytes[index] = bytes;
    if (bytes === 0) {
      throw new ApiError(
        400,
        'INVALID_REQUEST',
        `${messageName(body, index)} is empty; a message is a non-empty string, as in {"message":"hi"}`,
      );
    }
    if (!verbatim && !isWellFormed(message)) {
      throw new ApiError(
        400,
        'INVALID_REQUEST',
        `${messageName(body, index)} holds half of a UTF-16 surrogate pair (such as "\\ud800"), which has no UTF-8 form; send well-formed text`,
      );
    }
    if (bytes > limits.maxMessageBytes) {
      throw new ApiError(
        413,
        'MESSAGE_TOO_LARGE',
        `${messageName(body, index)} is ${bytes} bytes, over the limit of ${limits.maxMessageBytes} bytes (MAX_MESSAGE_BYTES); shorten it or raise the limit`,
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
