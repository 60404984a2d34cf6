import { assert } from '../../core/assert.js';

/**
 * Where each entry lives on disk: 12 bytes per entry in growable typed arrays (segment-relative
 * offset of its length field, message length, epoch), so that a million entries cost 12 MB of
 * memory and no message is held in memory at all.
 */
export class EntryIndex {
  #offsets = new Uint32Array(1024);
  #lengths = new Uint32Array(1024);
  #epochs = new Uint32Array(1024);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  push(offset: number, length: number, epoch: number): void {
    assert(offset <= 0xffffffff && length <= 0xffffffff, 'segment offsets fit in 32 bits');
    if (this.#count === this.#offsets.length) this.#grow();
    this.#offsets[this.#count] = offset;
    this.#lengths[this.#count] = length;
    this.#epochs[this.#count] = epoch;
    this.#count += 1;
  }

  /** Forgets every entry from position `count` on (used when a write failed and was undone). */
  truncate(count: number): void {
    assert(count >= 0 && count <= this.#count, `truncate to ${count} of ${this.#count}`);
    this.#count = count;
  }

  offset(index: number): number {
    return this.#offsets[index]!;
  }

  length(index: number): number {
    return this.#lengths[index]!;
  }

  epoch(index: number): number {
    return this.#epochs[index]!;
  }

  #grow(): void {
    const doubled = (from: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> => {
      const next = new Uint32Array(from.length * 2);
      next.set(from);
      return next;
    };
    this.#offsets = doubled(this.#offsets);
    this.#lengths = doubled(this.#lengths);
    this.#epochs = doubled(this.#epochs);
  }
}
