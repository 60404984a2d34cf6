import type { FastifyInstance } from 'fastify';
import type { Rollback } from '../node/failover/rollbacks.js';
import { requireToken } from './create-server.js';
import { registerFaultRoutes, type FaultedNode } from './secondary-routes.js';

/** The path where a failover node lists the entries it discarded (F3). */
export const ROLLBACKS_PATH = '/admin/rollbacks';

export interface FailoverRoutesNode extends FaultedNode {
  rollbacks(): readonly Rollback[];
  readonly rolledBackEntries: number;
}

/**
 * A failover node's own routes: `GET /admin/rollbacks` (cluster token): every truncation this
 * node made (kept in DATA_DIR, the newest 10,000 entries' worth), with the entries and their
 * idempotency keys, for an operator to replay; and fault injection, as on a secondary.
 */
export function registerFailoverRoutes(
  app: FastifyInstance,
  node: FailoverRoutesNode,
  options: { readonly clusterToken: string | undefined; readonly faultInjection: boolean },
): void {
  const auth = requireToken(options.clusterToken);
  const guarded = auth === undefined ? {} : { onRequest: auth };
  app.get(ROLLBACKS_PATH, guarded, () => ({
    rolledBackEntries: node.rolledBackEntries,
    rollbacks: node.rollbacks(),
  }));
  registerFaultRoutes(app, node, options);
}
