import { Writable } from 'node:stream';
import type { Entry } from '../core/entry.js';
import { VisibleEntries, type VisibleListener } from '../node/visible-entries.js';
import type { ReadableNode } from './read-routes.js';

/**
 * For the follow tests: a node's log in memory that signals new entries as the nodes do, and
 * counts its reads.
 */
export class FakeLog implements ReadableNode {
  readonly entries: Entry[] = [];
  readonly #visible = new VisibleEntries();
  reads = 0;

  /** Appends `count` entries (`m<id>`, or `message(id)`) and signals them. */
  append(count: number, message: (id: number) => string = (id) => `m${id}`): void {
    for (let index = 0; index < count; index++) {
      const id = this.entries.length + 1;
      this.entries.push({ id, epoch: 1, message: message(id) });
    }
    this.#visible.notify(this.entries.length);
  }

  get listenerCount(): number {
    return this.#visible.listenerCount;
  }

  lastVisibleId(): number {
    return this.entries.length;
  }

  onVisible(listener: VisibleListener): () => void {
    return this.#visible.subscribe(listener);
  }

  read(sinceId: number, limit: number, maxBytes = Infinity): Entry[] {
    this.reads += 1;
    const out: Entry[] = [];
    let bytes = 0;
    for (const entry of this.entries.slice(sinceId, sinceId + limit)) {
      bytes += Buffer.byteLength(entry.message);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  get(id: number): Entry | undefined {
    return this.entries[id - 1];
  }

  health(): object {
    return { lastId: this.entries.length };
  }
}

/**
 * A stream's reader that can stop reading: while paused, everything written stays in the
 * Writable's buffer (`writableLength`), as in a socket whose peer reads nothing.
 */
export class FakeReader {
  text = '';
  #paused = false;
  #held: (() => void) | undefined;
  readonly sink = new Writable({
    highWaterMark: 16 * 1024,
    write: (chunk: Buffer, _encoding, callback) => {
      const take = (): void => {
        this.text += chunk.toString('utf8');
        callback();
      };
      if (this.#paused) this.#held = take;
      else take();
    },
  });

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    const held = this.#held;
    this.#held = undefined;
    held?.();
  }

  /** Takes the one write it holds (if any) and stays paused: a reader that reads a little. */
  takeOne(): void {
    const held = this.#held;
    this.#held = undefined;
    held?.();
  }

  /** The ids of the events received, in order. */
  ids(): number[] {
    return [...this.text.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
  }

  /** The parsed `data:` of every event received, in order. */
  data(): unknown[] {
    return [...this.text.matchAll(/^data: (.*)$/gm)].map(
      (match) => JSON.parse(match[1]!) as unknown,
    );
  }
}
