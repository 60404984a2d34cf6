import type { FastifyInstance } from 'fastify';
import type { NodeMetrics } from '../node/metrics.js';

/** `GET /metrics`: the node's metrics in Prometheus' text format, on every node. */
export function registerMetricsRoutes(app: FastifyInstance, metrics: NodeMetrics): void {
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.text();
    return reply.type(metrics.contentType).header('cache-control', 'no-store').send(text);
  });
}
