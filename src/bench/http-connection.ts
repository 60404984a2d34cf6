/**
 * One TCP connection to an HTTP/1.1 server with one request in flight at a time: a request is
 * bytes already encoded (http-wire.ts), its answer the status and the start of the body. After
 * an answer with `connection: close`, or once the server closed the connection on its own, the
 * next request opens a new one, as a keep-alive client does. What the bench's generator
 * needs, and nothing more.
 */
import { connect, type Socket } from 'node:net';
import { HttpResponseParser, type HttpAnswer } from './http-wire.js';

interface InFlight {
  readonly resolve: (answer: HttpAnswer) => void;
  readonly reject: (error: Error) => void;
}

export class HttpConnection {
  #socket: Socket | undefined;
  #parser = new HttpResponseParser();
  #inFlight: InFlight | undefined;
  #closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    /** Longest silence while a request waits for its answer (or while connecting). */
    readonly timeoutMs: number,
  ) {}

  /** Sends `request` and resolves with its answer; rejects when the connection fails. */
  send(request: Buffer): Promise<HttpAnswer> {
    if (this.#closed) return Promise.reject(new Error('HttpConnection: closed'));
    if (this.#inFlight !== undefined) throw new Error('HttpConnection: one request at a time');
    const socket = this.#socket ?? this.#open();
    return new Promise((resolve, reject) => {
      this.#inFlight = { resolve, reject };
      socket.write(request);
    });
  }

  /** Ends the connection at once; a request in flight fails. */
  close(): void {
    this.#closed = true;
    this.#fail(new Error('HttpConnection: closed'));
    this.#socket?.destroy();
  }

  #open(): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    this.#socket = socket;
    this.#parser = new HttpResponseParser();
    socket.setTimeout(this.timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      this.#onData(socket, chunk);
    });
    socket.on('timeout', () => {
      socket.destroy(
        new Error(`no answer from http://${this.host}:${this.port} within ${this.timeoutMs} ms`),
      );
    });
    // A socket given up after a `connection: close` answer is no longer this connection's: its
    // end must not fail the request in flight on the next one.
    socket.once('error', (error) => {
      if (this.#socket === socket) this.#fail(error);
    });
    socket.once('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#fail(new Error(`http://${this.host}:${this.port} closed the connection`));
    });
    return socket;
  }

  #onData(socket: Socket, chunk: Buffer): void {
    let answers: HttpAnswer[];
    try {
      answers = this.#parser.push(chunk);
    } catch (error) {
      socket.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (answers.length === 0) return;
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    if (inFlight === undefined || answers.length > 1 || this.#parser.pendingBytes > 0) {
      const error = new Error('an HTTP answer nobody asked for');
      socket.destroy(error);
      inFlight?.reject(error);
      return;
    }
    const answer = answers[0]!;
    // The server closes after this answer: the next request must not be written to this socket.
    if (answer.closes) {
      this.#socket = undefined;
      socket.destroy();
    }
    inFlight.resolve(answer);
  }

  #fail(error: Error): void {
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    inFlight?.reject(error);
  }
}
