import { InvariantError } from '../core/assert.js';
import type { Entry, LogIdentity } from '../core/entry.js';
import type { KeyedAppend } from '../core/idempotency.js';
import type { LogStore, StoredState } from './log-store.js';

/** The classroom store: everything in memory, gone when the process ends. */
export class MemoryLogStore implements LogStore {
  readonly #entries: Entry[] = [];
  readonly #keys: [string, KeyedAppend][] = [];
  #identity: LogIdentity | undefined;

  open(): Promise<StoredState> {
    return Promise.resolve({
      identity: this.#identity,
      lastId: this.#entries.length,
      keys: [...this.#keys],
    });
  }

  setIdentity(identity: LogIdentity): Promise<void> {
    this.#identity = identity;
    return Promise.resolve();
  }

  append(entries: readonly Entry[], idempotencyKey?: string): Promise<void> {
    // Check the whole batch first: an append is applied whole or not at all.
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!;
      const expected = this.#entries.length + 1 + index;
      if (entry.id !== expected) {
        return Promise.reject(
          new InvariantError(`append of id ${entry.id} where id ${expected} comes next`),
        );
      }
    }
    for (const entry of entries) this.#entries.push(entry);
    const first = entries[0];
    if (idempotencyKey !== undefined && first !== undefined) {
      this.#keys.push([idempotencyKey, { firstId: first.id, count: entries.length }]);
    }
    return Promise.resolve();
  }

  lastId(): number {
    return this.#entries.length;
  }

  get(id: number): Entry | undefined {
    return this.#entries[id - 1];
  }

  read(fromId: number, maxCount: number, maxBytes = Infinity): Entry[] {
    const start = Math.max(0, fromId - 1);
    if (maxBytes === Infinity) return this.#entries.slice(start, start + maxCount);
    const out: Entry[] = [];
    let bytes = 0;
    for (let index = start; index < this.#entries.length && out.length < maxCount; index++) {
      const entry = this.#entries[index]!;
      bytes += Buffer.byteLength(entry.message, 'utf8');
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
