import type { FastifyInstance, FastifyReply } from 'fastify';
import { StopBody } from '../protocol/messages.js';
import { KILL_PATH, STOP_PATH } from '../protocol/paths.js';
import { ApiError } from './api-error.js';
import { requireToken } from './create-server.js';

/** What the process faults do to the process; the composition root gives the real ones. */
export interface ProcessFaults {
  /** Ends the process at once, as kill -9 would: nothing flushed, nothing closed. */
  kill(): void;
  /** Stops the process for `durationMs` (no timer, no request, no reply), then lets it go on. */
  stop(durationMs: number): void;
}

/**
 * `POST /admin/kill` and `POST /admin/stop` (cluster token; FAULT_INJECTION=true): a failover
 * node kills or stops itself, so that the dashboard can take the master down from the page, as
 * `docker kill` or `kill -STOP` would. Each answers 202 first; the fault follows once the
 * answer is written.
 */
export function registerProcessFaultRoutes(
  app: FastifyInstance,
  faults: ProcessFaults,
  options: {
    readonly node: string;
    readonly clusterToken: string | undefined;
    readonly faultInjection: boolean;
  },
): void {
  const auth = requireToken(options.clusterToken);
  const guarded = auth === undefined ? {} : { onRequest: auth };
  const enabled = (): void => {
    if (!options.faultInjection) {
      throw new ApiError(
        404,
        'FAULT_INJECTION_DISABLED',
        'fault injection is off; start the node with FAULT_INJECTION=true',
      );
    }
  };
  const answerThen = (reply: FastifyReply, body: object, fault: () => void): FastifyReply => {
    reply.raw.once('finish', () => {
      // After the answer's bytes are handed to the system: the caller hears of it either way.
      setImmediate(fault);
    });
    return reply.code(202).send(body);
  };
  app.post(KILL_PATH, guarded, (_request, reply) => {
    enabled();
    return answerThen(reply, { node: options.node, fault: 'kill' }, () => {
      faults.kill();
    });
  });
  app.post<{ Body: StopBody }>(
    STOP_PATH,
    { schema: { body: StopBody }, ...guarded },
    (request, reply) => {
      enabled();
      const { durationMs } = request.body;
      return answerThen(reply, { node: options.node, fault: 'stop', durationMs }, () => {
        faults.stop(durationMs);
      });
    },
  );
}
