/**
 * The operator API of a node, for admins only (what `hubmesh rooms list` and
 * `hubmesh drain` call): every room on the node, the node's status, and
 * draining it. Authentication runs in `onRequest`, so a caller without an
 * admin token learns nothing else (401 without a valid token, 403 for an
 * account that is not an admin).
 *
 * Draining here is the node's own shutdown (the composition root's `close`,
 * as on SIGTERM): clients on the `ret` channel get `ret-deploy`, the grace
 * period passes, the rest closes. The answer is sent before it starts, since
 * the shutdown closes the HTTP server too.
 */
import type { FastifyInstance } from 'fastify';
import { hubView, type Hub } from '../core/hub.js';
import { AppError } from '../errors.js';
import type { Identity } from '../ports/identity.js';
import type { Store } from '../ports/store.js';
import { bearerAccount } from './auth.js';
import { doc } from './openapi.js';
import type { RoomDirectory } from './rooms.js';

export interface AdminRoutesOptions {
  readonly store: Store;
  readonly identity: Identity;
  readonly rooms: RoomDirectory;
  /** How long a drain waits for clients to move before closing their sockets. */
  readonly drainGraceMs: number;
  /** Client sockets open on this node now. */
  connectionCount(): number;
  /** True once the node drains or shuts down (however that started). */
  isDraining(): boolean;
  /** Starts the node's drain and shutdown; idempotent; rejects only if the shutdown fails. */
  drain(): Promise<void>;
  baseUrl(): string;
}

/** How many stored rooms (newest first) the listing reads besides the live ones. */
const ROOMS_SCAN = 1000;

export async function adminRoutes(app: FastifyInstance, opts: AdminRoutesOptions): Promise<void> {
  app.addHook('onRequest', async (req) => {
    const account = await bearerAccount(req, opts.identity);
    if (!account.isAdmin) throw new AppError('UNAUTHORIZED', 'only an admin may do this');
  });

  const status = () => ({ status: opts.isDraining() ? 'draining' : 'serving', sockets: opts.connectionCount(), drain_grace_ms: opts.drainGraceMs });

  app.get('/api/v1/admin/rooms', { schema: doc('admin', 'Every room live on the node (or in its cluster) and the newest 1000 stored rooms, public or not, busiest first (admins only)', { bearer: true }) }, async () => {
    const live = opts.rooms.clusterCounts();
    const byId = new Map<string, Hub>();
    for (const hub of await opts.store.listHubs(ROOMS_SCAN)) byId.set(hub.hubSid, hub);
    const missing = [...live.keys()].filter((sid) => !byId.has(sid));
    for (const hub of await Promise.all(missing.map((sid) => opts.store.getHub(sid)))) if (hub) byId.set(hub.hubSid, hub);
    const members = (hub: Hub) => live.get(hub.hubSid) ?? 0;
    const ordered = [...byId.values()].sort((a, b) => members(b) - members(a) || Number(live.has(b.hubSid)) - Number(live.has(a.hubSid)) || b.createdAt.getTime() - a.createdAt.getTime());
    return {
      rooms: ordered.map((hub) => ({ ...hubView(hub, { ...opts.rooms.counts(hub.hubSid), memberCount: members(hub) }, { baseUrl: opts.baseUrl() }), is_live: live.has(hub.hubSid) })),
    };
  });

  app.get('/api/v1/admin/status', { schema: doc('admin', 'Whether the node serves or drains, and its open sockets (admins only)', { bearer: true }) }, async () => status());

  app.post('/api/v1/admin/drain', { schema: doc('admin', 'Drain the node: clients are told to move, and it shuts down after the grace period (admins only)', { bearer: true }) }, async (req, reply) => {
    req.log.info({ sockets: opts.connectionCount() }, 'drain requested');
    reply.raw.once('finish', () => {
      opts.drain().catch((err: unknown) => req.log.error({ err }, 'shutdown failed'));
    });
    return reply.status(202).send({ ...status(), status: 'draining' });
  });
}
