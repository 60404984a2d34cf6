/**
 * The newest `capacity` items, oldest first: a push when full overwrites the oldest, so a push
 * costs the same however busy its writer is (no copy, no allocation beyond the item).
 */
export class Ring<T> {
  readonly #items: (T | undefined)[];
  /** Index of the oldest item. */
  #start = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new Error(`a ring's capacity is ${capacity}; pass a whole number >= 1`);
    }
    this.#items = new Array<T | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size < this.capacity) {
      this.#items[(this.#start + this.#size) % this.capacity] = item;
      this.#size += 1;
      return;
    }
    this.#items[this.#start] = item;
    this.#start = (this.#start + 1) % this.capacity;
  }

  /** Drops items from the oldest on while `old` says so; stops at the first it keeps. */
  dropOldestWhile(old: (item: T) => boolean): void {
    while (this.#size > 0) {
      const item = this.#items[this.#start] as T;
      if (!old(item)) return;
      this.#items[this.#start] = undefined;
      this.#start = (this.#start + 1) % this.capacity;
      this.#size -= 1;
    }
  }

  /** The items, oldest first. */
  toArray(): T[] {
    const items: T[] = [];
    for (let index = 0; index < this.#size; index++) {
      items.push(this.#items[(this.#start + index) % this.capacity] as T);
    }
    return items;
  }
}
