/** `GET /api/v1/meta` (parity 1.1, 6): where clients open their socket. */
import type { FastifyInstance } from 'fastify';
import { doc } from './openapi.js';

export interface MetaOptions {
  readonly version: string;
  readonly pool: string;
  /** The public base URL; phx_host and phx_port come from it. */
  baseUrl(): string;
}

export async function metaRoutes(app: FastifyInstance, opts: MetaOptions): Promise<void> {
  app.get('/api/v1/meta', { schema: doc('meta', 'Version and pool of this node') }, async () => {
    const url = new URL(opts.baseUrl());
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    return { version: opts.version, phx_host: url.hostname, phx_port: port, pool: opts.pool };
  });
}
