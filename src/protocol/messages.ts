import { Type, type Static } from '@sinclair/typebox';
import { BATCH_ENTRIES_LIMIT } from './limits.js';

/**
 * Every request and answer between nodes, as JSON Schema (TypeBox) and as static types. The
 * master sends them, the secondary checks requests against them; errors travel in the envelope
 * of errors.ts.
 */

const LogId = Type.String({ minLength: 1, maxLength: 64 });
const Epoch = Type.Integer({ minimum: 1 });

/**
 * `POST /internal/replicate`: one replication batch from the master. Ids are consecutive by
 * construction (`fromId`, `fromId + 1`, ...), so they are not sent per entry; `epochs[i]` and
 * `messages[i]` belong to entry `fromId + i`. Parallel arrays of numbers and strings parse and
 * validate faster than an array of objects. Written and read by codec.ts.
 */
export const ReplicateBody = Type.Object({
  logId: LogId,
  epoch: Epoch,
  fromId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  epochs: Type.Array(Type.Integer({ minimum: 1, maximum: 0xffff_ffff }), {
    maxItems: BATCH_ENTRIES_LIMIT,
  }),
  messages: Type.Array(Type.String(), { maxItems: BATCH_ENTRIES_LIMIT }),
});
export type ReplicateBody = Static<typeof ReplicateBody>;

/** `POST /internal/heartbeat`: a probe from the master. */
export const HeartbeatBody = Type.Object({
  logId: LogId,
  epoch: Epoch,
  lastId: Type.Integer({ minimum: 0 }),
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
