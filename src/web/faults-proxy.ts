import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PeerConfig } from '../core/master-core.js';
import { ApiError } from '../http/api-error.js';
import { requireToken } from '../http/create-server.js';
import { SecondaryParams } from '../http/schemas.js';
import { FaultsBody } from '../protocol/messages.js';
import { FAULTS_PATH } from '../protocol/paths.js';
import type { FaultInjection } from './client/dashboard-wire.js';
import { readFaults } from './secondary-answers.js';
import { SecondaryCallError, type CallSecondary } from './secondary-client.js';

/**
 * `GET`/`PUT /admin/secondaries/:name/faults` on the master, forwarded to that secondary's
 * `/admin/faults` with the cluster token. The page cannot reach secondaries itself: their URLs
 * are the cluster's internal ones (http://sub1:8001 in Docker). The secondary's answer comes
 * back as it is, status and body.
 */

export interface FaultsProxyOptions {
  readonly secondaries: readonly PeerConfig[];
  readonly clusterToken: string | undefined;
  readonly call: CallSecondary;
  /** Long enough for `partitioned: false`, which answers after the requests it held. */
  readonly timeoutMs: number;
  /** Told the settings a secondary answered to a change, so pages see it without a poll. */
  readonly onFaults: (name: string, faults: FaultInjection) => void;
}

export const DEFAULT_PROXY_TIMEOUT_MS = 5000;
const MAX_ANSWER_BYTES = 64 * 1024;

export function registerFaultsProxy(app: FastifyInstance, options: FaultsProxyOptions): void {
  const auth = requireToken(options.clusterToken);
  const guarded = auth === undefined ? {} : { onRequest: auth };
  const path = '/admin/secondaries/:name/faults';

  const forward = async (
    request: FastifyRequest<{ Params: SecondaryParams }>,
    reply: FastifyReply,
    method: 'GET' | 'PUT',
    body?: string,
  ): Promise<FastifyReply> => {
    const { name } = request.params;
    const peer = options.secondaries.find((candidate) => candidate.name === name);
    if (peer === undefined) {
      const known = options.secondaries.map((candidate) => candidate.name).join(', ') || 'none';
      throw new ApiError(
        404,
        'NOT_FOUND',
        `no secondary named ${JSON.stringify(name)}; the secondaries are: ${known}`,
      );
    }
    let answer;
    try {
      answer = await options.call(peer.url, {
        method,
        path: FAULTS_PATH,
        ...(body === undefined ? {} : { body }),
        timeoutMs: options.timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
      });
    } catch (error) {
      if (!(error instanceof SecondaryCallError)) throw error;
      throw new ApiError(
        502,
        'SECONDARY_UNREACHABLE',
        `${peer.name} at ${peer.url} gave no usable answer (${error.message}); check that it runs and that the master can reach it, then retry`,
      );
    }
    if (answer.status === 401) {
      // The caller's token was good enough for the master: the secondary refused the master's.
      throw new ApiError(
        502,
        'SECONDARY_UNREACHABLE',
        `${peer.name} refused the master's cluster token: every node needs the same CLUSTER_TOKEN`,
      );
    }
    if (method === 'PUT' && answer.status === 200) {
      options.onFaults(peer.name, readFaults(answer.status, answer.text));
    }
    void reply.code(answer.status);
    if (answer.contentType !== undefined) void reply.type(answer.contentType);
    if (answer.retryAfter !== undefined) void reply.header('retry-after', answer.retryAfter);
    return reply.send(answer.text);
  };

  app.get<{ Params: SecondaryParams }>(
    path,
    { schema: { params: SecondaryParams }, ...guarded },
    (request, reply) => forward(request, reply, 'GET'),
  );
  app.put<{ Params: SecondaryParams; Body: FaultsBody }>(
    path,
    { schema: { params: SecondaryParams, body: FaultsBody }, ...guarded },
    (request, reply) => forward(request, reply, 'PUT', JSON.stringify(request.body)),
  );
}
