/**
 * The moderation API (parity 4.5-4.6, done on the server): kick, ban, mute,
 * close and list members of a room, for callers whose bearer token belongs to
 * an owner, the creator or an admin. Reticulum moderates only over the
 * channel and has no bans; here a ban keeps a session or an account out until
 * it ends, and a kick or ban closes the target's sockets on every node.
 * Every action is written to the audit log.
 */
import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { hubView } from '../core/hub.js';
import { AppError } from '../errors.js';
import type { Identity } from '../ports/identity.js';
import type { Ban, Store } from '../ports/store.js';
import { doc } from './openapi.js';
import { authenticateFirst, callerIn, recordAudit, type RoomDirectory } from './rooms.js';

export interface ModerationOptions {
  readonly store: Store;
  readonly identity: Identity;
  readonly rooms: RoomDirectory;
  baseUrl(): string;
  now(): number;
}

const sidParams = { type: 'object', required: ['sid'], properties: { sid: { type: 'string' } } } as const;

/** Who: a session, an account, or both. */
const targetProps = {
  session_id: { type: 'string', minLength: 1, maxLength: 64 },
  account_id: { type: 'integer', minimum: 1 },
  reason: { type: 'string', maxLength: 500 },
} as const;

const kickBody = {
  type: 'object',
  additionalProperties: false,
  anyOf: [{ required: ['session_id'] }, { required: ['account_id'] }],
  properties: { ...targetProps, ban_seconds: { type: 'integer', minimum: 1, maximum: 315_360_000 } },
} as const;

const banBody = {
  type: 'object',
  additionalProperties: false,
  anyOf: [{ required: ['session_id'] }, { required: ['account_id'] }],
  properties: { ...targetProps, duration_seconds: { type: 'integer', minimum: 1, maximum: 315_360_000 } },
} as const;

const muteBody = { type: 'object', additionalProperties: false, required: ['session_id'], properties: { session_id: targetProps.session_id } } as const;

type KickBody = FromSchema<typeof kickBody>;
type BanBody = FromSchema<typeof banBody>;

function banView(ban: Ban) {
  return {
    ban_id: ban.banId,
    session_id: ban.sessionId,
    account_id: ban.accountId,
    reason: ban.reason,
    banned_by_account_id: ban.bannedByAccountId,
    created_at: ban.createdAt.toISOString(),
    expires_at: ban.expiresAt?.toISOString() ?? null,
  };
}

function targetOf(body: { session_id?: string; account_id?: number }): string {
  return [body.session_id !== undefined ? `session:${body.session_id}` : null, body.account_id !== undefined ? `account:${body.account_id}` : null].filter(Boolean).join(' ');
}

export async function moderationRoutes(app: FastifyInstance, opts: ModerationOptions): Promise<void> {
  // Every route here needs a bearer token: checked before the body, in this plugin's scope only.
  app.addHook('onRequest', authenticateFirst(opts.identity));
  /** Stores a ban, then tells every node and puts the target out. */
  const ban = async (hubSid: string, by: number, body: { session_id?: string; account_id?: number; reason?: string }, seconds: number | undefined): Promise<Ban> => {
    const stored = await opts.store.createBan({
      hubSid,
      sessionId: body.session_id ?? null,
      accountId: body.account_id ?? null,
      reason: body.reason ?? null,
      bannedByAccountId: by,
      expiresAt: seconds === undefined ? null : new Date(opts.now() + seconds * 1000),
    });
    opts.rooms.command(hubSid, { op: 'ban', banId: stored.banId, ban: stored });
    return stored;
  };

  app.post<{ Params: { sid: string }; Body: KickBody }>('/api/v1/hubs/:sid/kick', { schema: { ...doc('moderation', 'Kick a session or an account out of the room, optionally banning it', { bearer: true }), params: sidParams, body: kickBody } }, async (req) => {
    const { hub, account } = await callerIn(req, opts, req.params.sid, 'kick_users');
    const body = req.body;
    const stored = body.ban_seconds !== undefined ? await ban(hub.hubSid, account.accountId, body, body.ban_seconds) : null;
    opts.rooms.command(hub.hubSid, { op: 'kick', session: body.session_id ?? null, account: body.account_id ?? null });
    recordAudit(opts.store, req, { hub, account }, 'kick', targetOf(body), { reason: body.reason ?? null, ban_seconds: body.ban_seconds ?? null });
    return { kicked: true, ban: stored ? banView(stored) : null };
  });

  app.get<{ Params: { sid: string } }>('/api/v1/hubs/:sid/bans', { schema: { ...doc('moderation', 'List the bans in force', { bearer: true }), params: sidParams } }, async (req) => {
    const { hub } = await callerIn(req, opts, req.params.sid, 'kick_users');
    return { bans: (await opts.store.listBans(hub.hubSid, new Date(opts.now()))).map(banView) };
  });

  app.post<{ Params: { sid: string }; Body: BanBody }>('/api/v1/hubs/:sid/bans', { schema: { ...doc('moderation', 'Ban a session or an account (and put it out of the room now)', { bearer: true }), params: sidParams, body: banBody } }, async (req, reply) => {
    const { hub, account } = await callerIn(req, opts, req.params.sid, 'kick_users');
    const body = req.body;
    const stored = await ban(hub.hubSid, account.accountId, body, body.duration_seconds);
    // A ban takes effect at once: whoever it names leaves the room now.
    opts.rooms.command(hub.hubSid, { op: 'kick', session: body.session_id ?? null, account: body.account_id ?? null });
    recordAudit(opts.store, req, { hub, account }, 'ban', targetOf(body), { reason: body.reason ?? null, ban_id: stored.banId });
    return reply.status(201).send(banView(stored));
  });

  app.delete<{ Params: { sid: string; id: string } }>('/api/v1/hubs/:sid/bans/:id', { schema: doc('moderation', 'Lift a ban', { bearer: true }) }, async (req, reply) => {
    const { hub, account } = await callerIn(req, opts, req.params.sid, 'kick_users');
    const banId = /^[1-9][0-9]{0,15}$/.test(req.params.id) ? Number(req.params.id) : NaN;
    if (!Number.isSafeInteger(banId) || !(await opts.store.deleteBan(hub.hubSid, banId))) throw new AppError('NO_SUCH_BAN', 'no such ban in this room');
    opts.rooms.command(hub.hubSid, { op: 'unban', banId });
    recordAudit(opts.store, req, { hub, account }, 'unban', `ban:${banId}`);
    return reply.status(204).send();
  });

  app.post<{ Params: { sid: string }; Body: FromSchema<typeof muteBody> }>('/api/v1/hubs/:sid/mute', { schema: { ...doc('moderation', 'Ask a session to mute its microphone', { bearer: true }), params: sidParams, body: muteBody } }, async (req) => {
    const { hub, account } = await callerIn(req, opts, req.params.sid, 'mute_users');
    opts.rooms.command(hub.hubSid, { op: 'mute', session: req.body.session_id });
    recordAudit(opts.store, req, { hub, account }, 'mute', `session:${req.body.session_id}`);
    return { muted: true };
  });

  app.post<{ Params: { sid: string } }>('/api/v1/hubs/:sid/close', { schema: { ...doc('moderation', 'Close the room: everyone is put out and later joins get closed', { bearer: true }), params: sidParams } }, async (req) => {
    const { hub, account } = await callerIn(req, opts, req.params.sid, 'close_hub');
    const closed = (await opts.store.updateHub(hub.hubSid, { entryMode: 'deny' })) ?? hub;
    opts.rooms.command(hub.hubSid, { op: 'hub', hub: closed, stale: ['entry_mode'], by: null, close: true });
    recordAudit(opts.store, req, { hub, account }, 'close', null);
    return { hubs: [hubView(closed, opts.rooms.counts(hub.hubSid), { baseUrl: opts.baseUrl() })] };
  });

  app.get<{ Params: { sid: string }; Querystring: { limit?: string } }>(
    '/api/v1/hubs/:sid/messages',
    { schema: { ...doc('moderation', "The room's chat history, oldest first", { bearer: true }), params: sidParams, querystring: { type: 'object', properties: { limit: { type: 'string', pattern: '^[1-9][0-9]{0,4}$' } } } } },
    async (req) => {
      const { hub } = await callerIn(req, opts, req.params.sid, 'kick_users');
      const messages = await opts.store.listChat(hub.hubSid, Number(req.query.limit ?? 100));
      return { messages: messages.map((m) => ({ session_id: m.sessionId, account_id: m.accountId, type: m.type, body: m.body, at: m.createdAt?.toISOString() ?? null })) };
    },
  );

  app.get<{ Params: { sid: string } }>('/api/v1/hubs/:sid/members', { schema: { ...doc('moderation', 'Who is in the room, on every node', { bearer: true }), params: sidParams } }, async (req) => {
    const { hub } = await callerIn(req, opts, req.params.sid, 'kick_users');
    const presence = await opts.rooms.members(hub.hubSid);
    return {
      members: Object.entries(presence).map(([sessionId, { metas }]) => {
        const meta = metas[metas.length - 1] ?? {};
        const profile = (meta['profile'] ?? {}) as Record<string, unknown>;
        return {
          session_id: sessionId,
          display_name: typeof profile['displayName'] === 'string' ? profile['displayName'] : null,
          presence: meta['presence'] ?? null,
          roles: meta['roles'] ?? null,
          connections: metas.length,
        };
      }),
    };
  });
}
