import { Type } from '@sinclair/typebox';
import { FaultsAnswer, MasterHealthAnswer } from './response-schemas.js';

/**
 * The shapes of the answers only a failover node (FAILOVER=true) gives, as JSON Schema (TypeBox),
 * for `/openapi.json`: its `GET /health`, `GET /admin/rollbacks`, and the process faults'
 * `202`. The fixed cluster's answers are in response-schemas.ts.
 */

const Count = Type.Integer({ minimum: 0 });
const MillisecondsOrNull = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);

export const FailoverHealthAnswer = Type.Object(
  {
    node: Type.String(),
    role: Type.Union(
      [Type.Literal('master'), Type.Literal('secondary'), Type.Literal('candidate')],
      {
        description: 'candidate: running an election (pre-vote or vote)',
      },
    ),
    status: Type.Union([Type.Literal('ok'), Type.Literal('read-only')]),
    failover: Type.Literal(true),
    epoch: Type.Integer({ minimum: 0, description: 'the highest epoch this node has seen' }),
    master: Type.Union(
      [
        Type.Object({ name: Type.String(), url: Type.String() }, { additionalProperties: false }),
        Type.Null(),
      ],
      {
        description:
          'the master of epoch as this node knows it (itself when master), by its name in PEERS and its ADVERTISED_URL; null when none is known',
      },
    ),
    logId: Type.Union([Type.String(), Type.Null()], {
      description: "the cluster's log identity, derived from PEERS; null before any entry",
    }),
    incarnation: Type.String({ description: 'new at every start of the process' }),
    log: Type.Object(
      {
        lastId: Type.Integer({ minimum: 0, description: 'the last id this node holds' }),
        commitId: Type.Integer({
          minimum: 0,
          description: 'entries up to here are held by a majority: what reads show',
        }),
      },
      { additionalProperties: false },
    ),
    rolledBackEntries: Type.Integer({
      minimum: 0,
      description: 'entries this node discarded, listed at GET /admin/rollbacks',
    }),
    readOnly: Type.Boolean({ description: 'true on every node but a master with its quorum' }),
    quorum: Type.Optional(MasterHealthAnswer.properties.quorum),
    waitingAppends: Type.Optional(Count),
    secondaries: Type.Optional(MasterHealthAnswer.properties.secondaries),
    following: Type.Optional(
      Type.Object(
        {
          synced: Type.Boolean({ description: "its log is a prefix of the master's" }),
          lastContactMs: MillisecondsOrNull,
        },
        { additionalProperties: false, description: 'on a node that is not master' },
      ),
    ),
    faults: FaultsAnswer,
  },
  { additionalProperties: false, description: 'GET /health of a failover node, whatever its role' },
);

const RolledBackEntry = Type.Object(
  {
    id: Type.Integer({ minimum: 1 }),
    epoch: Type.Integer({ minimum: 1, description: 'the epoch it was appended in' }),
    message: Type.String(),
  },
  { additionalProperties: false },
);

const Rollback = Type.Object(
  {
    atMs: Type.Number({
      minimum: 0,
      description: "the node's monotonic clock when it happened (ms since that process started)",
    }),
    epoch: Type.Integer({ minimum: 1, description: 'the epoch of the master whose log it took' }),
    master: Type.String({ description: 'that master, by its name in PEERS' }),
    fromId: Type.Integer({ minimum: 1 }),
    toId: Type.Integer({ minimum: 1 }),
    entries: Type.Array(RolledBackEntry),
    keys: Type.Array(
      Type.Tuple([Type.String(), Type.Integer({ minimum: 1 }), Type.Integer({ minimum: 1 })]),
      { description: '[idempotency key, first id, count] of each keyed append among the entries' },
    ),
  },
  { additionalProperties: false, description: 'one truncation: the entries it discarded' },
);

export const RollbacksAnswer = Type.Object(
  {
    rolledBackEntries: Type.Integer({ minimum: 0 }),
    rollbacks: Type.Array(Rollback, { description: 'oldest first, the newest 10,000 entries' }),
  },
  { additionalProperties: false },
);

export const ProcessFaultAnswer = Type.Object(
  {
    node: Type.String(),
    fault: Type.Union([Type.Literal('kill'), Type.Literal('stop')]),
    durationMs: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false, description: 'accepted: the fault follows this answer' },
);

/** The failover answers' named schemas in `components.schemas`, by name. */
export const FAILOVER_RESPONSE_SCHEMAS = {
  FailoverHealth: FailoverHealthAnswer,
  Rollbacks: RollbacksAnswer,
  ProcessFault: ProcessFaultAnswer,
} as const;
