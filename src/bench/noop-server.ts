import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { exitWithParent } from '../launcher/exit-with-parent.js';

const CREATED_BODY = Buffer.from('{"status":"success","log":{"id":1}}');
const HEALTH_BODY = Buffer.from('{"status":"ok"}');

/**
 * The baseline of the bench: an HTTP server that does nothing but HTTP. It reads every request
 * body to the end (as a node must before it can parse it) and answers POST with 201 and a small
 * JSON body, so that what the cluster costs beyond that is what the ratios show.
 */
export function createNoopServer(): Server {
  const server = createServer((request, response) => {
    if (request.method === 'POST') {
      request.on('data', ignoreChunk);
      request.on('end', () => {
        response.writeHead(201, {
          'content-type': 'application/json',
          'content-length': CREATED_BODY.length,
        });
        response.end(CREATED_BODY);
      });
      return;
    }
    request.resume();
    const found = request.method === 'GET' && request.url === '/health';
    response.writeHead(found ? 200 : 404, {
      'content-type': 'application/json',
      'content-length': found ? HEALTH_BODY.length : 2,
    });
    response.end(found ? HEALTH_BODY : '{}');
  });
  // Same idle allowance as the nodes' HTTP server (fastify's 72 s), so neither side closes
  // keep-alive connections the other still counts on.
  server.keepAliveTimeout = 72_000;
  return server;
}

function ignoreChunk(): void {
  // The body is read and dropped.
}

/** `node dist/bench/noop-server.js` with HOST and PORT: the child process the bench starts. */
async function main(): Promise<void> {
  exitWithParent();
  const host = process.env['HOST'] ?? '127.0.0.1';
  const port = Number(process.env['PORT'] ?? '9100');
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`PORT must be an integer from 1 to 65535; got "${process.env['PORT'] ?? ''}"`);
  }
  const server = createNoopServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `noop-server: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
