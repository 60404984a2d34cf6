import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Clock } from '../adapters/clock.js';
import type { Logger } from '../adapters/logger.js';
import { OPTIONS } from '../config/config.js';
import { InvariantError } from '../core/assert.js';
import { stopOnInvariant, type InvariantHandler } from '../node/fatal.js';
import { ApiError, describeValue, unauthorizedError, type TokenKind } from './api-error.js';
import { knownApiError } from './refusals.js';
import { BodyBudget } from './body-budget.js';
import { bodyTooLarge, parseJsonBody } from './json-body.js';
import { sendApiError } from './send-json.js';
import { INTERNAL_BODY_LIMIT_BYTES } from '../protocol/limits.js';
import { INTERNAL_PATH_PREFIX } from '../protocol/paths.js';
import type { RequestInterceptor } from './replication-endpoint.js';
import { tokenChecker } from './token.js';

export interface ServerOptions {
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  readonly maxMessageBytes: number;
  /** Default: the options' defaults. */
  readonly limits?: ConnectionLimits;
  /** Requests it answers never reach fastify: the replication endpoint of secondaries. */
  readonly intercept?: RequestInterceptor;
  /**
   * Public routes served on node:http before fastify (the append endpoint, master-routes.ts):
   * like fastify's, refused with 503 SHUTTING_DOWN once the server closes.
   */
  readonly routes?: RequestInterceptor;
  /** Serve HTTPS with this certificate and key; absent: plain HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string } | undefined;
  /**
   * Told of an InvariantError raised while handling a request (a handler, a hook, the
   * interceptor); default: stopOnInvariant, which logs it and ends the process. The request gets
   * no answer of its own.
   */
  readonly onInvariant?: InvariantHandler;
  /** What the body budget reads deadlines from and sweeps on. */
  readonly clock: Clock;
}

/** What one client may hold of a node: see the options of the same names in config.ts. */
export interface ConnectionLimits {
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxInflightBodyBytes: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxHeaderBytes: OPTIONS.maxHeaderBytes.defaultValue,
  headersTimeoutMs: OPTIONS.headersTimeoutMs.defaultValue,
  requestTimeoutMs: OPTIONS.requestTimeoutMs.defaultValue,
  maxConnections: OPTIONS.maxConnections.defaultValue,
  maxInflightBodyBytes: OPTIONS.maxInflightBodyBytes.defaultValue,
};

/** Above the clients' usual idle allowance, so that we are not the side that closes first. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Connections accepted over MAX_CONNECTIONS only to be told 503 OVERLOADED. */
const CONNECTION_HEADROOM = 64;
/** How long a connection we answered and ended may take to close from the client's side. */
const CLOSE_GRACE_MS = 1000;
/** How often Node checks the header and request timeouts (its default, 30 s, would blur them). */
const TIMEOUT_CHECK_INTERVAL_MS = 250;

/**
 * A fastify instance with what every node shares: JSON bodies whatever the content type (curl's
 * `-d` without a header still works), the error envelope for every failure, and quiet request
 * logging (events are logged by the nodes, not every request).
 */
export function createServer(options: ServerOptions): FastifyInstance {
  const intercept = options.intercept;
  const routes = options.routes;
  const limits = options.limits ?? DEFAULT_CONNECTION_LIMITS;
  const budget = new BodyBudget(limits.maxInflightBodyBytes, options.clock);
  const onInvariant =
    options.onInvariant ??
    ((error, context) => {
      stopOnInvariant(options.logger, error, context);
    });
  let openConnections = 0;
  /** Set once the server starts closing: requests still arriving get 503 SHUTTING_DOWN. */
  let closing = false;
  const app = Fastify({
    // Typed as fastify's base logger so that every route module can take a plain FastifyInstance;
    // pino's Logger is one, with extra generic parameters fastify's types would otherwise carry.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: options.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
    // There is no socket idle timeout: an append may rightly wait long for its w. The request
    // timeout covers receiving the request only, never the wait for its answer.
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: 0,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // Answered in our envelope instead, before fastify sees the request: see refuseClosing.
    return503OnClosing: false,
    ajv: ajvOptions(),
    // Errors fastify finds before routing (a malformed %-escape, an over-long path parameter)
    // get the envelope too.
    frameworkErrors: answerFrameworkError,
    // Requests Node's HTTP parser cannot read: answered in the envelope, and the connection
    // ended after the answer (never reset under it), since nothing more can be read from it.
    clientErrorHandler: answerClientError,
    // Our own server, so that the body budget and the interceptor see each request before
    // fastify's router does. Slow or half-open clients are cut off by the header and request
    // timeouts (408), idle connections that never send a request by the header timeout.
    serverFactory: (handler) => {
      const onRequest = (request: IncomingMessage, response: ServerResponse): void => {
        if (openConnections > limits.maxConnections) {
          refuseOverConnectionLimit(request, response, openConnections, limits.maxConnections);
          return;
        }
        if (isCrossSite(request)) {
          refuseCrossSite(request, response);
          return;
        }
        // Internal replication bodies have a limit of their own (the master's batches).
        const limitBytes = request.url?.startsWith(INTERNAL_PATH_PREFIX)
          ? INTERNAL_BODY_LIMIT_BYTES
          : options.maxBodyBytes;
        if (!budget.admit(request, response, limitBytes)) return;
        normalizeContentType(request);
        if (intercept !== undefined && intercept(request, response)) return;
        if (closing) refuseClosing(request, response);
        else if (routes === undefined || !routes(request, response)) handler(request, response);
      };
      const server = nodeServer(limits, options.tls, onRequest);
      server.on('connection', (socket: Duplex) => {
        openConnections += 1;
        socket.once('close', () => {
          openConnections -= 1;
        });
      });
      return server;
    },
  });

  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    budget.close();
    done();
  });
  readBodiesAsJson(app);
  app.setNotFoundHandler(answerNotFound);
  setErrorEnvelope(app, onInvariant, options);
  return app;
}

/**
 * What ajv compiles the route schemas with: no coercion, the first error only, nothing removed.
 * A new object for each server, so that none shares another's.
 */
function ajvOptions(): { customOptions: Record<string, boolean> } {
  return {
    customOptions: {
      coerceTypes: false,
      allErrors: false,
      removeAdditional: false,
      // No check of each route schema against JSON Schema's meta-schema: compiling that
      // meta-schema took ~20 ms of a node's ~430 ms start. Ajv's strict mode still refuses a
      // schema with an unknown keyword or a malformed value as it compiles it, at start.
      validateSchema: false,
    },
  };
}

/** A request fastify cannot route (a malformed %-escape, an over-long path parameter): 400. */
function answerFrameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const problem =
    error.code === 'FST_ERR_BAD_URL'
      ? 'the path holds a malformed %-escape; encode it as UTF-8 with %XX'
      : 'a part of the path is too long; an id has at most 15 digits';
  void reply.code(400).send(new ApiError(400, 'INVALID_REQUEST', problem).toBody());
}

/**
 * The node:http (or node:https) server under fastify, with the header and request timeouts and
 * the connection limit; `onRequest` sees every request first.
 */
function nodeServer(
  limits: ConnectionLimits,
  tls: ServerOptions['tls'],
  onRequest: (request: IncomingMessage, response: ServerResponse) => void,
): HttpServer | HttpsServer {
  const serverOptions = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    maxHeaderSize: limits.maxHeaderBytes,
  };
  const server =
    tls === undefined
      ? createHttpServer(serverOptions, onRequest)
      : createHttpsServer(
          // A connection that never completes its TLS handshake is dropped like one that never
          // sends its headers.
          {
            ...serverOptions,
            cert: tls.cert,
            key: tls.key,
            handshakeTimeout: limits.headersTimeoutMs,
          },
          onRequest,
        );
  server.timeout = 0;
  // Over MAX_CONNECTIONS, requests are answered 503 OVERLOADED (Retry-After) and their
  // connection closed, so a client learns why; beyond a small headroom for those answers,
  // new connections are closed at once. Waiting appends hold their connection, so this is
  // what a flood of them meets first.
  server.maxConnections = limits.maxConnections + CONNECTION_HEADROOM;
  return server;
}

/** Every body is read as JSON, whatever its content type; a malformed one is a 400. */
function readBodiesAsJson(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    let parsed: unknown;
    try {
      parsed = parseJsonBody(body as string);
    } catch (error) {
      done(error as ApiError, undefined);
      return;
    }
    done(null, parsed);
  });
}

function answerNotFound(request: FastifyRequest, reply: FastifyReply): void {
  const error = new ApiError(
    404,
    'NOT_FOUND',
    `no route ${request.method} ${request.url.split('?')[0] ?? ''}`,
  );
  void reply.code(404).send(error.toBody());
}

/**
 * Every failed request answered in the error envelope (an unknown error as 500 INTERNAL_ERROR,
 * logged); a broken invariant gets no answer and goes to `onInvariant`.
 */
function setErrorEnvelope(
  app: FastifyInstance,
  onInvariant: InvariantHandler,
  options: ServerOptions,
): void {
  app.setErrorHandler((error: unknown, request, reply) => {
    if (error instanceof InvariantError) {
      // The node's state can no longer be trusted: no answer, whatever the request was.
      onInvariant(error, { method: request.method, url: request.url });
      reply.raw.destroy();
      return;
    }
    const apiError = toApiError(error, request, options);
    if (apiError.statusCode >= 500 && apiError.code === 'INTERNAL_ERROR') {
      request.log.error(
        { event: 'internal-error', err: error, url: request.url },
        'request failed with an internal error',
      );
    }
    void reply.code(apiError.statusCode).headers(apiError.headers).send(apiError.toBody());
  });
}

/** A media type as fastify's content-type parser accepts it: type/subtype, then parameters. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+[ \t]*(?:;.*)?$/;

/**
 * Bodies are JSON whatever their Content-Type (curl's `-d` sends a form type); a header that is
 * not even a media type (`foo`, empty) is read the same way instead of fastify's 415.
 */
function normalizeContentType(request: IncomingMessage): void {
  const type = request.headers['content-type'];
  if (type !== undefined && !MEDIA_TYPE.test(type.trimStart())) {
    request.headers['content-type'] = 'application/json';
  }
}

/**
 * A request that changes something, sent by a browser on behalf of another site's page: any web
 * page could otherwise append to a cluster on localhost (a form posts text/plain, which the API
 * reads as JSON). curl and other clients send no Origin; the dashboard's own requests come from
 * the same origin.
 */
function isCrossSite(request: IncomingMessage): boolean {
  const method = request.method;
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return false;
  const headers = request.headers;
  if (headers['sec-fetch-site'] === 'cross-site') return true;
  const origin = headers.origin;
  if (origin === undefined || origin === '') return false;
  try {
    return new URL(origin).host !== headers.host;
  } catch {
    // "null" (a sandboxed page or a file) and other opaque origins.
    return true;
  }
}

function refuseCrossSite(request: IncomingMessage, response: ServerResponse): void {
  request.resume();
  sendApiError(
    response,
    new ApiError(
      403,
      'CROSS_SITE_REQUEST',
      `a browser page from ${describeValue(request.headers.origin ?? 'another site')} may not change this cluster; use the dashboard on this node, or a client that is not a browser`,
    ),
  );
}

function refuseOverConnectionLimit(
  request: IncomingMessage,
  response: ServerResponse,
  open: number,
  limit: number,
): void {
  request.resume();
  sendApiError(
    response,
    new ApiError(
      503,
      'OVERLOADED',
      `${open} connections are open (limit ${limit}, MAX_CONNECTIONS); nothing was stored, retry later`,
      {},
      { 'retry-after': '1' },
    ),
    { connection: 'close' },
  );
}

/**
 * A request that arrives while the server closes (on a connection kept alive from before):
 * 503 SHUTTING_DOWN in the envelope, and the connection closed after the answer, so that the
 * client's next request opens a connection to a node that is up.
 */
function refuseClosing(request: IncomingMessage, response: ServerResponse): void {
  request.resume();
  sendApiError(
    response,
    new ApiError(
      503,
      'SHUTTING_DOWN',
      'this node is stopping; nothing was done. Retry in a moment, or on another node',
      {},
      { 'retry-after': '1' },
    ),
    { connection: 'close' },
  );
}

/** Node's parser errors, as the answers they get. */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code = error.code ?? '';
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL')) {
    // No TLS session to answer in (a handshake that failed or never came): just close.
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [
          408,
          'Request Timeout',
          'the request did not arrive whole in time (REQUEST_TIMEOUT_MS / HEADERS_TIMEOUT_MS)',
        ]
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [
            431,
            'Request Header Fields Too Large',
            'the request line and headers are over MAX_HEADER_BYTES; send fewer or shorter headers',
          ]
        : [400, 'Bad Request', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify(new ApiError(status, 'INVALID_REQUEST', message).toBody());
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    // A client that never closes its side would keep the half-closed socket forever.
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  } else {
    socket.destroy();
  }
}

function toApiError(error: unknown, request: FastifyRequest, options: ServerOptions): ApiError {
  const known = knownApiError(error);
  if (known !== undefined) return known;
  const fastifyError = error as {
    code?: string;
    statusCode?: number;
    validation?: unknown;
    validationContext?: string;
    message?: string;
  };
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return bodyTooLarge(request.headers['content-length'], options);
  }
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    // normalizeContentType leaves fastify no header it cannot parse; should one get through, it
    // gets the documented 400 rather than fastify's 415.
    return new ApiError(
      400,
      'INVALID_REQUEST',
      `Content-Type ${describeValue(request.headers['content-type'] ?? '')} is not a media type; send application/json, or no Content-Type`,
    );
  }
  if (fastifyError.validation !== undefined) {
    return new ApiError(
      400,
      'INVALID_REQUEST',
      `${fastifyError.validationContext ?? 'request'}: ${describeValidation(error, routeSchema(request, fastifyError.validationContext))}`,
    );
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new ApiError(status, 'INVALID_REQUEST', fastifyError.message ?? 'invalid request');
  }
  return new ApiError(500, 'INTERNAL_ERROR', 'internal error; see the node log');
}

type ValidationIssue = {
  instancePath?: string;
  schemaPath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
};

/** The route's schema for one part of the request (`body`, `querystring`, `params`, `headers`). */
function routeSchema(request: FastifyRequest, context: string | undefined): unknown {
  if (context === undefined) return undefined;
  return (request.routeOptions.schema as Record<string, unknown> | undefined)?.[context];
}

/** What ajv's first error says, naming the field (and for an unknown field, the allowed ones). */
function describeValidation(error: unknown, schema: unknown): string {
  const first = (error as { validation: ValidationIssue[] }).validation[0];
  if (first === undefined) return 'is invalid';
  const missing = first.params?.['missingProperty'];
  const path = (first.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  const unknownField = first.params?.['additionalProperty'];
  if (first.keyword === 'additionalProperties' && typeof unknownField === 'string') {
    const allowed = allowedFields(schema, first.schemaPath);
    return `${path === '' ? '' : `${path}: `}unknown field ${describeValue(unknownField)}${allowed.length === 0 ? '; remove it' : `; the allowed fields are ${allowed.join(', ')}`}`;
  }
  const field = typeof missing === 'string' ? missing : path;
  if (field === '') return 'must be a JSON object';
  if (first.keyword === 'pattern')
    return `${field} must be a non-negative integer of at most 15 digits`;
  return `${field} ${first.message ?? 'is invalid'}`;
}

/**
 * The property names of the object schema holding the failed keyword: `schemaPath` is ajv's JSON
 * pointer to it (`#/additionalProperties`, `#/properties/x/additionalProperties`). Empty when the
 * schema is not at hand or not a plain object schema.
 */
function allowedFields(schema: unknown, schemaPath: string | undefined): string[] {
  if (schemaPath?.startsWith('#') !== true) return [];
  const steps = schemaPath.slice(1).split('/').slice(1, -1);
  let node = schema;
  for (const step of steps) {
    if (typeof node !== 'object' || node === null) return [];
    node = (node as Record<string, unknown>)[step.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  const properties = (node as { properties?: unknown } | undefined)?.properties;
  return typeof properties === 'object' && properties !== null ? Object.keys(properties) : [];
}

/** A hook that refuses requests without `token` (401 naming which one); none without a token. */
export function requireToken(
  token: string | undefined,
  kind: TokenKind = 'CLUSTER_TOKEN',
):
  | ((request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void)
  | undefined {
  if (token === undefined) return undefined;
  const authorized = tokenChecker(token);
  return (request, _reply, done) => {
    if (authorized(request.headers.authorization)) {
      done();
      return;
    }
    done(unauthorizedError(kind));
  };
}
