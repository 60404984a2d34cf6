import { createParser, type EventSourceParser } from 'eventsource-parser';

/**
 * Server-Sent Events, parsed by `eventsource-parser` (the WHATWG HTML standard's "Interpreting an
 * event stream": text fed in pieces split anywhere, lines ending in LF, CR or CRLF, `:` comments,
 * an empty line dispatching the event, so that a cut connection never yields half an event).
 * This file only turns its callbacks into a list per piece, in order, and bounds what it buffers.
 * Its major 3 is kept: major 4 requires Node 22.12, and this package supports Node 20.
 */

/** One dispatched event. */
export interface SseEvent {
  /** The `id` field of this event, if it had one (an id with a NUL character is ignored). */
  readonly id: string | undefined;
  /** The `event` field, or `message` by default. */
  readonly event: string;
  /** The `data` lines, joined with LF. */
  readonly data: string;
}

export type SseItem =
  | ({ readonly kind: 'event' } & SseEvent)
  | { readonly kind: 'retry'; readonly ms: number }
  | { readonly kind: 'comment'; readonly text: string };

/**
 * The most text kept while waiting for an event's end: above the JSON of the largest entry a node
 * sends (MAX_MESSAGE_BYTES is at most 16 MiB, and JSON escapes a byte in at most 6 characters).
 */
export const MAX_SSE_LINE_CHARS = 100 * 2 ** 20;

export class SseParser {
  readonly #parser: EventSourceParser;
  /** What the piece being fed completed so far. */
  #items: SseItem[] = [];
  #tooLong = false;

  constructor(private readonly maxLineChars = MAX_SSE_LINE_CHARS) {
    this.#parser = createParser({
      onEvent: ({ id, event, data }) =>
        this.#items.push({ kind: 'event', id, event: event ?? 'message', data }),
      onRetry: (ms) => this.#items.push({ kind: 'retry', ms }),
      onComment: (text) => this.#items.push({ kind: 'comment', text }),
      onError: (error) => {
        // Unknown fields and malformed `retry` values are ignored, as the standard says.
        if (error.type === 'max-buffer-size-exceeded') this.#tooLong = true;
      },
      maxBufferSize: maxLineChars,
    });
  }

  /** Takes the next piece of the stream; returns what it completed, in order. */
  feed(text: string): SseItem[] {
    this.#items = [];
    this.#parser.feed(text);
    if (this.#tooLong) {
      throw new RangeError(
        `an event-stream event is longer than ${this.maxLineChars} characters without its end; the stream is not a log stream, or its entry is larger than any node sends`,
      );
    }
    return this.#items;
  }
}
