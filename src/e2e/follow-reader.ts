/**
 * For the follow tests: a reader of a node's log stream (`GET /logs/stream`) over a real
 * connection, parsing the Server-Sent Events as they come, that can stop reading (its socket is
 * then left unread, as a stuck client's would be).
 */
import { get, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

export interface StreamEvent {
  readonly id: string | undefined;
  readonly data: string;
}

export class StreamReader {
  readonly events: StreamEvent[] = [];
  comments = 0;
  retryMs: number | undefined;
  #pending = '';
  readonly ended: Promise<void>;

  private constructor(
    readonly response: IncomingMessage,
    private readonly destroyRequest: () => void,
  ) {
    response.setEncoding('utf8');
    this.ended = new Promise((resolve) => {
      response.on('close', resolve);
    });
    response.on('error', () => undefined);
    response.on('data', (chunk: string) => {
      this.#take(chunk);
    });
  }

  /** Opens `url` (a stream, or any GET) with `headers`; resolves once the answer's head arrived. */
  static open(url: string, headers: Record<string, string> = {}): Promise<StreamReader> {
    return new Promise((resolve, reject) => {
      const request = get(url, { headers, agent: false }, (response) => {
        resolve(new StreamReader(response, () => request.destroy()));
      });
      request.on('error', reject);
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  get headers(): IncomingHttpHeaders {
    return this.response.headers;
  }

  /** The ids of the events received, as numbers, in order. */
  ids(): number[] {
    return this.events.map((event) => Number(event.id));
  }

  /** Whatever was received but not parsed as events (an error body, for one). */
  get rest(): string {
    return this.#pending;
  }

  /** Stops reading: what the node sends stays in the socket's buffers. */
  pause(): void {
    this.response.pause();
  }

  close(): void {
    this.destroyRequest();
  }

  #take(chunk: string): void {
    this.#pending += chunk;
    for (let end = this.#pending.indexOf('\n\n'); end >= 0; end = this.#pending.indexOf('\n\n')) {
      const block = this.#pending.slice(0, end);
      this.#pending = this.#pending.slice(end + 2);
      this.#block(block.split('\n'));
    }
  }

  #block(lines: readonly string[]): void {
    let id: string | undefined;
    const data: string[] = [];
    for (const line of lines) {
      if (line.startsWith(':')) this.comments += 1;
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
      else if (line.startsWith('retry: ')) this.retryMs = Number(line.slice(7));
    }
    if (data.length > 0) this.events.push({ id, data: data.join('\n') });
  }
}
