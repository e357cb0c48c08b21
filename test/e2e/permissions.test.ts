/**
 * Every permission against every role and entry mode, over the official
 * phoenix client and over HTTP, from tables: each row names a role, an action
 * and the exact reply (or status and body) expected. Roles: a guest, a
 * signed-in member, an owner (an owner row), the creator (the account that
 * created the room with its bearer token, or claimed it with the creator
 * assignment token), a global admin (every permission in every room, a
 * deliberate difference from Reticulum) and a disabled account. Each row gets
 * a fresh room on one node shared by the file. (Over 400 lines: it is one
 * acceptance test, a table per surface, and reads best whole.)
 */
import { randomUUID } from 'node:crypto';
import { Presence, type Channel, type Socket } from 'phoenix';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { accountMaker, api, apiAccount, createHubAs, permsClaims, type ApiResult } from '../support/accounts.js';
import { disconnectAll, join, phxSocket, profile, pushReply, type PushOutcome } from '../support/clients.js';
import { startTestNode } from '../support/node.js';
import { waitFor, within } from '../support/wait.js';

const ROLES = ['guest', 'member', 'owner', 'creator', 'admin'] as const;
type Role = (typeof ROLES)[number];
type Joiner = Role | 'disabled' | 'bystander';

const SID = /^[A-Za-z0-9]{7}$/;
/** Member permission bits: the restrictive default is voice and text chat only (parity 4.3). */
const ALL_MEMBER_BITS = 0xff;
const VOICE_ONLY = 0x40;

/** The 17 hub permissions (parity 4.2), and which each role holds in a room with the default member permissions. */
const PERMISSIONS = ['join_hub', 'update_hub', 'update_hub_promotion', 'update_roles', 'close_hub', 'embed_hub', 'kick_users', 'mute_users', 'amplify_audio', 'spawn_and_move_media', 'spawn_camera', 'spawn_drawing', 'pin_objects', 'spawn_emoji', 'fly', 'voice_chat', 'text_chat'];
const GRANTED: Record<Role, readonly string[]> = {
  guest: ['join_hub', 'voice_chat', 'text_chat'],
  member: ['join_hub', 'voice_chat', 'text_chat'],
  owner: PERMISSIONS.filter((p) => p !== 'update_roles'),
  creator: PERMISSIONS,
  admin: PERMISSIONS,
};
const ROLE_FLAGS: Record<Role, { owner: boolean; creator: boolean; signed_in: boolean }> = {
  guest: { owner: false, creator: false, signed_in: false },
  member: { owner: false, creator: false, signed_in: true },
  owner: { owner: true, creator: false, signed_in: true },
  creator: { owner: true, creator: true, signed_in: true },
  admin: { owner: false, creator: false, signed_in: true },
};
const permissionsOf = (role: Role) => Object.fromEntries(PERMISSIONS.map((p) => [p, GRANTED[role].includes(p)]));

type Outcome = PushOutcome | { readonly status: 'relayed'; readonly response: Record<string, unknown> };
const OK: Outcome = { status: 'ok', response: {} };
const OK_INVITE: Outcome = { status: 'ok', response: { hub_invite_id: expect.stringMatching(SID) } };
const refused = (reason: string, message: string): Outcome => ({ status: 'error', response: { reason, message } });
const needs = (event: string, permission: string) => refused('unauthorized', `${event} needs the ${permission} permission`);
const RELAYED = (type: string): Outcome => ({ status: 'relayed', response: { type, body: 'hello', session_id: expect.any(String) } });
const UNAUTHORIZED_CHAT = refused('unauthorized', 'chat messages need the text_chat permission');
const UNAUTHORIZED_PHOTO = refused('unauthorized', 'photo messages need the spawn_camera permission');

describe('permissions by role', async () => {
  const store = new MemoryStore();
  const node = await startTestNode({ scope: 'file', adapters: { store } });
  const makeAccount = await accountMaker(node, store);
  // The first admin is signed with the node's secret; everyone else comes through the API.
  const admin = await makeAccount({ isAdmin: true, email: 'root@example.org' });
  const accounts = {
    admin,
    member: await apiAccount(node, admin.token, { email: 'member@example.org' }),
    owner: await apiAccount(node, admin.token, { email: 'owner@example.org' }),
    creator: await apiAccount(node, admin.token, { email: 'creator@example.org' }),
    bystander: await apiAccount(node, admin.token, { email: 'bystander@example.org' }),
    disabled: await makeAccount({ email: 'gone@example.org', isDisabled: true }),
  };
  const tokenOf = (who: Joiner): string | undefined => (who === 'guest' ? undefined : accounts[who].token);

  /** A room created by the creator with its bearer token, where `owner` holds an owner row. */
  async function room(): Promise<string> {
    const { sid } = await createHubAs(node, accounts.creator.token, { name: 'Table' });
    await store.addOwner(sid, accounts.owner.accountId);
    return sid;
  }

  /** What a joined client saw: the events a permitted action causes, and its socket closing. */
  interface Joined {
    readonly socket: Socket;
    readonly channel: Channel;
    readonly presence: Presence;
    readonly reply: Record<string, unknown>;
    readonly sessionId: string;
    readonly seen: { event: string; payload: Record<string, unknown> }[];
  }
  const WATCHED = ['mute', 'hub_refresh', 'permissions_updated', 'pin', 'message', 'entity_state_saved'];

  // Closing a row's sockets together, at once, keeps the table quick (see disconnectAll).
  const sockets: Socket[] = [];
  afterEach(() => disconnectAll(sockets.splice(0)));

  function open(sid: string, who: Joiner, extra: Record<string, unknown> = {}) {
    const socket = phxSocket(node);
    sockets.push(socket);
    const token = tokenOf(who);
    const channel = socket.channel(`hub:${sid}`, { ...profile(who), ...(token === undefined ? {} : { auth_token: token }), ...extra });
    return { socket, channel, presence: new Presence(channel) };
  }

  async function enter(sid: string, who: Joiner, extra: Record<string, unknown> = {}): Promise<Joined> {
    const { socket, channel, presence } = open(sid, who, extra);
    const seen: Joined['seen'] = [];
    for (const event of WATCHED) channel.on(event, (payload: Record<string, unknown>) => void seen.push({ event, payload }));
    channel.onClose(() => void seen.push({ event: 'phx_close', payload: {} }));
    socket.onClose(() => void seen.push({ event: 'socket_close', payload: {} }));
    const reply = await join(channel);
    const sessionId = reply['session_id'] as string;
    await waitFor(() => metaOf(presence, sessionId) !== undefined, 5000, `${who} in presence`);
    return { socket, channel, presence, reply, sessionId, seen };
  }

  /** Joins and resolves with 'ok' or the error response; a refused channel is left so phoenix.js stops rejoining. */
  async function tryJoin(sid: string, who: Joiner, extra: Record<string, unknown> = {}): Promise<unknown> {
    const { channel } = open(sid, who, extra);
    const outcome = await join(channel).then(
      () => 'ok',
      (e: { response?: unknown }) => e.response ?? e,
    );
    channel.leave();
    return outcome;
  }

  describe('joining, by entry mode', () => {
    const JOIN_DENIED = { reason: 'join_denied', message: 'Join denied' };
    const CLOSED = { reason: 'closed', message: 'Hub no longer accessible' };
    const JOINERS = ['guest', 'member', 'owner', 'creator', 'admin', 'disabled'] as const;
    // Parity 2.4, rules 1-3 and 4.7; owners (and admins) pass an invite-only room without the invite.
    const JOIN_TABLE: Record<string, readonly unknown[]> = {
      //                                guest        member       owner   creator  admin   disabled
      'allow':                         ['ok',        'ok',        'ok',   'ok',    'ok',   JOIN_DENIED],
      'invite, no invite':             [JOIN_DENIED, JOIN_DENIED, 'ok',   'ok',    'ok',   JOIN_DENIED],
      'invite, the active invite':     ['ok',        'ok',        'ok',   'ok',    'ok',   JOIN_DENIED],
      'invite, a wrong invite':        [JOIN_DENIED, JOIN_DENIED, 'ok',   'ok',    'ok',   JOIN_DENIED],
      'invite, a revoked invite':      [JOIN_DENIED, JOIN_DENIED, 'ok',   'ok',    'ok',   JOIN_DENIED],
      'deny':                          [CLOSED,      CLOSED,      CLOSED, CLOSED,  CLOSED, CLOSED],
    };
    const rows = Object.entries(JOIN_TABLE).flatMap(([mode, column]) =>
      JOINERS.map((who, i) => ({ who, mode, expected: column[i], label: column[i] === 'ok' ? 'ok' : (column[i] as { reason: string }).reason })),
    );

    it.each(rows)('$who, $mode -> $label', async ({ who, mode, expected }) => {
      const sid = await room();
      const entryMode = mode.split(',')[0] as 'allow' | 'invite' | 'deny';
      await store.updateHub(sid, { entryMode });
      let params: Record<string, unknown> = {};
      if (mode === 'invite, the active invite') {
        // The invite link as an owner hands it out: fetch_invite on the channel.
        const creator = await enter(sid, 'creator');
        const invite = await pushReply(creator.channel, 'fetch_invite', {});
        expect(invite).toEqual(OK_INVITE);
        params = { hub_invite_id: invite.response['hub_invite_id'] };
      }
      if (mode === 'invite, a wrong invite') params = { hub_invite_id: 'Wrong42' };
      if (mode === 'invite, a revoked invite') {
        const creator = await enter(sid, 'creator');
        const invite = await pushReply(creator.channel, 'fetch_invite', {});
        const revoked = await pushReply(creator.channel, 'revoke_invite', { hub_invite_id: invite.response['hub_invite_id'] });
        expect(revoked).toEqual(OK_INVITE);
        expect(revoked.response['hub_invite_id']).not.toBe(invite.response['hub_invite_id']);
        params = { hub_invite_id: invite.response['hub_invite_id'] };
      }
      expect(await tryJoin(sid, who, params)).toEqual(expected);
    });

    it('joins with an auth_token that does not verify as a guest, as Reticulum does', async () => {
      const sid = await room();
      const forged = await enter(sid, 'guest', { auth_token: `${accounts.member.token}x` });
      expect(metaOf(forged.presence, forged.sessionId)?.['roles']).toEqual(ROLE_FLAGS.guest);
    });
  });

  describe('presence and perms token, by role', () => {
    it.each(ROLES)('%s', async (role) => {
      const sid = await room();
      const me = await enter(sid, role);
      const meta = metaOf(me.presence, me.sessionId)!;
      expect(meta['roles']).toEqual(ROLE_FLAGS[role]);
      expect(meta['permissions']).toEqual(permissionsOf(role));

      const expected = {
        ...permissionsOf(role),
        aud: 'ret_perms',
        hub_id: sid,
        tweet: false,
        create_hub: true,
        account_id: role === 'guest' ? null : String(accounts[role].accountId),
      };
      const claims = permsClaims(me.reply['perms_token']);
      expect(claims).toMatchObject(expected);
      expect(claims['postgrest_role']).toBe(role === 'admin' ? 'ret_admin' : undefined);
      const refreshed = await pushReply(me.channel, 'refresh_perms_token', {});
      expect(refreshed.status).toBe('ok');
      expect(permsClaims(refreshed.response['perms_token'])).toMatchObject(expected);
    });
  });

  describe('channel events, by role', () => {
    interface Scene {
      readonly sid: string;
      /** The role under test. */
      readonly actor: Joined;
      /** A signed-in member the action is aimed at, and who sees its effects. */
      readonly victim: Joined;
    }
    interface ChannelAction {
      /** Changes the room before anyone joins. */
      setup?(sid: string): Promise<unknown>;
      act(scene: Scene): Promise<Outcome>;
      /** What a permitted action did, seen by the victim. */
      effect?(scene: Scene, outcome: Outcome): Promise<void>;
    }
    const saw = (s: Scene, event: string, match: (p: Record<string, unknown>) => boolean = () => true) =>
      waitFor(() => s.victim.seen.some((x) => x.event === event && match(x.payload)), 5000, `${event} at the victim`);
    const toVictim = (event: string) => (s: Scene) => pushReply(s.actor.channel, event, { session_id: s.victim.sessionId });
    const chat = (type: string) => (s: Scene) => relayOrError(s.actor.channel, { type, body: 'hello' });
    const RESTRICTIVE = { voice_chat: true, text_chat: true };

    const ACTIONS: Record<string, ChannelAction> = {
      kick: { act: toVictim('kick'), effect: (s) => saw(s, 'socket_close') },
      mute: { act: toVictim('mute'), effect: (s) => saw(s, 'mute', (p) => p['session_id'] === s.victim.sessionId) },
      update_hub: {
        act: (s) => pushReply(s.actor.channel, 'update_hub', { name: 'Renamed', member_permissions: RESTRICTIVE }),
        effect: (s) => saw(s, 'hub_refresh', (p) => JSON.stringify(p['stale_fields']) === '["name"]' && (p['hubs'] as { name: string }[])[0]!.name === 'Renamed'),
      },
      close_hub: {
        act: (s) => pushReply(s.actor.channel, 'close_hub', {}),
        effect: async (s) => {
          await saw(s, 'hub_refresh', (p) => (p['hubs'] as { entry_mode: string }[])[0]!.entry_mode === 'deny');
          await saw(s, 'phx_close');
        },
      },
      add_owner: {
        act: toVictim('add_owner'),
        effect: async (s) => {
          await saw(s, 'permissions_updated');
          await waitFor(() => (metaOf(s.victim.presence, s.victim.sessionId)?.['roles'] as { owner: boolean }).owner, 5000, 'victim an owner');
        },
      },
      remove_owner: {
        setup: (sid) => store.addOwner(sid, accounts.bystander.accountId),
        act: toVictim('remove_owner'),
        effect: async (s) => {
          await saw(s, 'permissions_updated');
          await waitFor(() => !(metaOf(s.victim.presence, s.victim.sessionId)?.['roles'] as { owner: boolean }).owner, 5000, 'victim no longer an owner');
        },
      },
      fetch_invite: { act: (s) => pushReply(s.actor.channel, 'fetch_invite', {}) },
      revoke_invite: {
        setup: (sid) => store.createInvite(sid, 'OldInv7'),
        act: (s) => pushReply(s.actor.channel, 'revoke_invite', { hub_invite_id: 'OldInv7' }),
        effect: async (_s, outcome) => expect(outcome.response['hub_invite_id']).not.toBe('OldInv7'),
      },
      pin: {
        act: (s) => pushReply(s.actor.channel, 'pin', { id: 'obj-1', gltf_node: { name: 'thing' } }),
        effect: (s) => saw(s, 'pin', (p) => p['object_id'] === 'obj-1' && p['pinned_by'] === s.actor.sessionId),
      },
      'pin, members may pin': {
        setup: (sid) => store.updateHub(sid, { memberPermissions: ALL_MEMBER_BITS }),
        act: (s) => pushReply(s.actor.channel, 'pin', { id: 'obj-2', gltf_node: {} }),
        effect: (s) => saw(s, 'pin', (p) => p['object_id'] === 'obj-2'),
      },
      save_entity_state: {
        act: (s) => pushReply(s.actor.channel, 'save_entity_state', { nid: 'e1', create_message: { prefab: 'media' }, updates: [] }),
        effect: (s) => saw(s, 'entity_state_saved'),
      },
      chat: { act: chat('chat'), effect: (s) => saw(s, 'message', (p) => p['session_id'] === s.actor.sessionId) },
      'chat, text_chat off': {
        setup: (sid) => store.updateHub(sid, { memberPermissions: VOICE_ONLY }),
        act: chat('chat'),
        effect: (s) => saw(s, 'message', (p) => p['session_id'] === s.actor.sessionId),
      },
      photo: { act: chat('photo'), effect: (s) => saw(s, 'message', (p) => p['type'] === 'photo') },
    };

    const NO_ACCOUNT_PIN = refused('invalid_token', 'pin needs a signed-in account');
    const NO_ACCOUNT_SAVE = refused('not_logged_in', 'save_entity_state needs a signed-in account');
    const CHANNEL_TABLE: Record<keyof typeof ACTIONS, readonly [Outcome, Outcome, Outcome, Outcome, Outcome]> = {
      //                     guest                                      member                                   owner        creator      admin
      'kick':                [needs('kick', 'kick_users'),               needs('kick', 'kick_users'),              OK,          OK,          OK],
      'mute':                [needs('mute', 'mute_users'),               needs('mute', 'mute_users'),              OK,          OK,          OK],
      'update_hub':          [needs('update_hub', 'update_hub'),         needs('update_hub', 'update_hub'),        OK,          OK,          OK],
      'close_hub':           [needs('close_hub', 'close_hub'),           needs('close_hub', 'close_hub'),          OK,          OK,          OK],
      'add_owner':           [needs('add_owner', 'update_roles'),        needs('add_owner', 'update_roles'),       needs('add_owner', 'update_roles'), OK, OK],
      'remove_owner':        [needs('remove_owner', 'update_roles'),     needs('remove_owner', 'update_roles'),    needs('remove_owner', 'update_roles'), OK, OK],
      // Parity: without update_hub the reply is ok with nothing in it.
      'fetch_invite':        [OK,                                        OK,                                       OK_INVITE,   OK_INVITE,   OK_INVITE],
      'revoke_invite':       [OK,                                        OK,                                       OK_INVITE,   OK_INVITE,   OK_INVITE],
      'pin':                 [NO_ACCOUNT_PIN,                            needs('pin', 'pin_objects'),              OK,          OK,          OK],
      'pin, members may pin':[NO_ACCOUNT_PIN,                            OK,                                       OK,          OK,          OK],
      'save_entity_state':   [NO_ACCOUNT_SAVE,                           needs('save_entity_state', 'pin_objects'), OK,         OK,          OK],
      // Chat is relayed to everyone, sender included, with no reply (parity 2.8).
      'chat':                [RELAYED('chat'),                           RELAYED('chat'),                          RELAYED('chat'), RELAYED('chat'), RELAYED('chat')],
      'chat, text_chat off': [UNAUTHORIZED_CHAT,                         UNAUTHORIZED_CHAT,                        RELAYED('chat'), RELAYED('chat'), RELAYED('chat')],
      'photo':               [UNAUTHORIZED_PHOTO,                        UNAUTHORIZED_PHOTO,                       RELAYED('photo'), RELAYED('photo'), RELAYED('photo')],
    };
    const rows = Object.entries(CHANNEL_TABLE).flatMap(([action, column]) => ROLES.map((role, i) => ({ role, action, expected: column[i]! })));

    it.each(rows)('$role: $action -> $expected.status', async ({ role, action, expected }) => {
      const def = ACTIONS[action]!;
      const sid = await room();
      await def.setup?.(sid);
      const victim = await enter(sid, 'bystander');
      const actor = await enter(sid, role);
      await waitFor(() => metaOf(victim.presence, actor.sessionId) !== undefined, 5000, 'the victim sees the actor');
      const scene = { sid, actor, victim };
      const outcome = await def.act(scene);
      expect(outcome).toEqual(expected);
      if (outcome.status !== 'error') return def.effect?.(scene, outcome);
      // Refused: nothing happened. The room handles the actor's events in order, so once a later one is seen, so would be the effect.
      actor.channel.push('events:raise_hand', {});
      await waitFor(() => metaOf(victim.presence, actor.sessionId)?.['hand_raised'] === true, 5000, 'the marker');
      expect(victim.seen).toEqual([]);
      expect(victim.socket.isConnected()).toBe(true);
    });
  });

  describe('accounts on the channel', () => {
    it('signs a guest in and out, with presence and perms token following', async () => {
      const sid = await room();
      const me = await enter(sid, 'guest');
      const signedIn = await pushReply(me.channel, 'sign_in', { token: accounts.member.token });
      expect(Object.keys(signedIn.response)).toEqual(['perms_token']);
      expect(permsClaims(signedIn.response['perms_token'])).toMatchObject({ account_id: String(accounts.member.accountId), kick_users: false });
      await waitFor(() => (metaOf(me.presence, me.sessionId)?.['roles'] as { signed_in: boolean }).signed_in, 5000, 'signed in');
      expect(await pushReply(me.channel, 'pin', { id: 'x', gltf_node: {} })).toEqual(needs('pin', 'pin_objects'));

      expect(await pushReply(me.channel, 'sign_out', {})).toEqual(OK);
      await waitFor(() => !(metaOf(me.presence, me.sessionId)?.['roles'] as { signed_in: boolean }).signed_in, 5000, 'signed out');
      expect(await pushReply(me.channel, 'pin', { id: 'x', gltf_node: {} })).toEqual(refused('invalid_token', 'pin needs a signed-in account'));
    });

    it.each([
      ['a disabled account', () => accounts.disabled.token],
      ['a token that does not verify', () => `${accounts.member.token}x`],
      ['no token', () => undefined],
    ])('refuses sign_in with %s', async (_what, token) => {
      const sid = await room();
      const me = await enter(sid, 'guest');
      expect(await pushReply(me.channel, 'sign_in', { token: token() })).toEqual(refused('invalid_token', 'Sign in failed'));
      expect(metaOf(me.presence, me.sessionId)?.['roles']).toEqual(ROLE_FLAGS.guest);
    });

    it('makes the account that signs in with the creator assignment token the creator, once', async () => {
      const { sid, creatorAssignmentToken } = await createHubAs(node, undefined, { name: 'Unclaimed' });
      const claimer = await enter(sid, 'guest');
      const claimed = await pushReply(claimer.channel, 'sign_in', { token: accounts.member.token, creator_assignment_token: creatorAssignmentToken });
      expect(permsClaims(claimed.response['perms_token'])).toMatchObject(permissionsOf('creator'));
      await waitFor(() => JSON.stringify(metaOf(claimer.presence, claimer.sessionId)?.['roles']) === JSON.stringify(ROLE_FLAGS.creator), 5000, 'creator roles');
      expect(await store.getHub(sid)).toMatchObject({ createdByAccountId: accounts.member.accountId, creatorAssignmentToken: '' });

      // The new creator may make owners.
      const target = await enter(sid, 'bystander');
      expect(await pushReply(claimer.channel, 'add_owner', { session_id: target.sessionId })).toEqual(OK);
      await waitFor(() => (metaOf(target.presence, target.sessionId)?.['roles'] as { owner: boolean }).owner, 5000, 'an owner');
      expect(target.seen.map((s) => s.event)).toContain('permissions_updated');
      expect(await store.listOwners(sid)).toEqual([accounts.bystander.accountId]);

      // The token is spent: someone else signing in with it is just signed in.
      const late = await enter(sid, 'guest');
      const again = await pushReply(late.channel, 'sign_in', { token: accounts.owner.token, creator_assignment_token: creatorAssignmentToken });
      expect(permsClaims(again.response['perms_token'])).toMatchObject({ update_roles: false, kick_users: false });
    });
  });

  describe('HTTP, by caller', () => {
    const CALLERS = ['no token', 'bad token', 'session token', 'member', 'disabled', 'owner', 'creator', 'admin', 'admin, unknown room'] as const;
    type Caller = (typeof CALLERS)[number];
    const bearer = async (caller: Caller): Promise<string | undefined> => {
      switch (caller) {
        case 'no token':
          return undefined;
        case 'bad token':
          return `${accounts.admin.token}x`;
        case 'session token':
          // What a guest holds: a session token is no account token.
          return makeAccount.tokens.signSessionToken(randomUUID());
        case 'admin, unknown room':
          return accounts.admin.token;
        default:
          return accounts[caller].token;
      }
    };
    interface Endpoint {
      readonly needs: string;
      call(sid: string, token: string | undefined): Promise<ApiResult>;
      /** The body of a permitted call. */
      readonly body: unknown;
    }
    const hubs = (sid: string) => `/api/v1/hubs/${sid}`;
    const ENDPOINTS: Record<string, Endpoint> = {
      'PATCH /hubs/:sid': { needs: 'update_hub', call: (sid, token) => api(node, 'PATCH', hubs(sid), { token, body: { hub: { description: 'changed' } } }), body: { hubs: [expect.objectContaining({ description: 'changed' })] } },
      'POST /hubs/:sid/kick': { needs: 'kick_users', call: (sid, token) => api(node, 'POST', `${hubs(sid)}/kick`, { token, body: { session_id: 'nobody' } }), body: { kicked: true, ban: null } },
      'POST /hubs/:sid/mute': { needs: 'mute_users', call: (sid, token) => api(node, 'POST', `${hubs(sid)}/mute`, { token, body: { session_id: 'nobody' } }), body: { muted: true } },
      'POST /hubs/:sid/close': { needs: 'close_hub', call: (sid, token) => api(node, 'POST', `${hubs(sid)}/close`, { token }), body: { hubs: [expect.objectContaining({ entry_mode: 'deny' })] } },
      'POST /hubs/:sid/bans': {
        needs: 'kick_users',
        call: (sid, token) => api(node, 'POST', `${hubs(sid)}/bans`, { token, body: { session_id: 'nobody', duration_seconds: 60 } }),
        body: expect.objectContaining({ ban_id: expect.any(Number), session_id: 'nobody', account_id: null, expires_at: expect.any(String) }),
      },
      'GET /hubs/:sid/bans': { needs: 'kick_users', call: (sid, token) => api(node, 'GET', `${hubs(sid)}/bans`, { token }), body: { bans: [expect.objectContaining({ session_id: 'someone' })] } },
      'DELETE /hubs/:sid/bans/:id': {
        needs: 'kick_users',
        call: async (sid, token) => {
          const ban = await store.createBan({ hubSid: sid, sessionId: 'someone', accountId: null, reason: null, bannedByAccountId: null, expiresAt: null }).catch(() => ({ banId: 1 }));
          return api(node, 'DELETE', `${hubs(sid)}/bans/${ban.banId}`, { token });
        },
        body: null,
      },
      'GET /hubs/:sid/members': { needs: 'kick_users', call: (sid, token) => api(node, 'GET', `${hubs(sid)}/members`, { token }), body: { members: [] } },
      'GET /hubs/:sid/messages': { needs: 'kick_users', call: (sid, token) => api(node, 'GET', `${hubs(sid)}/messages`, { token }), body: { messages: [] } },
    };
    const HTTP_TABLE: Record<keyof typeof ENDPOINTS, readonly number[]> = {
      //                             no token  bad token  session  member  disabled  owner  creator  admin  unknown room
      'PATCH /hubs/:sid':            [401,     401,       401,     403,    403,      200,   200,     200,   404],
      'POST /hubs/:sid/kick':        [401,     401,       401,     403,    403,      200,   200,     200,   404],
      'POST /hubs/:sid/mute':        [401,     401,       401,     403,    403,      200,   200,     200,   404],
      'POST /hubs/:sid/close':       [401,     401,       401,     403,    403,      200,   200,     200,   404],
      'POST /hubs/:sid/bans':        [401,     401,       401,     403,    403,      201,   201,     201,   404],
      'GET /hubs/:sid/bans':         [401,     401,       401,     403,    403,      200,   200,     200,   404],
      'DELETE /hubs/:sid/bans/:id':  [401,     401,       401,     403,    403,      204,   204,     204,   404],
      'GET /hubs/:sid/members':      [401,     401,       401,     403,    403,      200,   200,     200,   404],
      'GET /hubs/:sid/messages':     [401,     401,       401,     403,    403,      200,   200,     200,   404],
    };
    const rows = Object.entries(HTTP_TABLE).flatMap(([endpoint, column]) => CALLERS.map((caller, i) => ({ caller, endpoint, status: column[i]! })));

    it.each(rows)('$caller: $endpoint -> $status', async ({ caller, endpoint, status }) => {
      const def = ENDPOINTS[endpoint]!;
      const sid = caller === 'admin, unknown room' ? 'NoSuchR' : await room();
      if (endpoint === 'GET /hubs/:sid/bans' && sid !== 'NoSuchR') await store.createBan({ hubSid: sid, sessionId: 'someone', accountId: null, reason: null, bannedByAccountId: null, expiresAt: null });
      const res = await def.call(sid, await bearer(caller));
      expect(res.status).toBe(status);
      const body =
        status === 401 ? { code: 'unauthenticated', message: 'a valid bearer token is needed' }
        : status === 404 ? { code: 'not_found', message: 'No such Hub' }
        : caller === 'disabled' ? { code: 'unauthorized', message: 'this account is disabled' }
        : status === 403 ? { code: 'unauthorized', message: `this needs the ${def.needs} permission in the room` }
        : def.body;
      expect(res.body).toEqual(body);
    });
  });
});

/** The presence meta of `sessionId` as a phoenix.js Presence holds it. */
function metaOf(presence: Presence, sessionId: string): Record<string, unknown> | undefined {
  let found: Record<string, unknown> | undefined;
  presence.list((id: string, { metas }: { metas: Record<string, unknown>[] }) => {
    if (id === sessionId) found = metas[metas.length - 1];
  });
  return found;
}

/** Pushes a message and resolves with its broadcast coming back to the sender, or with the error reply. */
function relayOrError(channel: Channel, payload: Record<string, unknown>): Promise<Outcome> {
  return within(
    new Promise<Outcome>((resolve) => {
      const ref = channel.on('message', (message: Record<string, unknown>) => {
        channel.off('message', ref);
        resolve({ status: 'relayed', response: message });
      });
      channel
        .push('message', payload)
        .receive('ok', (response: Record<string, unknown>) => resolve({ status: 'ok', response }))
        .receive('error', (response: Record<string, unknown>) => resolve({ status: 'error', response }));
    }),
    5000,
    'the message or its refusal',
  );
}
