import type { TObject, TSchema } from '@sinclair/typebox';
import { FaultsBody, StopBody } from '../protocol/messages.js';
import { FAILOVER_RESPONSE_SCHEMAS } from './failover-response-schemas.js';
import { RESPONSE_SCHEMAS } from './response-schemas.js';
import {
  AppendBody,
  AppendQuery,
  EntryParams,
  MAX_URL_INTEGER,
  ReadQuery,
  SecondaryParams,
  StreamQuery,
  URL_INTEGER_PATTERN,
} from './schemas.js';

/**
 * The OpenAPI 3.1 document of the public API, built from the very TypeBox schemas that validate
 * requests (schemas.ts) and describe answers (response-schemas.ts). Internal endpoints
 * (`/internal/*`, master to secondary) are not part of the public contract and are left out.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: JsonObject;
  readonly servers: JsonObject[];
  readonly tags: JsonObject[];
  readonly paths: Paths;
  readonly components: JsonObject;
}

/** Operations by path, then by method. */
export type Paths = Record<string, Record<string, Operation>>;

export interface Operation {
  readonly operationId: string;
  readonly summary: string;
  readonly description: string;
  readonly tags: string[];
  readonly parameters?: JsonObject[];
  readonly requestBody?: JsonObject;
  readonly responses: Record<string, JsonObject>;
  readonly security?: Record<string, string[]>[];
}

/**
 * A TypeBox schema as plain JSON Schema 2020-12, which OpenAPI 3.1 uses: TypeBox's symbol keys
 * dropped, and its draft-07 tuples (`items: [...]`) written as `prefixItems`.
 */
export function jsonSchema(schema: TSchema): JsonObject {
  const plain = JSON.parse(JSON.stringify(schema)) as JsonObject;
  return toDraft2020(plain) as JsonObject;
}

function toDraft2020(value: Json): Json {
  if (Array.isArray(value)) return value.map(toDraft2020);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'items' && Array.isArray(child)) out['prefixItems'] = child.map(toDraft2020);
    else if (key === 'additionalItems') out['items'] = child;
    else out[key] = toDraft2020(child);
  }
  return out;
}

/**
 * One query or path parameter per property of a TypeBox object schema. A URL integer, validated
 * as a string of digits (schemas.ts), is described as the integer it spells: the same values.
 */
function parameters(schema: TObject, where: 'query' | 'path'): JsonObject[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, property]) => {
    const { description, ...rest } = jsonSchema(property);
    const urlInteger = rest['pattern'] === URL_INTEGER_PATTERN;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description === undefined ? {} : { description }),
      schema: urlInteger ? { type: 'integer', minimum: 0, maximum: MAX_URL_INTEGER } : rest,
    };
  });
}

const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonObject): JsonObject => ({ 'application/json': { schema } });
const answer = (description: string, schema: JsonObject = ref('Error')): JsonObject => ({
  description,
  content: json(schema),
});
const RETRY_AFTER = {
  'Retry-After': { description: 'seconds to wait before retrying', schema: { type: 'integer' } },
};
/** No token, whatever the configuration. */
const OPEN: Record<string, string[]>[] = [];
/** CLUSTER_TOKEN when the cluster has one (`{}`: none without). */
const ADMIN = [{ clusterToken: [] }, {}];
/** API_TOKEN when the master has one. */
const APPEND = [{ apiToken: [] }, {}];
/** Any request can meet this one, answered by Node's HTTP parser before any route. */
const HEADERS_TOO_LARGE = answer(
  'INVALID_REQUEST: the request line and headers are over MAX_HEADER_BYTES; send fewer or shorter headers',
);
const MASTER_ONLY = answer(
  'NOT_FOUND: sent to a secondary of a fixed master, which has no dashboard (with failover every node has it)',
);
/** Only failover nodes (FAILOVER=true) serve these. */
const FAILOVER_ONLY = 'Failover nodes only (FAILOVER=true); 404 NOT_FOUND elsewhere.';
const UNAUTHORIZED = answer('UNAUTHORIZED: the cluster token is missing or wrong');
const FAULTS_OFF = answer(
  'FAULT_INJECTION_DISABLED (start the node with FAULT_INJECTION=true), or NOT_FOUND on a node without failover',
);

function readOperations(base: string, alias: boolean): Paths {
  const note = alias ? ` Alias of \`/logs\`, as most course clients call it.` : '';
  const id = alias ? 'Messages' : 'Logs';
  return {
    [base]: {
      get: {
        operationId: `read${id}`,
        summary: 'Read the log',
        description: `The node's visible log, oldest first: on a secondary only the gap-free prefix it holds, never an entry after a gap. Larger reads are streamed. With \`waitMs\`, a read that would answer \`[]\` waits (long poll) for the first new entry, and answers \`[]\` when the time is up; \`since=<id of your write - 1>\` on a secondary reads your own write.${note}`,
        tags: ['log'],
        security: OPEN,
        parameters: parameters(ReadQuery, 'query'),
        responses: {
          '200': answer('entries with id > since, at most limit of them', ref('Entries')),
          '400': answer('INVALID_REQUEST: since, limit or waitMs is not a non-negative integer'),
          '503': {
            ...answer('OVERLOADED: MAX_FOLLOWERS streams and waiting reads are open'),
            headers: RETRY_AFTER,
          },
        },
      },
      post: {
        operationId: `append${id}`,
        summary: 'Append a message (master)',
        description: `Appends \`message\`, or a batch of \`messages\` under consecutive ids (all or none), and answers once \`w\` nodes, the master included, hold it.${note}`,
        tags: ['log'],
        security: APPEND,
        parameters: [
          ...parameters(AppendQuery, 'query'),
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description:
              'a retry with the same key answers with the entry the first request created, never a second one',
            schema: { type: 'string', pattern: '^[\\x20-\\x7E]{1,128}$' },
          },
        ],
        requestBody: {
          required: true,
          content: json(ref('AppendRequest')),
        },
        responses: {
          '201': {
            description: 'appended; `Location` names the (first) entry',
            headers: { Location: { schema: { type: 'string' } } },
            content: json({ oneOf: [ref('AppendAnswer'), ref('BatchAppendAnswer')] }),
          },
          '200': answer('replayed by Idempotency-Key: the same entry as the first request', {
            oneOf: [ref('AppendAnswer'), ref('BatchAppendAnswer')],
          }),
          '400': answer('INVALID_REQUEST: the message says which field and why'),
          '401': answer('UNAUTHORIZED: the master has API_TOKEN and the request does not carry it'),
          '403': answer('CROSS_SITE_REQUEST: a browser page of another origin'),
          '413': answer('MESSAGE_TOO_LARGE: message, batch or body over its limit (named)'),
          '421': {
            ...answer(
              "NOT_MASTER: this node is not the master; `master` is the master's URL (with failover its ADVERTISED_URL), or null with Retry-After while no master is known (an election)",
            ),
            headers: RETRY_AFTER,
          },
          '503': {
            ...answer('READ_ONLY (no quorum), OVERLOADED or SHUTTING_DOWN: nothing was stored'),
            headers: RETRY_AFTER,
          },
          '504': answer(
            'WRITE_CONCERN_TIMEOUT: stored, w not reached within timeoutMs; still replicated',
            ref('WriteConcernTimeoutAnswer'),
          ),
        },
      },
    },
    [`${base}/stream`]: {
      get: {
        operationId: `stream${id}`,
        summary: 'Follow the log (Server-Sent Events)',
        description: `Every entry after \`since\` (or after \`Last-Event-ID\`, which wins), oldest first, then each new entry as this node makes it visible: one event per entry, \`id:\` its id and \`data:\` the entry as \`GET /logs\` shows it; \`retry: 1000\` first, and a \`: keep-alive\` comment on a quiet stream every STREAM_KEEP_ALIVE_MS. A reader that takes nothing for that long while MAX_STREAM_BUFFER_BYTES wait for it is disconnected; it resumes with \`Last-Event-ID\`, missing and repeating nothing.${note}`,
        tags: ['log'],
        security: OPEN,
        parameters: [
          ...parameters(StreamQuery, 'query'),
          {
            name: 'Last-Event-ID',
            in: 'header',
            required: false,
            description:
              'the id of the last entry the client has: the stream resumes right after it (EventSource sends it when it reconnects)',
            schema: { type: 'integer', minimum: 0, maximum: MAX_URL_INTEGER },
          },
        ],
        responses: {
          '200': {
            description: 'an event stream, open until the client or the node closes it',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          '400': answer('INVALID_REQUEST: since or Last-Event-ID is not a non-negative integer'),
          '503': {
            ...answer('OVERLOADED: MAX_FOLLOWERS streams and waiting reads are open'),
            headers: RETRY_AFTER,
          },
        },
      },
    },
    [`${base}/{id}`]: {
      get: {
        operationId: `read${id.slice(0, -1)}`,
        summary: 'Read one entry',
        description: `The entry with this id, if this node shows it.${note}`,
        tags: ['log'],
        security: OPEN,
        parameters: parameters(EntryParams, 'path'),
        responses: {
          '200': answer('the entry', ref('Entry')),
          '400': answer('INVALID_REQUEST: id is not a non-negative integer'),
          '404': answer('NOT_FOUND: no such entry on this node (yet)'),
        },
      },
    },
  };
}

/** The routes only a failover node serves: its rollbacks and its process faults. */
function failoverOperations(): Paths {
  const accepted = answer(
    'accepted: the fault follows once this answer is written',
    ref('ProcessFault'),
  );
  const name = parameters(SecondaryParams, 'path');
  const forwarded =
    "Forwarded to that node's own route with the cluster token; its answer comes back as it is. For the dashboard's buttons.";
  const unreachable = answer('SECONDARY_UNREACHABLE: no usable answer from that node in time');
  return {
    '/admin/rollbacks': {
      get: {
        operationId: 'rollbacks',
        summary: 'Entries this node discarded',
        description: `Every truncation this node made because the master of a later epoch did not hold the entries (a deposed master's last appends, never a majority-acknowledged one), with the entries and their idempotency keys, for an operator to replay; reported before the cut and kept in DATA_DIR/rollbacks.jsonl (the newest 10,000 entries). ${FAILOVER_ONLY}`,
        tags: ['failover'],
        security: ADMIN,
        responses: {
          '200': answer('the rollbacks, oldest first', ref('Rollbacks')),
          '401': UNAUTHORIZED,
          '404': answer('NOT_FOUND: not a failover node'),
        },
      },
    },
    '/admin/kill': {
      post: {
        operationId: 'kill',
        summary: 'Kill this node (kill -9)',
        description: `Ends the process at once, nothing flushed or closed, as kill -9 would; the answer comes first. Needs FAULT_INJECTION=true. ${FAILOVER_ONLY}`,
        tags: ['failover'],
        security: ADMIN,
        responses: { '202': accepted, '401': UNAUTHORIZED, '404': FAULTS_OFF },
      },
    },
    '/admin/stop': {
      post: {
        operationId: 'stop',
        summary: 'Freeze this node for a while (SIGSTOP, then SIGCONT)',
        description: `The process answers nothing and runs no timer for durationMs, then goes on; the answer comes first. Needs FAULT_INJECTION=true. ${FAILOVER_ONLY}`,
        tags: ['failover'],
        security: ADMIN,
        requestBody: { required: true, content: json(ref('StopRequest')) },
        responses: {
          '202': accepted,
          '400': answer('INVALID_REQUEST: durationMs is not an integer from 1 to 60000'),
          '401': UNAUTHORIZED,
          '404': FAULTS_OFF,
        },
      },
    },
    '/admin/nodes/{name}/kill': {
      post: {
        operationId: 'killNode',
        summary: 'Kill a node of the cluster, through this one',
        description: `${forwarded} ${FAILOVER_ONLY}`,
        tags: ['failover'],
        security: ADMIN,
        parameters: name,
        responses: {
          '202': accepted,
          '401': UNAUTHORIZED,
          '404': answer('NOT_FOUND (no such node in PEERS) or FAULT_INJECTION_DISABLED'),
          '502': unreachable,
        },
      },
    },
    '/admin/nodes/{name}/stop': {
      post: {
        operationId: 'stopNode',
        summary: 'Freeze a node of the cluster for a while, through this one',
        description: `${forwarded} ${FAILOVER_ONLY}`,
        tags: ['failover'],
        security: ADMIN,
        parameters: name,
        requestBody: { required: true, content: json(ref('StopRequest')) },
        responses: {
          '202': accepted,
          '400': answer('INVALID_REQUEST: durationMs is not an integer from 1 to 60000'),
          '401': UNAUTHORIZED,
          '404': answer('NOT_FOUND (no such node in PEERS) or FAULT_INJECTION_DISABLED'),
          '502': unreachable,
        },
      },
    },
  };
}

/** Every operation, with the answer any request can get added to its own. */
function withCommonAnswers(paths: Paths): Paths {
  const add = (operation: Operation): Operation => ({
    ...operation,
    responses: { ...operation.responses, '431': HEADERS_TOO_LARGE },
  });
  return Object.fromEntries(
    Object.entries(paths).map(([path, operations]) => [
      path,
      Object.fromEntries(
        Object.entries(operations).map(([method, operation]) => [method, add(operation)]),
      ),
    ]),
  );
}

export function openApiDocument(version: string): OpenApiDocument {
  const schemas: JsonObject = { AppendRequest: jsonSchema(AppendBody) };
  for (const [name, schema] of Object.entries({
    ...RESPONSE_SCHEMAS,
    ...FAILOVER_RESPONSE_SCHEMAS,
  }))
    schemas[name] = jsonSchema(schema);
  schemas['FaultsRequest'] = jsonSchema(FaultsBody);
  schemas['StopRequest'] = jsonSchema(StopBody);
  return {
    openapi: '3.1.0',
    info: {
      title: 'replicated-log',
      version,
      description:
        'A replicated append-only log: one master takes appends with a write concern `w` and replicates them to its secondaries; every node serves the log in the same order, without gaps or duplicates. Errors share one envelope: `{"status":"error","error":{"code","message"}}`. While a node stops, any request it still reads is answered 503 SHUTTING_DOWN with `Retry-After` and `Connection: close`: retry in a moment, or on another node.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'this node' }],
    tags: [
      { name: 'log', description: 'appending and reading' },
      { name: 'operations', description: 'health, metrics and this document' },
      { name: 'faults', description: 'fault injection on secondaries, for demos and tests' },
      { name: 'dashboard', description: 'the live web page on the master' },
      {
        name: 'failover',
        description: 'automatic failover (FAILOVER=true): rollbacks, process faults',
      },
    ],
    paths: withCommonAnswers({
      ...readOperations('/logs', false),
      ...readOperations('/messages', true),
      ...failoverOperations(),
      '/health': {
        get: {
          operationId: 'health',
          summary: 'Health of this node',
          description:
            "Answers 200 whenever the node is up, read-only included. The master adds the quorum and each secondary's health, acknowledged id and lag. A failover node answers FailoverHealth whatever its role: role (master, secondary, candidate), epoch, the master it knows (or null), the commit point it shows up to, and the entries it rolled back.",
          tags: ['operations'],
          security: OPEN,
          responses: {
            '200': answer('this node', {
              oneOf: [ref('MasterHealth'), ref('SecondaryHealth'), ref('FailoverHealth')],
            }),
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics',
          description:
            'Appends by outcome and w, append latency, replication lag, retries and round trips per secondary, health states, queue depths, fsync time, and the Node.js process metrics.',
          tags: ['operations'],
          security: OPEN,
          responses: {
            '200': {
              description: 'Prometheus text exposition format 0.0.4',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openApi',
          summary: 'This document',
          description: 'The OpenAPI 3.1 description of the public API; `/docs` shows it as a page.',
          tags: ['operations'],
          security: OPEN,
          responses: {
            '200': {
              description: 'the document',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
          },
        },
      },
      '/docs': {
        get: {
          operationId: 'docs',
          summary: 'This document as a page',
          description: 'Every operation with its parameters, body, answers and a curl line.',
          tags: ['operations'],
          security: OPEN,
          responses: {
            '200': {
              description: 'HTML',
              content: { 'text/html': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/': {
        get: {
          operationId: 'dashboard',
          summary: 'The live dashboard (master)',
          description:
            "Every node's health, high-water mark and lag, the logs side by side, an append form and fault buttons, updated live from `/dashboard/events`.",
          tags: ['dashboard'],
          security: OPEN,
          responses: {
            '200': {
              description: 'HTML',
              content: { 'text/html': { schema: { type: 'string' } } },
            },
            '404': MASTER_ONLY,
            '503': answer("DASHBOARD_NOT_BUILT: the page's files are missing; run npm run build"),
          },
        },
      },
      '/dashboard/state': {
        get: {
          operationId: 'dashboardState',
          summary: "The dashboard's state, once (master)",
          description:
            "Every node's health, log tail and fault settings as the master last saw them: what each event of `/dashboard/events` carries.",
          tags: ['dashboard'],
          security: OPEN,
          responses: {
            '200': answer('the state', { type: 'object' }),
            '404': MASTER_ONLY,
          },
        },
      },
      '/dashboard/events': {
        get: {
          operationId: 'dashboardEvents',
          summary: "The dashboard's live updates (master)",
          description:
            'Server-Sent Events: a `state` event at once and whenever something changed (at most four a second), a comment as heartbeat. At most 32 streams at once.',
          tags: ['dashboard'],
          security: OPEN,
          responses: {
            '200': {
              description: 'an event stream',
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            '404': MASTER_ONLY,
            '503': { ...answer('OVERLOADED: too many open streams'), headers: RETRY_AFTER },
          },
        },
      },
      '/admin/secondaries/{name}/faults': {
        get: {
          operationId: 'getSecondaryFaults',
          summary: "A secondary's fault injection settings, through the master",
          description:
            "Forwarded to the secondary's `/admin/faults` with the cluster token; its answer comes back as it is. For pages that cannot reach the secondaries themselves.",
          tags: ['faults'],
          security: ADMIN,
          parameters: parameters(SecondaryParams, 'path'),
          responses: {
            '200': answer('the settings in force', ref('Faults')),
            '401': answer('UNAUTHORIZED: the cluster token is missing or wrong'),
            '404': answer('NOT_FOUND (no such secondary) or FAULT_INJECTION_DISABLED'),
            '502': answer('SECONDARY_UNREACHABLE: no usable answer from the secondary in time'),
          },
        },
        put: {
          operationId: 'setSecondaryFaults',
          summary: "Change a secondary's fault injection, through the master",
          description: "Forwarded to the secondary's `PUT /admin/faults` with the cluster token.",
          tags: ['faults'],
          security: ADMIN,
          parameters: parameters(SecondaryParams, 'path'),
          requestBody: { required: true, content: json(ref('FaultsRequest')) },
          responses: {
            '200': answer('the settings now in force', ref('Faults')),
            '400': answer('INVALID_REQUEST: the message names the field'),
            '401': answer('UNAUTHORIZED: the cluster token is missing or wrong'),
            '404': answer('NOT_FOUND (no such secondary) or FAULT_INJECTION_DISABLED'),
            '502': answer('SECONDARY_UNREACHABLE: no usable answer from the secondary in time'),
          },
        },
      },
      '/admin/faults': {
        get: {
          operationId: 'getFaults',
          summary: 'Fault injection settings (secondary)',
          description:
            'Needs FAULT_INJECTION=true on the node, and the cluster token when one is set.',
          tags: ['faults'],
          security: ADMIN,
          responses: {
            '200': answer('the settings in force', ref('Faults')),
            '401': answer('UNAUTHORIZED: the cluster token is missing or wrong'),
            '404': answer('FAULT_INJECTION_DISABLED: start the node with FAULT_INJECTION=true'),
          },
        },
        put: {
          operationId: 'setFaults',
          summary: 'Change fault injection (secondary)',
          description:
            'Any of: `delayMs` before storing each replicated batch (a number or [min, max]); `errorRate`, the probability of answering 500 after storing; `partitioned`, holding every request from the master unanswered until set back to false.',
          tags: ['faults'],
          security: ADMIN,
          requestBody: { required: true, content: json(ref('FaultsRequest')) },
          responses: {
            '200': answer('the settings now in force', ref('Faults')),
            '400': answer('INVALID_REQUEST: the message names the field'),
            '401': answer('UNAUTHORIZED: the cluster token is missing or wrong'),
            '404': answer('FAULT_INJECTION_DISABLED: start the node with FAULT_INJECTION=true'),
          },
        },
      },
    }),
    components: {
      schemas,
      securitySchemes: {
        clusterToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'CLUSTER_TOKEN, when the cluster was started with one',
        },
        apiToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'API_TOKEN, when the master was started with one',
        },
      },
    },
  };
}
