import type { LogStore, StoredState } from '../adapters/log-store.js';
import { assert } from '../core/assert.js';
import type { Entry, LogIdentity } from '../core/entry.js';
import type { KeyedAppend } from '../core/idempotency.js';

/** `[key, firstId, count]`, as a replication batch carries it. */
export type KeyedRange = readonly [string, number, number];

/**
 * A failover node's one store, shared by the role objects it holds in turn (a MasterNode in the
 * epochs it leads, a SecondaryNode in the others). The store is opened once; each role object's
 * `open()` gets the state as it is now, idempotency keys included, which this wrapper keeps
 * current as appends and truncations go through it (bounded like the master's key table). It
 * also counts the writes in flight, so that the next role object starts only once the previous
 * one's writes have settled.
 */
export class SharedStore implements LogStore {
  readonly #inner: LogStore;
  readonly #maxKeys: number;
  #opened: Promise<void> | undefined;
  #identity: LogIdentity | undefined;
  /** Keyed appends by key, oldest first; and the key of each by its first id. */
  readonly #keys = new Map<string, KeyedAppend>();
  readonly #keyByFirstId = new Map<number, string>();
  #writesInFlight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(inner: LogStore, maxKeys: number) {
    assert(maxKeys >= 1, 'maxKeys must be >= 1');
    this.#inner = inner;
    this.#maxKeys = maxKeys;
  }

  async open(): Promise<StoredState> {
    this.#opened ??= this.#openInner();
    await this.#opened;
    return { identity: this.#identity, lastId: this.#inner.lastId(), keys: [...this.#keys] };
  }

  async #openInner(): Promise<void> {
    const state = await this.#inner.open();
    this.#identity = state.identity;
    for (const [key, append] of state.keys) this.#remember(key, append);
  }

  get identity(): LogIdentity | undefined {
    return this.#identity;
  }

  // Each write updates this wrapper's state before it stops counting as in flight, so that
  // `idle()` resolves on a state that has every settled write in it.

  setIdentity(identity: LogIdentity): Promise<void> {
    return this.#tracked(
      this.#inner.setIdentity(identity).then(() => {
        this.#identity = identity;
      }),
    );
  }

  /**
   * The key is remembered once the entries are written (`onWritten`), not once durable: a master
   * replicates from that point on, and every batch must carry the keys of the appends in it. A
   * write that fails after that point (its fsync) forgets the key again: its ids are not held.
   */
  append(
    entries: readonly Entry[],
    idempotencyKey?: string,
    onWritten?: () => void,
  ): Promise<void> {
    const first = entries[0];
    const keyed =
      idempotencyKey === undefined || first === undefined
        ? undefined
        : { firstId: first.id, count: entries.length };
    const written = (): void => {
      if (idempotencyKey !== undefined && keyed !== undefined)
        this.#remember(idempotencyKey, keyed);
      onWritten?.();
    };
    return this.#tracked(
      this.#inner.append(entries, idempotencyKey, written).catch((error: unknown) => {
        if (
          idempotencyKey !== undefined &&
          keyed !== undefined &&
          this.#keys.get(idempotencyKey) === keyed
        ) {
          this.#forget(idempotencyKey, keyed);
        }
        throw error;
      }),
    );
  }

  truncateAfter(lastKeptId: number): Promise<Entry[]> {
    return this.#tracked(
      this.#inner.truncateAfter(lastKeptId).then((removed) => {
        for (const [key, append] of this.#keys) {
          if (append.firstId + append.count - 1 > lastKeptId) this.#forget(key, append);
        }
        return removed;
      }),
    );
  }

  /** The keyed appends whose first id is in `fromId..toId`, in id order. */
  keysStartingIn(fromId: number, toId: number): KeyedRange[] {
    const found: KeyedRange[] = [];
    if (this.#keyByFirstId.size === 0) return found;
    for (let id = fromId; id <= toId; id++) {
      const key = this.#keyByFirstId.get(id);
      const append = key === undefined ? undefined : this.#keys.get(key);
      if (key !== undefined && append !== undefined) found.push([key, id, append.count]);
    }
    return found;
  }

  /** Resolves once no write (append, truncation, identity) is in flight. */
  idle(): Promise<void> {
    if (this.#writesInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
    });
  }

  lastId(): number {
    return this.#inner.lastId();
  }

  get(id: number): Entry | undefined {
    return this.#inner.get(id);
  }

  read(fromId: number, maxCount: number, maxBytes?: number): Entry[] {
    return this.#inner.read(fromId, maxCount, maxBytes);
  }

  readForReplication(fromId: number, maxCount: number, maxBytes?: number): Entry[] {
    return this.#inner.readForReplication(fromId, maxCount, maxBytes);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #tracked<T>(write: Promise<T>): Promise<T> {
    this.#writesInFlight += 1;
    try {
      return await write;
    } finally {
      this.#writesInFlight -= 1;
      if (this.#writesInFlight === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    }
  }

  #remember(key: string, append: KeyedAppend): void {
    const old = this.#keys.get(key);
    if (old !== undefined) this.#forget(key, old);
    this.#keys.set(key, append);
    this.#keyByFirstId.set(append.firstId, key);
    if (this.#keys.size > this.#maxKeys) {
      const oldest = this.#keys.entries().next().value;
      if (oldest !== undefined) this.#forget(oldest[0], oldest[1]);
    }
  }

  #forget(key: string, append: KeyedAppend): void {
    this.#keys.delete(key);
    if (this.#keyByFirstId.get(append.firstId) === key) this.#keyByFirstId.delete(append.firstId);
  }
}
