import type { FastifyInstance } from 'fastify';
import { FAULTS_PATH } from '../protocol/paths.js';
import { ApiError } from './api-error.js';
import { requireToken } from './create-server.js';

/**
 * What every node answers under `/admin/` beyond its own admin routes: with a cluster token,
 * 401 first for any path there, so that a stranger learns nothing of what exists; then 404. A
 * master asked for `/admin/faults` is told where fault injection lives.
 */
export function registerAdminFallback(
  app: FastifyInstance,
  clusterToken: string | undefined,
  role: 'master' | 'secondary',
): void {
  const auth = requireToken(clusterToken);
  const guarded = auth === undefined ? {} : { onRequest: auth };
  if (role === 'master') {
    app.all(FAULTS_PATH, guarded, () => {
      throw new ApiError(
        404,
        'FAULT_INJECTION_DISABLED',
        'fault injection is set on secondaries: PUT /admin/faults on a secondary, or PUT /admin/secondaries/<name>/faults here',
      );
    });
  }
  app.all('/admin/*', guarded, (request) => {
    throw new ApiError(
      404,
      'NOT_FOUND',
      `no route ${request.method} ${request.url.split('?')[0] ?? ''}`,
    );
  });
}
