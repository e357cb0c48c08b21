/**
 * Liveness and readiness. Readiness is 503 while the node starts or shuts
 * down. When the database does not answer, or the cluster bus is away, the
 * node still relays its rooms, so it stays ready but says `degraded`, naming
 * what is down: taking every
 * node out of the load balancer during a database outage would only make it
 * a total one.
 */
import type { FastifyInstance } from 'fastify';

export interface HealthOptions {
  /** True once the node can take traffic, false while it drains or closes. */
  isReady(): boolean;
  /** Resolves when the store answers. */
  pingStore(): Promise<void>;
  /** Whether the cluster bus is reachable; undefined for a node alone. */
  isBusUp(): boolean | undefined;
}

export async function healthRoutes(app: FastifyInstance, opts: HealthOptions): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (!opts.isReady()) return reply.status(503).send({ status: 'unavailable' });
    const store = await opts.pingStore().then(
      () => 'up',
      () => 'down',
    );
    const isBusUp = opts.isBusUp();
    const checks = isBusUp === undefined ? { store } : { store, bus: isBusUp ? 'up' : 'down' };
    return { status: Object.values(checks).every((c) => c === 'up') ? 'ready' : 'degraded', checks };
  });
}
