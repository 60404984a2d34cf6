import type { Entry, LogIdentity } from '../core/entry.js';
import type { KeyedAppend } from '../core/idempotency.js';

/** What a store holds when it is opened. */
export interface StoredState {
  readonly identity: LogIdentity | undefined;
  readonly lastId: number;
  /** Idempotency keys of the appends held, oldest first. */
  readonly keys: readonly (readonly [string, KeyedAppend])[];
}

/**
 * Where a node keeps its log. Reads are synchronous (served from memory or an index of the
 * file), appends resolve once the entries are as durable as the store promises. Appends are
 * applied in call order and always extend the log by consecutive ids.
 */
export interface LogStore {
  open(): Promise<StoredState>;
  setIdentity(identity: LogIdentity): Promise<void>;
  append(entries: readonly Entry[], idempotencyKey?: string): Promise<void>;
  lastId(): number;
  get(id: number): Entry | undefined;
  /** Entries with id >= fromId: at most `maxCount`, and at most `maxBytes` of messages (at least one entry). */
  read(fromId: number, maxCount: number, maxBytes?: number): Entry[];
  close(): Promise<void>;
}
