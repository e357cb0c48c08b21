/**
 * Rooms through the API (parity 6): `POST /api/v1/hubs` with Reticulum's
 * body and answer, and `GET /api/v1/hubs/:sid` with the hub view.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { hubPath, hubView, type Hub } from '../core/hub.js';
import { PERMISSIVE_MEMBER_PERMISSIONS, RESTRICTIVE_MEMBER_PERMISSIONS } from '../core/permissions.js';
import { sidFromBytes } from '../core/sids.js';
import { slugify } from '../core/slug.js';
import { AppError } from '../errors.js';
import type { Store } from '../ports/store.js';

export interface HubRoutesOptions {
  readonly store: Store;
  readonly defaultRoomSize: number;
  readonly maxRoomSize: number;
  readonly permissiveRooms: boolean;
  baseUrl(): string;
  /** Live presence counts of a room. */
  counts(hubSid: string): { memberCount: number; lobbyCount: number };
}

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
  app.post<{ Body: CreateBody }>('/api/v1/hubs', { schema: { body: createBodySchema(opts.maxRoomSize) } }, async (req) => {
    const input = req.body.hub;
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
  });

  app.get<{ Params: { sid: string } }>('/api/v1/hubs/:sid', async (req) => {
    const hub = await opts.store.getHub(req.params.sid);
    if (!hub) throw new AppError('HUB_NOT_FOUND', 'No such Hub');
    return { hubs: [hubView(hub, opts.counts(hub.hubSid), { baseUrl: opts.baseUrl() })] };
  });
}
