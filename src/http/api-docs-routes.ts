import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { renderApiPage } from './api-docs-page.js';
import { openApiDocument } from './openapi.js';

/** The package's version, from the package.json beside dist/ (in the repo and in the image). */
function packageVersion(): string {
  const path = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

/**
 * `GET /openapi.json` and its page `GET /docs`, on every node. Both are built once: the API does
 * not change while a node runs.
 */
export function registerApiDocsRoutes(app: FastifyInstance): void {
  const document = openApiDocument(packageVersion());
  const json = JSON.stringify(document);
  const page = renderApiPage(document);
  app.get('/openapi.json', (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(json),
  );
  app.get('/docs', (_request, reply) => reply.type('text/html; charset=utf-8').send(page));
}
