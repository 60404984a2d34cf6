/**
 * `replicated-log/client`: the typed client of a replicated log's HTTP API.
 *
 *   const log = new ReplicatedLogClient('http://127.0.0.1:8000');
 *   const { entry } = await log.append('hello', { w: 'majority' });
 *   for await (const next of log.follow({ since: entry.id })) console.log(next.id, next.message);
 */
export { ReplicatedLogClient } from './replicated-log-client.js';
export { ReplicatedLogError, WriteConcernTimeoutError } from './errors.js';
export type { Clock } from './clock.js';
export type { ClientErrorCode, ReplicatedLogErrorDetails } from './errors.js';
export type { FoundMaster } from './find-master.js';
export type { FollowIterator, FollowOptions, Reconnect } from './follow.js';
export type { ReplicatedLogClientOptions, RetryPolicy } from './options.js';
export { DEFAULT_RETRY } from './options.js';
export type {
  AppendOptions,
  AppendResult,
  BatchAppendResult,
  CallOptions,
  ReadOptions,
} from './results.js';
export type {
  Entry,
  ErrorBody,
  ErrorCode,
  FailoverHealth,
  Health,
  MasterHealth,
  PeerHealth,
  SecondaryHealth,
  WriteConcern,
} from './wire.js';
