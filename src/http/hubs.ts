/**
 * Rooms through the API (parity 6): `POST /api/v1/hubs` with Reticulum's
 * body and answer (a signed-in caller becomes the creator), `GET
 * /api/v1/hubs/:sid` with the hub view, `PATCH /api/v1/hubs/:sid` for those
 * who may update the room, and `GET /api/v1/hubs?order=hot|new` listing
 * public rooms (`allow_promotion`), the hot ones by live members across the
 * cluster.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { hubPath, hubView, type Hub } from '../core/hub.js';
import { decideHubUpdate } from '../core/hub-update.js';
import { simulationSettingsProblem } from '../sim/simulation.js';
import { PERMISSIVE_MEMBER_PERMISSIONS, RESTRICTIVE_MEMBER_PERMISSIONS } from '../core/permissions.js';
import { sidFromBytes } from '../core/sids.js';
import { slugify } from '../core/slug.js';
import { AppError } from '../errors.js';
import type { Identity } from '../ports/identity.js';
import type { Store } from '../ports/store.js';
import { doc } from './openapi.js';
import { authenticateFirst, callerIn, optionalAccount, recordAudit, type RoomDirectory } from './rooms.js';

export interface HubRoutesOptions {
  readonly store: Store;
  readonly identity: Identity;
  readonly rooms: RoomDirectory;
  readonly defaultRoomSize: number;
  readonly maxRoomSize: number;
  readonly permissiveRooms: boolean;
  /** Room creations allowed per second per client address (Reticulum: 1). */
  readonly createPerSec: number;
  /** The simulations this node offers rooms, for checking `user_data`. */
  readonly simulationNames: ReadonlySet<string>;
  baseUrl(): string;
}

/** How many public rooms a listing considers and returns at most. */
const LIST_SCAN = 500;
const LIST_MAX = 100;

const listQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    order: { type: 'string', enum: ['hot', 'new'], default: 'new' },
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' },
  },
} as const;

const patchBodySchema = {
  type: 'object',
  required: ['hub'],
  additionalProperties: false,
  properties: {
    hub: {
      type: 'object',
      additionalProperties: false,
      properties: {
        name: { type: 'string' },
        description: { type: ['string', 'null'] },
        room_size: { type: 'integer' },
        user_data: { type: ['object', 'null'] },
        member_permissions: { type: 'object' },
        allow_promotion: { type: 'boolean' },
        entry_mode: { type: 'string' },
      },
    },
  },
} as const;

function createBodySchema(maxRoomSize: number) {
  return {
    type: 'object',
    required: ['hub'],
    properties: {
      hub: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 64, pattern: '\\S' },
          description: { type: ['string', 'null'], maxLength: 64000 },
          room_size: { type: 'integer', minimum: 1, maximum: maxRoomSize },
          user_data: { type: ['object', 'null'] },
          scene_id: { type: ['string', 'null'] },
          default_environment_gltf_bundle_url: { type: ['string', 'null'] },
        },
      },
    },
  } as const;
}

type CreateBody = FromSchema<ReturnType<typeof createBodySchema>>;

const SID_ATTEMPTS = 5;

/**
 * Stores a new room under a fresh sid. The store refuses a taken sid, so a
 * collision (vanishingly rare) just draws again, with no read first.
 */
async function storeWithFreshSid(store: Store, make: (sid: string) => Hub): Promise<Hub> {
  for (let i = 0; i < SID_ATTEMPTS; i++) {
    const sid = sidFromBytes(randomBytes(32));
    if (!sid) continue;
    const hub = make(sid);
    try {
      await store.createHub(hub);
      return hub;
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'BAD_REQUEST')) throw err;
    }
  }
  throw new AppError('INTERNAL', 'could not allocate a room id');
}

export async function hubRoutes(app: FastifyInstance, opts: HubRoutesOptions): Promise<void> {
  app.post<{ Body: CreateBody }>(
    '/api/v1/hubs',
    { schema: { ...doc('rooms', 'Create a room (a bearer token makes its account the creator)'), body: createBodySchema(opts.maxRoomSize) }, config: { rateLimit: { max: opts.createPerSec, timeWindow: 1000 } } },
    async (req) => {
    const input = req.body.hub;
    const problem = simulationSettingsProblem((input.user_data as Record<string, unknown> | null | undefined) ?? null, opts.simulationNames);
    if (problem) throw new AppError('BAD_REQUEST', problem);
    const account = await optionalAccount(req, opts.identity);
    const hub = await storeWithFreshSid(opts.store, (hubSid) => ({
      hubSid,
      name: input.name.trim(),
      slug: slugify(input.name),
      description: input.description ?? null,
      userData: (input.user_data as Record<string, unknown> | null | undefined) ?? null,
      roomSize: input.room_size ?? opts.defaultRoomSize,
      memberPermissions: opts.permissiveRooms ? PERMISSIVE_MEMBER_PERMISSIONS : RESTRICTIVE_MEMBER_PERMISSIONS,
      entryMode: 'allow',
      allowPromotion: false,
      creatorAssignmentToken: randomBytes(16).toString('hex'),
      embedToken: randomBytes(16).toString('hex'),
      embedded: false,
      createdByAccountId: account?.accountId ?? null,
      host: null,
      createdAt: new Date(),
    }));
    req.log.info({ hubSid: hub.hubSid }, 'hub created');
    return {
      status: 'ok',
      hub_id: hub.hubSid,
      url: `${opts.baseUrl()}${hubPath(hub)}`,
      creator_assignment_token: hub.creatorAssignmentToken,
      embed_token: hub.embedToken,
    };
    },
  );

  app.get<{ Params: { sid: string } }>('/api/v1/hubs/:sid', { schema: doc('rooms', 'Read a room') }, async (req) => {
    const hub = await opts.store.getHub(req.params.sid);
    if (!hub) throw new AppError('HUB_NOT_FOUND', 'No such Hub');
    return { hubs: [hubView(hub, opts.rooms.counts(hub.hubSid), { baseUrl: opts.baseUrl() })] };
  });

  app.get<{ Querystring: FromSchema<typeof listQuerySchema> }>('/api/v1/hubs', { schema: { ...doc('rooms', 'List public rooms, newest or most populated (order=hot) first'), querystring: listQuerySchema } }, async (req) => {
    const limit = Math.min(LIST_MAX, Number(req.query.limit ?? 20));
    const hubs = await opts.store.listPublicHubs(LIST_SCAN);
    const live = opts.rooms.clusterCounts();
    const ranked = req.query.order === 'hot' ? [...hubs].sort((a, b) => (live.get(b.hubSid) ?? 0) - (live.get(a.hubSid) ?? 0)) : hubs;
    return {
      hubs: ranked.slice(0, limit).map((hub) => hubView(hub, { ...opts.rooms.counts(hub.hubSid), memberCount: live.get(hub.hubSid) ?? 0 }, { baseUrl: opts.baseUrl() })),
    };
  });

  app.patch<{ Params: { sid: string }; Body: FromSchema<typeof patchBodySchema> }>('/api/v1/hubs/:sid', { onRequest: authenticateFirst(opts.identity), schema: { ...doc('rooms', 'Change a room (member_permissions are merged)', { bearer: true }), body: patchBodySchema } }, async (req) => {
    const { hub, account, permissions } = await callerIn(req, opts, req.params.sid, 'update_hub');
    const decision = decideHubUpdate(hub, req.body.hub as Record<string, unknown>, {
      mode: 'api',
      canPromote: permissions.update_hub_promotion,
      maxRoomSize: opts.maxRoomSize,
      checkUserData: (d) => simulationSettingsProblem(d, opts.simulationNames),
    });
    if (!decision.ok) throw new AppError('BAD_REQUEST', decision.message);
    let updated = hub;
    if (decision.stale.length > 0) {
      updated = (await opts.store.updateHub(hub.hubSid, decision.changes)) ?? hub;
      opts.rooms.command(hub.hubSid, { op: 'hub', hub: updated, stale: decision.stale, by: null });
      recordAudit(opts.store, req, { hub, account }, 'update_hub', null, { stale_fields: [...decision.stale] });
    }
    return { hubs: [hubView(updated, opts.rooms.counts(hub.hubSid), { baseUrl: opts.baseUrl(), canEmbed: permissions.embed_hub })] };
  });
}
