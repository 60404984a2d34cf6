import type { FastifyInstance } from 'fastify';
import type { Faults, SecondaryNode } from '../node/secondary-node.js';
import { FaultsBody } from '../protocol/messages.js';
import { FAULTS_PATH } from '../protocol/paths.js';
import { ApiError } from './api-error.js';
import { requireToken } from './create-server.js';

/**
 * A secondary's own routes: the NOT_MASTER answer and fault injection. Replication itself is
 * served by replication-endpoint.ts, before these.
 */
export function registerSecondaryRoutes(
  app: FastifyInstance,
  node: SecondaryNode,
  options: {
    readonly clusterToken: string | undefined;
    readonly masterUrl: string | undefined;
    readonly faultInjection: boolean;
  },
): void {
  const notMaster = (): ApiError => {
    const master = options.masterUrl ?? null;
    const where =
      master === null
        ? 'the master (this secondary was started without MASTER_URL)'
        : `the master at ${master}`;
    return new ApiError(
      421,
      'NOT_MASTER',
      `this node is a secondary and does not take appends; send them to ${where}`,
      { master },
    );
  };
  for (const path of ['/logs', '/messages']) {
    // Answered before the body is parsed: a secondary keeps nothing of an append (Node reads
    // the rest of the body and throws it away, keeping the connection).
    app.post(
      path,
      {
        onRequest: (_request, _reply, done) => {
          done(notMaster());
        },
      },
      () => {
        throw notMaster();
      },
    );
  }

  registerFaultRoutes(app, node, options);
}

/** What the fault routes need of a node: its fault injection settings. */
export interface FaultedNode {
  readonly faults: Faults;
  setFaults(change: FaultsBody): Faults;
}

/** `GET` and `PUT /admin/faults` (cluster token): a secondary's or a failover node's faults. */
export function registerFaultRoutes(
  app: FastifyInstance,
  node: FaultedNode,
  options: { readonly clusterToken: string | undefined; readonly faultInjection: boolean },
): void {
  const auth = requireToken(options.clusterToken);
  const guarded = auth === undefined ? {} : { onRequest: auth };
  const faultsEnabled = (): void => {
    if (!options.faultInjection) {
      throw new ApiError(
        404,
        'FAULT_INJECTION_DISABLED',
        'fault injection is off; start the node with FAULT_INJECTION=true',
      );
    }
  };
  app.get(FAULTS_PATH, guarded, () => {
    faultsEnabled();
    return node.faults;
  });
  app.put<{ Body: FaultsBody }>(
    FAULTS_PATH,
    { schema: { body: FaultsBody }, ...guarded },
    (request) => {
      faultsEnabled();
      const delay = request.body.delayMs;
      if (Array.isArray(delay) && delay[0] > delay[1]) {
        throw new ApiError(
          400,
          'INVALID_REQUEST',
          `delayMs range [${delay[0]}, ${delay[1]}] has its minimum above its maximum`,
        );
      }
      return node.setFaults(request.body);
    },
  );
}
