import type { Clock } from '../adapters/clock.js';
import { repeatEvery } from '../adapters/repeat.js';
import { fail, InvariantError } from '../core/assert.js';
import type { Entry } from '../core/entry.js';
import { entryEvent, KEEP_ALIVE_COMMENT, STREAM_PREAMBLE } from './follow-sse.js';
import type { VisibleLog } from './follow-waiter.js';

/** A node's log as a stream reads it: what is visible, and chunks of it read from the store. */
export interface StreamedLog extends VisibleLog {
  /** Entries after `sinceId`: at most `limit`, at most `maxBytes` of messages (at least one). */
  read(sinceId: number, limit: number, maxBytes?: number): Entry[];
}

/** Where the events go: the reply's `ServerResponse`, or any Writable in tests. */
export interface StreamSink {
  write(chunk: Buffer): boolean;
  end(): void;
  destroy(): void;
  readonly writableLength: number;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

export interface StreamLimits {
  /** A quiet stream gets a comment this often; a reader that takes nothing this long is cut off. */
  readonly keepAliveMs: number;
  /** Unsent bytes the stream may hold for its reader; it writes nothing more above this. */
  readonly maxBufferBytes: number;
}

export interface StreamHooks {
  /** The reader took nothing for a keep-alive interval with the buffer full: it was cut off. */
  readonly slowReader: (stream: {
    readonly nextId: number;
    readonly bufferedBytes: number;
  }) => void;
  /** The stream is over, however it ended (once). */
  readonly closed: () => void;
}

/** Entries read from the store and written per event-loop turn. */
export const STREAM_CHUNK_ENTRIES = 1000;
/** Message bytes read per turn (at least one entry, however large). */
export const STREAM_CHUNK_BYTES = 256 * 1024;
/** How long a closing node waits for a reader to take the end of its stream before cutting it. */
export const END_GRACE_MS = 1000;

/**
 * One reader's Server-Sent-Events stream of the log: every entry after the start id, oldest
 * first, then every new entry as the node makes it visible. Nothing is kept per stream but the
 * next id to send: entries are read from the store in chunks when the reader has room for them,
 * so a stream holds at most `maxBufferBytes` plus one chunk, whether its reader is a whole log
 * behind or has stopped reading. A reader that takes nothing for a whole keep-alive interval
 * while the stream is full is disconnected (it resumes with Last-Event-ID).
 */
export class LogEventStream {
  #nextId: number;
  #closed = false;
  #cancelPump: (() => void) | undefined;
  #stopKeepAlive: () => void = () => undefined;
  #unsubscribe: () => void = () => undefined;
  /** Bytes written, and how many of them the reader had taken at the last keep-alive tick. */
  #bytesWritten = 0;
  #takenAtTick = 0;
  #wroteSinceTick = false;

  constructor(
    private readonly log: StreamedLog,
    private readonly sink: StreamSink,
    private readonly clock: Clock,
    private readonly limits: StreamLimits,
    private readonly hooks: StreamHooks,
    startAfterId: number,
  ) {
    this.#nextId = startAfterId + 1;
  }

  /** The id of the next entry to send. */
  get nextId(): number {
    return this.#nextId;
  }

  /** Starts sending: what is visible now at once, then each new entry. */
  start(): void {
    this.sink.on('close', this.#onClose);
    this.sink.on('drain', this.#schedulePump);
    this.#write(STREAM_PREAMBLE);
    // The preamble is no event: a stream with nothing to send gets its first comment one
    // interval from now.
    this.#wroteSinceTick = false;
    // Subscribed before the first read: an entry made visible in between is not missed.
    this.#unsubscribe = this.log.onVisible(this.#schedulePump);
    this.#stopKeepAlive = repeatEvery(this.clock, this.limits.keepAliveMs, this.#tick);
    this.#schedulePump();
  }

  /** Ends the stream cleanly (the node is closing); cuts it if the reader does not take the end. */
  end(): void {
    if (this.#closed) return;
    this.sink.end();
    this.#release();
    this.clock.schedule(END_GRACE_MS, () => {
      if (!this.sink.destroyed) this.sink.destroy();
    });
  }

  readonly #schedulePump = (): void => {
    if (this.#closed || this.#cancelPump !== undefined) return;
    this.#cancelPump = this.clock.schedule(0, this.#pump);
  };

  /** Writes one chunk, then comes back in a later turn for the next: appends are served between. */
  readonly #pump = (): void => {
    this.#cancelPump = undefined;
    if (this.#closed || this.sink.writableLength >= this.limits.maxBufferBytes) return;
    const upTo = this.log.lastVisibleId();
    if (this.#nextId > upTo) return;
    let entries: Entry[];
    try {
      entries = this.log.read(
        this.#nextId - 1,
        Math.min(STREAM_CHUNK_ENTRIES, upTo - this.#nextId + 1),
        STREAM_CHUNK_BYTES,
      );
    } catch (error) {
      // A disk error cuts the stream, as it cuts a long read: the reader resumes by its last id.
      if (error instanceof InvariantError) throw error;
      this.sink.destroy();
      return;
    }
    this.#send(entries);
    this.#schedulePump();
  };

  #send(entries: readonly Entry[]): void {
    let out = '';
    for (const entry of entries) {
      if (entry.id !== this.#nextId) fail(`stream sends ${entry.id} where ${this.#nextId} is next`);
      out += entryEvent(entry);
      this.#nextId += 1;
    }
    if (out !== '') this.#write(out);
  }

  #write(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.#bytesWritten += bytes.length;
    this.#wroteSinceTick = true;
    this.sink.write(bytes);
  }

  /** Each keep-alive interval: cut a stalled reader, keep a quiet one alive, resume a full one. */
  readonly #tick = (): void => {
    if (this.#closed) return;
    const buffered = this.sink.writableLength;
    const taken = this.#bytesWritten - buffered;
    const tookNothing = taken === this.#takenAtTick;
    this.#takenAtTick = taken;
    if (buffered >= this.limits.maxBufferBytes && tookNothing) {
      this.hooks.slowReader({ nextId: this.#nextId, bufferedBytes: buffered });
      this.sink.destroy();
      this.#release();
      return;
    }
    if (!this.#wroteSinceTick && buffered === 0) this.#write(KEEP_ALIVE_COMMENT);
    this.#wroteSinceTick = false;
    // A buffer that went below the limit without a 'drain' (limit under the socket's own mark).
    this.#schedulePump();
  };

  readonly #onClose = (): void => {
    this.#release();
  };

  #release(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelPump?.();
    this.#cancelPump = undefined;
    this.#stopKeepAlive();
    this.#unsubscribe();
    this.sink.off('drain', this.#schedulePump);
    this.sink.off('close', this.#onClose);
    this.hooks.closed();
  }
}
