/**
 * The API's OpenAPI description, built by @fastify/swagger from the route
 * schemas and served at `/docs` (and `/docs/openapi.json`). Only routes
 * tagged with `doc()` appear: the API, not the pages or probes.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

/** Schema fields that document a route. `bearer`: it takes an account token. */
export function doc(tag: 'rooms' | 'moderation' | 'accounts' | 'media' | 'meta' | 'admin', summary: string, opts: { bearer?: boolean; description?: string } = {}) {
  return {
    tags: [tag],
    summary,
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    ...(opts.bearer === true ? { security: [{ bearer: [] }] } : {}),
  };
}

/** Registers the collector; call before any route is registered. */
export async function registerOpenapi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    hideUntagged: true,
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'hubmesh API',
        version,
        description:
          'Rooms, moderation, accounts and uploads of a hubmesh node. Errors are JSON `{code, message}`; codes follow Reticulum where it has one (`not_found`, `closed`, `join_denied`) and are otherwise ours (`unauthenticated` 401, `unauthorized` 403, `bad_request` 422, `rate_limited` 429, `persist_failed` 503).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An account token (`hubmesh accounts create`, `POST /api/v1/accounts`) or, when configured, an OpenID Connect ID token.' } } },
      tags: [
        { name: 'rooms', description: 'Create, read, update and list rooms.' },
        { name: 'moderation', description: 'Kick, ban, mute, close and list members: for owners, the creator and admins.' },
        { name: 'accounts', description: 'Accounts and their tokens.' },
        { name: 'media', description: 'Encrypted uploads.' },
        { name: 'meta', description: 'About this node.' },
        { name: 'admin', description: "The node's operators (admins only): every room, status, drain." },
      ],
    },
  });
  const serve = async () => app.swagger();
  app.get('/docs', serve);
  app.get('/docs/openapi.json', serve);
}
