import { assert } from './assert.js';

/** The ids an idempotency key produced: `count` consecutive ids from `firstId`. */
export interface KeyedAppend {
  readonly firstId: number;
  readonly count: number;
}

/**
 * Idempotency keys of recent appends, bounded: past `maxKeys` the oldest key is forgotten (a retry
 * that late would append again, as with Stripe's 24 h window). Map iteration order is insertion
 * order, so eviction is O(1).
 */
export class IdempotencyTable {
  readonly #keys = new Map<string, KeyedAppend>();

  constructor(private readonly maxKeys: number) {
    assert(maxKeys >= 1, 'maxKeys must be >= 1');
  }

  get size(): number {
    return this.#keys.size;
  }

  get(key: string): KeyedAppend | undefined {
    return this.#keys.get(key);
  }

  put(key: string, append: KeyedAppend): void {
    assert(!this.#keys.has(key), `idempotency key already recorded`);
    assert(append.count >= 1 && append.firstId >= 1, 'a keyed append holds at least one entry');
    this.#keys.set(key, append);
    if (this.#keys.size > this.maxKeys) {
      const oldest = this.#keys.keys().next().value;
      if (oldest !== undefined) this.#keys.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#keys.delete(key);
  }
}
