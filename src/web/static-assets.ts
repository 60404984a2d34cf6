import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../adapters/logger.js';

/**
 * The dashboard's files (HTML, CSS, the compiled script), read once when the master starts and
 * served from memory. They are small and change only with a new build, so each carries an ETag
 * and the browser revalidates (`no-cache`) instead of keeping a stale copy after an upgrade.
 */

export interface StaticAsset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

/**
 * Where `npm run build` puts the files: dist/web/public, beside the compiled server code. Named
 * from dist/ rather than from this directory, so that it holds in the bundle too
 * (dist/cli/main.js, src/build/bundle.ts), where `import.meta.url` is the bundle's.
 */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../web/public/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};
const MAX_FILES = 32;
const MAX_FILE_BYTES = 1024 * 1024;

/**
 * The servable files of `dir` by name. A missing directory gives none (a master built without
 * the dashboard still runs; `GET /` says how to build it); anything else is skipped with a warning.
 */
export function loadAssets(dir: string, logger: Logger): ReadonlyMap<string, StaticAsset> {
  const assets = new Map<string, StaticAsset>();
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    logger.warn(
      { event: 'dashboard-not-built', dir },
      `no dashboard files in ${dir}; GET / answers 503 until the master is built with npm run build`,
    );
    return assets;
  }
  for (const name of names) {
    const contentType = CONTENT_TYPES[extname(name)];
    const path = join(dir, name);
    const stat = statSync(path);
    if (contentType === undefined || !stat.isFile()) continue;
    const size = stat.size;
    if (assets.size >= MAX_FILES || size > MAX_FILE_BYTES) {
      logger.warn(
        { event: 'dashboard-file-skipped', file: path, bytes: size },
        `dashboard file ${path} not served: at most ${MAX_FILES} files of ${MAX_FILE_BYTES} bytes each`,
      );
      continue;
    }
    const body = readFileSync(path);
    const digest = createHash('sha256').update(body).digest('base64url').slice(0, 22);
    assets.set(name, { body, contentType, etag: `"${digest}"` });
  }
  return assets;
}

/** Sends an asset, or 304 when the browser's copy is current. */
export function sendAsset(
  request: FastifyRequest,
  reply: FastifyReply,
  asset: StaticAsset,
  headers: Readonly<Record<string, string>> = {},
): FastifyReply {
  void reply.headers({
    ...headers,
    'cache-control': 'no-cache',
    etag: asset.etag,
    'x-content-type-options': 'nosniff',
  });
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.type(asset.contentType).send(asset.body);
}
