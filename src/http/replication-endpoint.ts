import type { IncomingMessage, ServerResponse } from 'node:http';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Logger } from '../adapters/logger.js';
import type { ReplicateBatch } from '../core/replica-log.js';
import { parseChecked } from '../protocol/checked-json.js';
import { decodeReplicateBody, type DecodedBatch } from '../protocol/codec.js';
import { REPLICATE_FRAME_TYPE, decodeReplicateFrame } from '../protocol/frame.js';
import { INTERNAL_BODY_LIMIT_BYTES } from '../protocol/limits.js';
import {
  EpochEndRequestBody,
  HeartbeatBody,
  ReplicateBody,
  VoteRequestBody,
} from '../protocol/messages.js';
import { EPOCH_END_PATH, HEARTBEAT_PATH, REPLICATE_PATH, VOTE_PATH } from '../protocol/paths.js';
import type { ReplicaOutcome, ReplicaRefusal } from '../node/secondary-node.js';
import type { InvariantHandler } from '../node/fatal.js';
import { ApiError, unauthorizedError } from './api-error.js';
import { refusalError } from './refusals.js';
import { requestFailer, type RequestFailer } from './request-failure.js';
import { sendApiError, sendJson } from './send-json.js';
import { tokenChecker } from './token.js';

/** What the replication endpoint needs from a secondary. */
export interface ReplicaEndpointNode {
  /** `whenGone` resolves if the master closes the connection before the answer. */
  replicate(batch: ReplicateBatch, whenGone?: () => Promise<void>): Promise<ReplicaOutcome>;
  heartbeat(body: HeartbeatBody, whenGone?: () => Promise<void>): Promise<ReplicaOutcome>;
  /** With failover: a candidate's vote request, a follower's question on where a log diverges. */
  vote?(body: VoteRequestBody): Promise<EndpointOutcome>;
  epochEnd?(body: EpochEndRequestBody): EndpointOutcome;
}

/** What a request to an internal endpoint came to: a body to answer with (200), or a refusal. */
export type EndpointOutcome =
  | { readonly kind: 'replied'; readonly reply: object }
  | { readonly kind: 'refused'; readonly refusal: ReplicaRefusal };

export interface ReplicationEndpointOptions {
  readonly clusterToken: string | undefined;
  readonly logger: Logger;
  readonly maxBodyBytes?: number;
  /** Told of an InvariantError while handling a request; default: stopOnInvariant. */
  readonly onInvariant?: InvariantHandler;
}

/** Answers a request if it is one of ours; false hands it on to the public API's router. */
export type RequestInterceptor = (request: IncomingMessage, response: ServerResponse) => boolean;

interface Route {
  readonly check: ReturnType<typeof TypeCompiler.Compile>;
  readonly handle: (body: never, whenGone: () => Promise<void>) => Promise<EndpointOutcome>;
  /** A body sent as a frame (content type REPLICATE_FRAME_TYPE), on a route that takes one. */
  readonly handleFrame?: (frame: Buffer, whenGone: () => Promise<void>) => Promise<EndpointOutcome>;
}

/** How a request's body is handled once it arrived whole: its decoding is done. */
type BodyHandler = (whenGone: () => Promise<void>) => Promise<EndpointOutcome>;

/**
 * The handler of a whole body: a frame where the route takes one and the content type says so,
 * else JSON of the route's schema; an error (400) when the body is neither.
 */
function bodyHandler(
  route: Route,
  raw: Buffer,
  contentType: string | undefined,
): BodyHandler | ApiError {
  const handleFrame = route.handleFrame;
  if (handleFrame !== undefined && mediaType(contentType) === REPLICATE_FRAME_TYPE) {
    return (whenGone) => handleFrame(raw, whenGone);
  }
  const read = parseChecked(raw.toString('utf8'), route.check, 'body');
  if (!read.ok) return new ApiError(400, 'INVALID_REQUEST', read.error);
  return (whenGone) => route.handle(read.value as never, whenGone);
}

/** `type/subtype` of a Content-Type, without parameters, in lower case. */
function mediaType(contentType: string | undefined): string {
  const semicolon = contentType?.indexOf(';') ?? -1;
  return (semicolon < 0 ? (contentType ?? '') : contentType!.slice(0, semicolon))
    .trim()
    .toLowerCase();
}

/** The failover node's routes, when it is one: votes and epoch-end questions. */
function failoverRoutes(node: ReplicaEndpointNode): [string, Route][] {
  if (node.vote === undefined || node.epochEnd === undefined) return [];
  const vote = (body: VoteRequestBody): Promise<EndpointOutcome> =>
    node.vote?.(body) ?? Promise.reject(new Error('no vote handler'));
  const epochEnd = (body: EpochEndRequestBody): EndpointOutcome | undefined =>
    node.epochEnd?.(body);
  return [
    [
      VOTE_PATH,
      {
        check: TypeCompiler.Compile(VoteRequestBody),
        handle: (body: VoteRequestBody) => vote(body),
      },
    ],
    [
      EPOCH_END_PATH,
      {
        check: TypeCompiler.Compile(EpochEndRequestBody),
        handle: (body: EpochEndRequestBody) => {
          const outcome = epochEnd(body);
          return outcome === undefined
            ? Promise.reject(new Error('no epoch-end handler'))
            : Promise.resolve(outcome);
        },
      },
    ],
  ];
}

/**
 * The secondary's half of the HTTP replication transport: `POST /internal/replicate` and
 * `POST /internal/heartbeat`, served straight on node:http rather than through the public API's
 * framework. Every batch of replication crosses this path, so it does only what the contract
 * needs: the cluster token (constant time), a bounded body, a batch as a frame (frame.ts, what
 * the master sends) or JSON of the schema (requests made by hand), the node's answer, and errors
 * in the same envelope as everywhere else.
 */
export function replicationEndpoint(
  node: ReplicaEndpointNode,
  options: ReplicationEndpointOptions,
): RequestInterceptor {
  const authorized = tokenChecker(options.clusterToken);
  const maxBodyBytes = options.maxBodyBytes ?? INTERNAL_BODY_LIMIT_BYTES;
  const routes = replicationRoutes(node);

  const fail = requestFailer(options, 'replication request');

  return (request, response) => {
    const url = request.url ?? '';
    const query = url.indexOf('?');
    const route = routes.get(query < 0 ? url : url.slice(0, query));
    if (route === undefined) return false;
    if (request.method !== 'POST') {
      request.resume();
      fail(
        response,
        new ApiError(404, 'NOT_FOUND', `no route ${request.method ?? '?'} ${url}`),
        url,
      );
      return true;
    }
    if (!authorized(request.headers.authorization)) {
      request.resume();
      fail(response, unauthorizedError(), url);
      return true;
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) {
      // Not read: answered, and the connection closed after the answer.
      response.setHeader('connection', 'close');
      fail(response, tooLarge(declared, maxBodyBytes), url);
      return true;
    }
    receiveBody(request, response, route, maxBodyBytes, fail, url);
    return true;
  };
}

/** The secondary's routes by path: batches (JSON or a frame), heartbeats, and failover's. */
function replicationRoutes(node: ReplicaEndpointNode): Map<string, Route> {
  return new Map<string, Route>([
    [
      REPLICATE_PATH,
      {
        check: TypeCompiler.Compile(ReplicateBody),
        handle: (body: ReplicateBody, whenGone) =>
          node.replicate(decodedBatch(decodeReplicateBody(body)), whenGone),
        handleFrame: (frame, whenGone) =>
          node.replicate(decodedBatch(decodeReplicateFrame(frame)), whenGone),
      },
    ],
    [
      HEARTBEAT_PATH,
      {
        check: TypeCompiler.Compile(HeartbeatBody),
        handle: (body, whenGone) => node.heartbeat(body, whenGone),
      },
    ],
    ...failoverRoutes(node),
  ]);
}

/**
 * Collects a request's body up to `maxBodyBytes` (a chunked body over it is answered 413 as it
 * crosses it), then hands it to its route's handler and sends what the node made of it. Kept
 * whole, so that a request's listeners share one closure context: every batch comes this way.
 */
function receiveBody(
  request: IncomingMessage,
  response: ServerResponse,
  route: Route,
  maxBodyBytes: number,
  fail: RequestFailer,
  url: string,
): void {
  const chunks: Buffer[] = [];
  let received = 0;
  request.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > maxBodyBytes) {
      // A chunked body has no declared length: stop collecting at the limit, answer, and close
      // the connection once the answer is out.
      if (!response.headersSent) {
        response.setHeader('connection', 'close');
        fail(response, tooLarge(received, maxBodyBytes), url);
        chunks.length = 0;
        request.pause();
      }
      return;
    }
    chunks.push(chunk);
  });
  request.on('end', () => {
    if (received > maxBodyBytes) return;
    const handler = bodyHandler(
      route,
      Buffer.concat(chunks, received),
      request.headers['content-type'],
    );
    if (handler instanceof ApiError) {
      fail(response, handler, url);
      return;
    }
    let handled: Promise<EndpointOutcome>;
    try {
      // Only a request that is held asks: one listener then, none on the usual path.
      const whenGone = (): Promise<void> =>
        new Promise((resolve) => {
          if (response.destroyed || request.socket.destroyed) {
            resolve();
            return;
          }
          response.once('close', () => {
            resolve();
          });
        });
      handled = handler(whenGone);
    } catch (error) {
      fail(response, error, url);
      return;
    }
    handled.then(
      (outcome) => {
        sendOutcome(response, outcome);
      },
      (error: unknown) => {
        fail(response, error, url);
      },
    );
  });
}

/** The node's answer (200), or the refusal's error; none for a request the master abandoned. */
function sendOutcome(response: ServerResponse, outcome: EndpointOutcome): void {
  if (outcome.kind === 'replied') {
    sendJson(response, 200, outcome.reply);
    return;
  }
  // No answer for an abandoned request: the master closed the connection.
  const refused = refusalError(outcome.refusal);
  if (refused !== undefined) sendApiError(response, refused);
}

/** The batch of a decoding, or the 400 that says why there is none. */
function decodedBatch(decoded: DecodedBatch): ReplicateBatch {
  if (!decoded.ok) throw new ApiError(400, 'INVALID_REQUEST', decoded.error);
  return decoded.batch;
}

function tooLarge(bytes: number, limit: number): ApiError {
  return new ApiError(
    413,
    'MESSAGE_TOO_LARGE',
    `replication body of ${bytes} bytes is over the limit of ${limit} bytes; lower MAX_BATCH_BYTES on the master`,
  );
}
