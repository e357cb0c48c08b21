/** Liveness and readiness. */
import type { FastifyInstance } from 'fastify';

export interface HealthOptions {
  /** True once the node can take traffic, false while it drains or closes. */
  isReady(): boolean;
}

export async function healthRoutes(app: FastifyInstance, opts: HealthOptions): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => (opts.isReady() ? { status: 'ready' } : reply.status(503).send({ status: 'unavailable' })));
}
