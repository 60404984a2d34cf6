/**
 * An in-process stand-in for a node's `GET /logs/stream`, for follow's unit tests: each connection
 * is answered by the next scripted step (a stream of text pieces that then ends, is cut or stays
 * open; an error answer; a cut connection), and every request is recorded with a promise of its
 * connection's close.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { setImmediate as tick } from 'node:timers/promises';
import { listenOnLoopback } from './fake-server.js';

export type StreamStep =
  | {
      readonly kind: 'stream';
      /** Written one by one, a turn of the event loop apart. */
      readonly pieces: readonly string[];
      /** After the pieces: end the answer cleanly, destroy the socket, or leave it open. */
      readonly then: 'end' | 'cut' | 'hold';
      readonly contentType?: string;
    }
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly body: unknown;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'cut' };

export interface StreamRequest {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Resolves when the connection of this request is closed (by either side). */
  readonly closed: Promise<void>;
}

export interface FakeStreamServer {
  readonly url: string;
  readonly requests: StreamRequest[];
  close(): Promise<void>;
}

/** One SSE event for an entry, as a node sends it. */
export const entryEvent = (id: number, message = `m${id}`): string =>
  `id: ${id}\ndata: ${JSON.stringify({ id, message })}\n\n`;

/** Answers connections with `steps` in order; past the last, the last step again. */
export async function fakeStreamServer(steps: readonly StreamStep[]): Promise<FakeStreamServer> {
  const requests: StreamRequest[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const closed = new Promise<void>((resolve) => response.on('close', resolve));
    requests.push({ url: request.url ?? '', headers: request.headers, closed });
    open.add(response);
    void closed.then(() => open.delete(response));
    const step = steps[Math.min(requests.length, steps.length) - 1] ?? { kind: 'cut' };
    void answer(step, response);
  });
  return { ...(await listenOnLoopback(server, open)), requests };
}

async function answer(step: StreamStep, response: ServerResponse): Promise<void> {
  if (step.kind === 'cut') {
    response.socket?.destroy();
    return;
  }
  if (step.kind === 'answer') {
    response.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
    response.end(typeof step.body === 'string' ? step.body : JSON.stringify(step.body));
    return;
  }
  response.writeHead(200, { 'content-type': step.contentType ?? 'text/event-stream' });
  response.flushHeaders();
  for (const piece of step.pieces) {
    if (response.destroyed) return;
    response.write(piece);
    await tick();
  }
  if (step.then === 'end') response.end();
  else if (step.then === 'cut') response.socket?.destroy();
}
