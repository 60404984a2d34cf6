import type { FastifyInstance } from 'fastify';
import type { Logger } from '../adapters/logger.js';
import { ApiError } from '../http/api-error.js';
import { DEFAULT_ASSETS_DIR, loadAssets, sendAsset } from './static-assets.js';

/**
 * The page may run only its own script and style and talk only to this node; with log
 * messages on it (anyone's text), that is what keeps a crafted message from running as code.
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

/**
 * `GET /` (the page `page`, one of the built files) and `/assets/*` (every file of the
 * dashboard, read once from `assetsDir`, default dist/web/public).
 */
export function registerPageRoutes(
  app: FastifyInstance,
  options: { readonly page: string; readonly assetsDir?: string; readonly logger: Logger },
): void {
  const assetsDir = options.assetsDir ?? DEFAULT_ASSETS_DIR;
  const assets = loadAssets(assetsDir, options.logger);
  app.get('/', (request, reply) => {
    const page = assets.get(options.page);
    if (page === undefined) {
      throw new ApiError(
        503,
        'DASHBOARD_NOT_BUILT',
        `the dashboard's files are not in ${assetsDir}; build the master with npm run build`,
      );
    }
    return sendAsset(request, reply, page, PAGE_HEADERS);
  });
  app.get<{ Params: { file: string } }>('/assets/:file', (request, reply) => {
    const asset = assets.get(request.params.file);
    if (asset === undefined) {
      throw new ApiError(404, 'NOT_FOUND', `no dashboard file ${request.params.file}`);
    }
    return sendAsset(request, reply, asset);
  });
}
