import { assert } from '../core/assert.js';
import type { Entry } from '../core/entry.js';
import { plainMessageJson } from '../protocol/entry-json.js';

/**
 * The master's last appended entries, kept as they arrived, so that replicating them (which is
 * almost always replicating the tail) does not read them back from the store, and answering or
 * reading them does not escape a message for JSON twice. Bounded by count and by bytes; anything
 * older is read from the store.
 */
export class RecentEntries {
  readonly #entries: (Entry | undefined)[];
  readonly #messageJson: (string | undefined)[];
  readonly #messageBytes: Uint32Array;
  /** Id of the oldest entry kept; entries `#firstId .. #firstId + #count - 1` are here. */
  #firstId = 1;
  #count = 0;
  #bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {
    assert(maxEntries >= 1 && maxBytes >= 1, 'RecentEntries needs room for something');
    this.#entries = new Array<Entry | undefined>(maxEntries);
    this.#messageJson = new Array<string | undefined>(maxEntries);
    this.#messageBytes = new Uint32Array(maxEntries);
  }

  get firstId(): number {
    return this.#firstId;
  }

  get count(): number {
    return this.#count;
  }

  /**
   * Keeps freshly stored entries; `messageBytes[i]` is the UTF-8 size of `entries[i].message`.
   * Entries that do not continue the kept ones (ids given again after a failed write) start
   * over from them.
   */
  add(entries: readonly Entry[], messageBytes: readonly number[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.id !== this.#firstId + this.#count) this.clear(first.id);
    for (let index = 0; index < entries.length; index++) {
      const bytes = messageBytes[index]!;
      while (
        this.#count > 0 &&
        (this.#count >= this.maxEntries || this.#bytes + bytes > this.maxBytes)
      )
        this.#dropOldest();
      if (bytes > this.maxBytes) {
        // Too large to keep: nothing kept may follow a hole, so start over after it.
        this.clear(entries[index]!.id + 1);
        continue;
      }
      const slot = (this.#firstId + this.#count) % this.maxEntries;
      this.#entries[slot] = entries[index];
      this.#messageJson[slot] = undefined;
      this.#messageBytes[slot] = bytes;
      this.#count += 1;
      this.#bytes += bytes;
    }
  }

  /**
   * Forgets the kept entries up to `throughId` (every secondary holds them): entries kept only
   * while they may still be sent die young, which the garbage collector finds far cheaper than
   * entries that outlive a few collections and move to the old generation.
   */
  release(throughId: number): void {
    while (this.#count > 0 && this.#firstId <= throughId) this.#dropOldest();
  }

  /** Forgets everything; the next entry kept must be `nextId`. */
  clear(nextId: number): void {
    this.#entries.fill(undefined);
    this.#messageJson.fill(undefined);
    this.#firstId = nextId;
    this.#count = 0;
    this.#bytes = 0;
  }

  /**
   * Entries from `fromId` on, as `LogStore.read` would give them (at most `maxCount`, at most
   * `maxBytes` of messages but at least one entry), or undefined when `fromId` is not kept.
   */
  read(fromId: number, maxCount: number, maxBytes: number): Entry[] | undefined {
    if (fromId < this.#firstId || fromId >= this.#firstId + this.#count) return undefined;
    const out: Entry[] = [];
    let bytes = 0;
    for (let id = fromId; id < this.#firstId + this.#count && out.length < maxCount; id++) {
      const slot = id % this.maxEntries;
      bytes += this.#messageBytes[slot]!;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(this.#entries[slot]!);
    }
    return out;
  }

  /**
   * `JSON.stringify(message)` of a kept entry (`plainMessageJson`), computed once however often it
   * is sent.
   */
  messageJson(entry: Entry): string {
    const slot = entry.id % this.maxEntries;
    if (entry.id < this.#firstId || this.#entries[slot] !== entry) return plainMessageJson(entry);
    let json = this.#messageJson[slot];
    if (json === undefined) {
      json = plainMessageJson(entry);
      this.#messageJson[slot] = json;
    }
    return json;
  }

  #dropOldest(): void {
    const slot = this.#firstId % this.maxEntries;
    this.#bytes -= this.#messageBytes[slot]!;
    this.#entries[slot] = undefined;
    this.#messageJson[slot] = undefined;
    this.#firstId += 1;
    this.#count -= 1;
  }
}
