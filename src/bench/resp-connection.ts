/**
 * One TCP connection to a Redis server with one request in flight at a time: a request is bytes
 * already encoded (one or more commands, pipelined in one write) and the number of replies that
 * answer it. What the bench's generator needs, and nothing more.
 */
import { connect, type Socket } from 'node:net';
import { RespParser, type RespValue } from './resp.js';

interface InFlight {
  readonly expected: number;
  readonly replies: RespValue[];
  readonly resolve: (replies: RespValue[]) => void;
  readonly reject: (error: Error) => void;
}

export class RespConnection {
  readonly #parser = new RespParser();
  #socket: Socket | undefined;
  #connected: Promise<void> | undefined;
  #inFlight: InFlight | undefined;
  #closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    /** Longest silence while a request waits for its replies (or while connecting). */
    readonly timeoutMs: number,
  ) {}

  /** Sends `payload` and resolves with the `expected` replies; rejects when the socket fails. */
  async request(payload: Buffer, expected: number): Promise<RespValue[]> {
    if (this.#inFlight !== undefined) throw new Error('RespConnection: one request at a time');
    await this.#connect();
    const socket = this.#socket;
    if (socket === undefined || this.#closed) throw new Error('RespConnection: closed');
    return new Promise((resolve, reject) => {
      this.#inFlight = { expected, replies: [], resolve, reject };
      socket.write(payload);
    });
  }

  /** Ends the connection at once; a request in flight fails. */
  close(): void {
    this.#closed = true;
    this.#fail(new Error('RespConnection: closed'));
    this.#socket?.destroy();
  }

  #connect(): Promise<void> {
    this.#connected ??= new Promise((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port, noDelay: true });
      this.#socket = socket;
      socket.setTimeout(this.timeoutMs);
      socket.once('connect', () => {
        resolve();
      });
      socket.on('data', (chunk: Buffer) => {
        this.#onData(chunk);
      });
      socket.on('timeout', () => {
        socket.destroy(
          new Error(`no answer from redis ${this.host}:${this.port} within ${this.timeoutMs} ms`),
        );
      });
      socket.once('error', (error) => {
        reject(error);
        this.#fail(error);
      });
      socket.once('close', () => {
        this.#closed = true;
        reject(new Error('RespConnection: closed before it connected'));
        this.#fail(new Error(`redis ${this.host}:${this.port} closed the connection`));
      });
    });
    return this.#connected;
  }

  #onData(chunk: Buffer): void {
    let replies: RespValue[];
    try {
      replies = this.#parser.push(chunk);
    } catch (error) {
      this.#socket?.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const inFlight = this.#inFlight;
    if (inFlight === undefined) {
      if (replies.length > 0) this.#socket?.destroy(new Error('a RESP reply nobody asked for'));
      return;
    }
    inFlight.replies.push(...replies);
    if (inFlight.replies.length < inFlight.expected) return;
    this.#inFlight = undefined;
    if (inFlight.replies.length > inFlight.expected) {
      this.#socket?.destroy(new Error('more RESP replies than requests'));
      inFlight.reject(new Error('more RESP replies than requests'));
      return;
    }
    inFlight.resolve(inFlight.replies);
  }

  #fail(error: Error): void {
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    inFlight?.reject(error);
  }
}
