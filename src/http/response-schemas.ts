import { Type, type TSchema } from '@sinclair/typebox';

/**
 * The shapes of the public answers, as JSON Schema (TypeBox). They describe the API in
 * `/openapi.json`, and the end-to-end tests check real answers against them, so the document
 * cannot drift from what the nodes send.
 */

const Id = Type.Integer({ minimum: 1, description: 'position in the log, from 1, no gaps' });
const Count = Type.Integer({ minimum: 0 });

export const EntryAnswer = Type.Object(
  { id: Id, message: Type.String({ minLength: 1 }) },
  { additionalProperties: false, description: 'one log entry' },
);

export const EntriesAnswer = Type.Array(EntryAnswer, {
  description: 'entries in id order, consecutive, oldest first',
});

const ErrorDetail = Type.Object(
  {
    code: Type.String({ description: 'stable error code, such as READ_ONLY' }),
    message: Type.String({ description: 'what was wrong, the value and limit, and what to do' }),
  },
  { additionalProperties: false },
);

const QuorumAnswer = Type.Object(
  {
    size: Type.Integer({ minimum: 1, description: 'nodes in the cluster, the master included' }),
    required: Type.Integer({ minimum: 1, description: 'a strict majority of size' }),
    healthy: Type.Integer({
      minimum: 1,
      description:
        'nodes counting towards the quorum: the master and every secondary not Unhealthy',
    }),
  },
  { additionalProperties: false },
);

export const ErrorAnswer = Type.Object(
  {
    status: Type.Literal('error'),
    error: ErrorDetail,
    master: Type.Optional(
      Type.Union([Type.String(), Type.Null()], { description: 'NOT_MASTER: where the master is' }),
    ),
    quorum: Type.Optional(QuorumAnswer),
  },
  { description: 'the error envelope of every failure' },
);

const WriteConcernFields = {
  w: Type.Integer({ minimum: 1, description: 'the write concern, resolved to a node count' }),
  acks: Type.Integer({
    minimum: 1,
    description: 'nodes (master included) known to hold the entry when the answer was sent',
  }),
};

export const AppendAnswer = Type.Object(
  { status: Type.Literal('success'), log: EntryAnswer, ...WriteConcernFields },
  { additionalProperties: false, description: 'one message appended (201) or replayed (200)' },
);

export const BatchAppendAnswer = Type.Object(
  { status: Type.Literal('success'), logs: EntriesAnswer, ...WriteConcernFields },
  { additionalProperties: false, description: 'a batch appended under consecutive ids' },
);

export const WriteConcernTimeoutAnswer = Type.Object(
  {
    status: Type.Literal('error'),
    error: ErrorDetail,
    log: Type.Optional(EntryAnswer),
    logs: Type.Optional(EntriesAnswer),
    ...WriteConcernFields,
  },
  {
    additionalProperties: false,
    description: 'WRITE_CONCERN_TIMEOUT: stored, and still being replicated, but w not reached',
  },
);

const HealthState = Type.Union(
  [Type.Literal('Healthy'), Type.Literal('Suspected'), Type.Literal('Unhealthy')],
  { description: 'Healthy and Suspected count towards the quorum, Unhealthy does not' },
);
const MillisecondsOrNull = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);

const PeerAnswer = Type.Object(
  {
    name: Type.String(),
    url: Type.String(),
    status: HealthState,
    ackedId: Type.Integer({ minimum: 0, description: 'gap-free high-water mark it acknowledged' }),
    lag: Type.Integer({ minimum: 0, description: 'entries the master holds beyond ackedId' }),
    lastContactMs: MillisecondsOrNull,
    missedProbes: Count,
    mode: Type.Union([Type.Literal('probe'), Type.Literal('replicate')]),
    inflightBatches: Count,
    failedAttempts: Count,
    lastError: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

export const MasterHealthAnswer = Type.Object(
  {
    node: Type.String(),
    role: Type.Literal('master'),
    status: Type.Union([Type.Literal('ok'), Type.Literal('read-only')]),
    readOnly: Type.Boolean(),
    logId: Type.String({ description: "this log's identity (a UUID)" }),
    epoch: Type.Integer({ minimum: 1 }),
    quorum: QuorumAnswer,
    log: Type.Object({ lastId: Count }, { additionalProperties: false }),
    waitingAppends: Count,
    secondaries: Type.Array(PeerAnswer),
  },
  { additionalProperties: false },
);

export const FaultsAnswer = Type.Object(
  {
    delayMs: Type.Union([
      Type.Integer({ minimum: 0 }),
      Type.Array(Type.Integer({ minimum: 0 }), { minItems: 2, maxItems: 2 }),
    ]),
    errorRate: Type.Number({ minimum: 0, maximum: 1 }),
    partitioned: Type.Boolean(),
  },
  { additionalProperties: false, description: 'fault injection settings in force' },
);

export const SecondaryHealthAnswer = Type.Object(
  {
    node: Type.String(),
    role: Type.Literal('secondary'),
    status: Type.Literal('ok'),
    logId: Type.Union([Type.String(), Type.Null()]),
    epoch: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    incarnation: Type.String({ description: 'new at every start of the process' }),
    log: Type.Object(
      {
        lastId: Type.Integer({ minimum: 0, description: 'end of the gap-free prefix it serves' }),
        pending: Type.Integer({ minimum: 0, description: 'entries held back behind a gap' }),
      },
      { additionalProperties: false },
    ),
    master: Type.Object(
      { url: Type.Union([Type.String(), Type.Null()]), lastContactMs: MillisecondsOrNull },
      { additionalProperties: false },
    ),
    faults: FaultsAnswer,
  },
  { additionalProperties: false },
);

/** Every named schema of the document's `components.schemas`, by name. */
export const RESPONSE_SCHEMAS: Readonly<Record<string, TSchema>> = {
  Entry: EntryAnswer,
  Entries: EntriesAnswer,
  Error: ErrorAnswer,
  AppendAnswer,
  BatchAppendAnswer,
  WriteConcernTimeoutAnswer,
  MasterHealth: MasterHealthAnswer,
  SecondaryHealth: SecondaryHealthAnswer,
  Faults: FaultsAnswer,
};
