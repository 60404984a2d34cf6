/**
 * An incremental parser of Server-Sent Events, as the WHATWG HTML standard ("Interpreting an
 * event stream") defines them: text is fed in pieces split anywhere (inside a line, between a CR
 * and its LF), lines end in LF, CR or CRLF, a line starting with `:` is a comment, an empty line
 * dispatches the event. An event left without its empty line when the stream ends is never
 * dispatched, so a cut connection cannot produce half an event.
 *
 * Written here rather than taken from `eventsource-parser`: its current major (4) requires Node
 * 22.12, and this package supports Node 20. Text, not bytes: decode with a streaming TextDecoder
 * (which also drops the leading byte-order mark, as the standard asks).
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
 * The longest line kept while waiting for its end: above the JSON of the largest entry a node
 * sends (MAX_MESSAGE_BYTES is at most 16 MiB, and JSON escapes a byte in at most 6 characters).
 */
export const MAX_SSE_LINE_CHARS = 100 * 2 ** 20;

const LINE_END = /\r\n|\r|\n/g;

export class SseParser {
  /** The start of a line whose end has not come yet. */
  #partial = '';
  /** The last piece ended in CR: an LF at the start of the next one belongs to it. */
  #afterCr = false;
  #id: string | undefined;
  #event = '';
  #data: string[] = [];

  constructor(private readonly maxLineChars = MAX_SSE_LINE_CHARS) {}

  /** Takes the next piece of the stream; returns what it completed, in order. */
  feed(text: string): SseItem[] {
    const items: SseItem[] = [];
    if (text === '') return items;
    let start = this.#afterCr && text.startsWith('\n') ? 1 : 0;
    this.#afterCr = false;
    LINE_END.lastIndex = start;
    for (let match = LINE_END.exec(text); match !== null; match = LINE_END.exec(text)) {
      this.#line(this.#partial + text.slice(start, match.index), items);
      this.#partial = '';
      start = LINE_END.lastIndex;
      if (match[0] === '\r' && start === text.length) this.#afterCr = true;
    }
    this.#partial += text.slice(start);
    if (this.#partial.length > this.maxLineChars) {
      throw new RangeError(
        `an event-stream line is longer than ${this.maxLineChars} characters without its end; the stream is not a log stream, or its entry is larger than any node sends`,
      );
    }
    return items;
  }

  #line(line: string, items: SseItem[]): void {
    if (line === '') {
      this.#dispatch(items);
      return;
    }
    if (line.startsWith(':')) {
      items.push({ kind: 'comment', text: line.slice(1).replace(/^ /, '') });
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    switch (field) {
      case 'data':
        this.#data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        break;
      case 'event':
        this.#event = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) items.push({ kind: 'retry', ms: Number(value) });
        break;
      default:
      // Other fields are ignored, as the standard says.
    }
  }

  /** An empty line: the event so far, if it has data (an event without data is dropped). */
  #dispatch(items: SseItem[]): void {
    if (this.#data.length > 0) {
      items.push({
        kind: 'event',
        id: this.#id,
        event: this.#event === '' ? 'message' : this.#event,
        data: this.#data.join('\n'),
      });
    }
    this.#id = undefined;
    this.#event = '';
    this.#data = [];
  }
}
