/**
 * The public API's answers as the client returns them: the static types of the very schemas the
 * nodes' answers are checked against (src/http/response-schemas.ts), imported, never copied, so
 * the client cannot drift from the server.
 */
import type { Static } from '@sinclair/typebox';
import type { ErrorCode } from '../http/api-error.js';
import type {
  AppendAnswer,
  BatchAppendAnswer,
  EntryAnswer,
  ErrorAnswer,
  MasterHealthAnswer,
  SecondaryHealthAnswer,
  WriteConcernTimeoutAnswer,
} from '../http/response-schemas.js';
import type { WriteConcern } from '../core/write-concern.js';
import type { FailoverHealth } from '../node/failover/failover-health.js';

export type { ErrorCode, FailoverHealth, WriteConcern };

/** One log entry: `{ id, message }`, ids from 1 without gaps. */
export type Entry = Static<typeof EntryAnswer>;

/** The master's `GET /health`. */
export type MasterHealth = Static<typeof MasterHealthAnswer>;

/** A secondary's `GET /health`. */
export type SecondaryHealth = Static<typeof SecondaryHealthAnswer>;

/**
 * Any node's `GET /health`; `role` tells which, and `failover: true` a node started with
 * FAILOVER=true (its role may change; `master` names the master it knows, or null).
 */
export type Health = MasterHealth | SecondaryHealth | FailoverHealth;

/** One secondary as the master's health describes it. */
export type PeerHealth = MasterHealth['secondaries'][number];

/** The body of `201`/`200` to a single append. */
export type AppendAnswerBody = Static<typeof AppendAnswer>;

/** The body of `201`/`200` to a batch append. */
export type BatchAppendAnswerBody = Static<typeof BatchAppendAnswer>;

/** The body of `504 WRITE_CONCERN_TIMEOUT`: stored, but `w` not reached in time. */
export type WriteConcernTimeoutBody = Static<typeof WriteConcernTimeoutAnswer>;

/** The error envelope of every refusal. */
export type ErrorBody = Static<typeof ErrorAnswer>;
