/**
 * A tiny in-process HTTP server for the client's unit tests: each request is answered by the next
 * scripted step (an answer, a cut connection, or silence), and every request is recorded. Several
 * of them make a fake cluster: `fakeNodes(2)` listen first, then each is given its script
 * (`answerWith`), which may name the others' URLs (`notMaster(b.url)`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export type Step =
  | {
      readonly status: number;
      readonly body: unknown;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | 'cut'
  | 'silence';

export interface FakeServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Answers the next requests with `steps` instead (counted from the first request). */
  answerWith(steps: readonly Step[]): void;
  close(): Promise<void>;
}

/** Answers with `steps` in order; past the last, the last step again; none: silence. */
export async function fakeServer(given: readonly Step[] = []): Promise<FakeServer> {
  let steps = given;
  const requests: SeenRequest[] = [];
  const silent: ServerResponse[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body,
      });
      const step = steps[Math.min(requests.length, steps.length) - 1] ?? 'silence';
      if (step === 'cut') {
        request.socket.destroy();
      } else if (step === 'silence') {
        silent.push(response);
      } else {
        response.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
        response.end(typeof step.body === 'string' ? step.body : JSON.stringify(step.body));
      }
    });
  });
  const answerWith = (next: readonly Step[]): void => {
    steps = next;
  };
  return { ...(await listenOnLoopback(server, silent)), requests, answerWith };
}

/** `count` fake servers, silent until each is given its steps with `answerWith`. */
export async function fakeNodes(count: number): Promise<FakeServer[]> {
  return Promise.all(Array.from({ length: count }, () => fakeServer()));
}

/** The URL of a loopback port nothing listens on now (a server started there and closed). */
export async function closedUrl(): Promise<string> {
  const server = await listenOnLoopback(createServer(), []);
  await server.close();
  return server.url;
}

/**
 * Starts a test server on a free loopback port; `close` ends the answers still open (`held`: read
 * when closing), every connection, then the server.
 */
export async function listenOnLoopback(
  server: Server,
  held: Iterable<ServerResponse>,
): Promise<{ readonly url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}

export const created = (id: number, message: string, status = 201): Step => ({
  status,
  body: { status: 'success', log: { id, message }, w: 3, acks: 3 },
});

/** A node that is not the master: 421 NOT_MASTER naming `master` (null: none known now). */
export const notMaster = (master: string | null, headers?: Record<string, string>): Step => ({
  status: 421,
  body: {
    status: 'error',
    error: { code: 'NOT_MASTER', message: `not the master; the master is ${master ?? 'unknown'}` },
    master,
  },
  ...(headers === undefined ? {} : { headers }),
});

export const refusal = (status: number, code: string, headers?: Record<string, string>): Step => ({
  status,
  body: { status: 'error', error: { code, message: `refused with ${code}` } },
  ...(headers === undefined ? {} : { headers }),
});
