import { Type, type Static } from '@sinclair/typebox';
import { BATCH_BYTES_LIMIT, BATCH_ENTRIES_LIMIT } from './limits.js';

/**
 * Every request and answer between nodes, as JSON Schema (TypeBox) and as static types. The
 * master sends them, the secondary checks requests against them; errors travel in the envelope
 * of errors.ts.
 */

const LogId = Type.String({ minLength: 1, maxLength: 64 });
const Epoch = Type.Integer({ minimum: 1 });
const Id = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const NodeName = Type.String({ minLength: 1, maxLength: 63 });

/**
 * What a failover master adds to every replication request and heartbeat (FAILOVER=true): its
 * name in PEERS, so the receiver knows whom it follows, and its commit point, so the receiver
 * shows only committed entries. Absent with the fixed master.
 */
const FailoverFields = {
  from: Type.Optional(NodeName),
  commitId: Type.Optional(Id),
  startId: Type.Optional(Id),
  url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
};

/** `[key, firstId, count]`: the append `firstId..firstId+count-1` was made with this key. */
const KeyedRange = Type.Tuple([
  Type.String({ minLength: 1, maxLength: 256 }),
  Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  Type.Integer({ minimum: 1, maximum: BATCH_ENTRIES_LIMIT }),
]);

/** What every replication batch says besides its messages, in either encoding. */
const ReplicateFields = {
  logId: LogId,
  epoch: Epoch,
  fromId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  epochs: Type.Array(Type.Integer({ minimum: 1, maximum: 0xffff_ffff }), {
    maxItems: BATCH_ENTRIES_LIMIT,
  }),
  ...FailoverFields,
  /** With failover: idempotency keys of the appends that start in this batch. */
  keys: Type.Optional(Type.Array(KeyedRange, { maxItems: BATCH_ENTRIES_LIMIT })),
};

/**
 * `POST /internal/replicate` as JSON: one replication batch. Ids are consecutive by
 * construction (`fromId`, `fromId + 1`, ...), so they are not sent per entry; `epochs[i]` and
 * `messages[i]` belong to entry `fromId + i`. Parallel arrays of numbers and strings parse and
 * validate faster than an array of objects. Written and read by codec.ts. The master sends the
 * binary frame instead (`ReplicateFrameHead`); this form is for requests made by hand.
 */
export const ReplicateBody = Type.Object({
  ...ReplicateFields,
  messages: Type.Array(Type.String(), { maxItems: BATCH_ENTRIES_LIMIT }),
});
export type ReplicateBody = Static<typeof ReplicateBody>;

/**
 * The head of a replication frame (frame.ts): the batch without its messages, and `lengths[i]`,
 * the UTF-8 byte length of the message of entry `fromId + i`. The messages follow the head as
 * raw bytes, one after the other.
 */
export const ReplicateFrameHead = Type.Object({
  ...ReplicateFields,
  lengths: Type.Array(Type.Integer({ minimum: 0, maximum: BATCH_BYTES_LIMIT }), {
    maxItems: BATCH_ENTRIES_LIMIT,
  }),
});
export type ReplicateFrameHead = Static<typeof ReplicateFrameHead>;

/** `POST /internal/heartbeat`: a probe from the master. */
export const HeartbeatBody = Type.Object({
  logId: LogId,
  epoch: Epoch,
  lastId: Type.Integer({ minimum: 0 }),
  ...FailoverFields,
});
export type HeartbeatBody = Static<typeof HeartbeatBody>;

/** What a secondary answers (200) to replication and heartbeats; read by replies.ts. */
export const ReplicaReplyBody = Type.Object({
  logId: Type.Union([Type.String(), Type.Null()], {
    description: 'the log the secondary holds; null while it holds none',
  }),
  incarnation: Type.String({ description: 'random per process start: a change is a restart' }),
  hwm: Type.Integer({ minimum: 0, description: 'every entry up to this id is held' }),
  pending: Type.Integer({ minimum: 0, description: 'entries held back behind a gap' }),
  epoch: Type.Optional(
    Type.Integer({ minimum: 0, description: 'with failover: the epoch the node is in' }),
  ),
  acceptedEpoch: Type.Optional(
    Type.Integer({
      minimum: 0,
      description:
        'with failover: the epoch of the master whose log this node holds a prefix of; hwm counts for a master of that epoch only',
    }),
  ),
});
export type ReplicaReplyBody = Static<typeof ReplicaReplyBody>;

const DelayMs = Type.Integer({ minimum: 0, maximum: 600_000 });

/**
 * `PUT /admin/faults` on a secondary: what to change in its fault injection. Sent by operators
 * and tests, and forwarded by the master's dashboard.
 */
export const FaultsBody = Type.Object(
  {
    delayMs: Type.Optional(Type.Union([DelayMs, Type.Tuple([DelayMs, DelayMs])])),
    errorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    partitioned: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type FaultsBody = Static<typeof FaultsBody>;

/**
 * `POST /internal/vote` (FAILOVER=true): a candidate asks for a vote (or, with `preVote`, whether
 * it would get one, changing nothing). `acceptedEpoch` and `lastId` describe its log as votes
 * compare it (Viewstamped Replication's rule: see src/core/vote.ts).
 */
export const VoteRequestBody = Type.Object({
  epoch: Epoch,
  candidate: NodeName,
  acceptedEpoch: Type.Integer({ minimum: 0 }),
  lastId: Id,
  preVote: Type.Boolean(),
});
export type VoteRequestBody = Static<typeof VoteRequestBody>;

/** The answer to a VoteRequestBody (200). */
export const VoteAnswerBody = Type.Object({
  epoch: Type.Integer({ minimum: 0 }),
  granted: Type.Boolean(),
  preVote: Type.Boolean(),
});
export type VoteAnswerBody = Static<typeof VoteAnswerBody>;

/**
 * `POST /internal/epoch-end` (FAILOVER=true), a follower to the master of `epoch`: where does
 * the master's log stop holding entries of epochs up to `lastEpoch` (KIP-101's
 * OffsetsForLeaderEpoch, with KIP-279's answer)? The follower truncates its log to the answer.
 */
export const EpochEndRequestBody = Type.Object({
  logId: LogId,
  epoch: Epoch,
  lastEpoch: Type.Integer({ minimum: 0 }),
});
export type EpochEndRequestBody = Static<typeof EpochEndRequestBody>;

/** `endId`: the last id of the master's log whose entry has an epoch <= lastEpoch; `epoch`: that entry's epoch (0 for none). */
export const EpochEndAnswerBody = Type.Object({
  epoch: Type.Integer({ minimum: 0 }),
  endId: Id,
});
export type EpochEndAnswerBody = Static<typeof EpochEndAnswerBody>;

/** The longest `POST /admin/stop` freezes a node for: long enough for elections, not a hang. */
export const MAX_STOP_MS = 60_000;

/**
 * `POST /admin/stop` on a failover node (fault injection on): how long the process stops
 * answering anything, as if it had got SIGSTOP and, `durationMs` later, SIGCONT.
 */
export const StopBody = Type.Object(
  { durationMs: Type.Integer({ minimum: 1, maximum: MAX_STOP_MS }) },
  { additionalProperties: false },
);
export type StopBody = Static<typeof StopBody>;
