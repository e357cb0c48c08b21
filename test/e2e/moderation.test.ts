/**
 * Moderation end to end with phoenix.js clients: kick, bans, close, mute and
 * the room size, over the API and over the channel, on one node and across
 * two nodes of an in-process cluster (a MemoryBus, as test/e2e/mesh.test.ts),
 * and the audit log they leave.
 */
import { Presence, type Channel, type Socket } from 'phoenix';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBusNetwork } from '../../src/adapters/memory-bus.js';
import { MemoryLeaseBoard } from '../../src/adapters/memory-leases.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { SystemClock } from '../../src/adapters/system-clock.js';
import type { HubmeshNode } from '../../src/main.js';
import { accountMaker, api, createHubAs, type TestAccount } from '../support/accounts.js';
import { disconnectAll, join, phxSocket, profile, pushReply } from '../support/clients.js';
import { startTestNode } from '../support/node.js';
import { eventually, waitFor } from '../support/wait.js';

const BANNED = { reason: 'banned', message: 'You are banned from this room' };
const CLOSED = { reason: 'closed', message: 'Hub no longer accessible' };
const BANNED_UNTIL = { reason: 'banned', message: expect.stringMatching(/^You are banned from this room until \d{4}-\d\d-\d\dT/) };

/** A client in a room: what it was pushed, how its channel and socket ended, and who it sees. */
interface Member {
  readonly socket: Socket;
  readonly channel: Channel;
  readonly presence: Presence;
  readonly sessionId: string;
  readonly sessionToken: string;
  readonly seen: { event: string; payload: Record<string, unknown> }[];
  /** Close codes of its socket; after one, phoenix.js is told not to reconnect, as a client that was put out. */
  readonly closes: number[];
  readonly leaves: string[];
}

const sockets: Socket[] = [];
afterEach(() => disconnectAll(sockets.splice(0)));

interface JoinAs {
  readonly token?: string;
  readonly sessionToken?: string;
  /** More join params, such as `hub_invite_id`. */
  readonly params?: Record<string, unknown>;
}

function open(node: HubmeshNode, sid: string, name: string, as: JoinAs = {}) {
  const socket = phxSocket(node, as.sessionToken === undefined ? {} : { session_token: as.sessionToken });
  sockets.push(socket);
  const channel = socket.channel(`hub:${sid}`, { ...profile(name), ...(as.token === undefined ? {} : { auth_token: as.token }), ...as.params });
  return { socket, channel };
}

async function enter(node: HubmeshNode, sid: string, name: string, as: JoinAs = {}): Promise<Member> {
  const { socket, channel } = open(node, sid, name, as);
  const presence = new Presence(channel);
  const seen: Member['seen'] = [];
  const closes: number[] = [];
  const leaves: string[] = [];
  for (const event of ['mute', 'hub_refresh', 'message']) channel.on(event, (payload: Record<string, unknown>) => void seen.push({ event, payload }));
  channel.on('presence_diff', (diff: { leaves: Record<string, unknown> }) => void leaves.push(...Object.keys(diff.leaves)));
  channel.onClose(() => void seen.push({ event: 'phx_close', payload: {} }));
  socket.onClose((e: unknown) => {
    closes.push((e as { code: number }).code);
    socket.disconnect();
  });
  const reply = await join(channel);
  return { socket, channel, presence, sessionId: reply['session_id'] as string, sessionToken: reply['session_token'] as string, seen, closes, leaves };
}

/** 'ok' with the session id, or the error response. */
async function tryJoin(node: HubmeshNode, sid: string, name: string, as: JoinAs = {}): Promise<unknown> {
  const { channel } = open(node, sid, name, as);
  const outcome = await join(channel).then(
    (reply) => ({ ok: reply['session_id'] }),
    (e: { response?: unknown }) => e.response ?? e,
  );
  channel.leave();
  return outcome;
}

/** The room's active invite, as an owner gets it to hand out. */
async function fetchInvite(owner: Member): Promise<string> {
  const reply = await pushReply(owner.channel, 'fetch_invite', {});
  expect(reply).toEqual({ status: 'ok', response: { hub_invite_id: expect.any(String) } });
  return reply.response['hub_invite_id'] as string;
}

const names = (presence: Presence) => presence.list((_id: string, { metas }: { metas: { profile: { displayName: string } }[] }) => metas[0]!.profile.displayName).sort();
const events = (m: Member, event: string) => m.seen.filter((s) => s.event === event).map((s) => s.payload);

async function setup(node: HubmeshNode, store: MemoryStore, secret?: string) {
  const makeAccount = await accountMaker(node, store, secret);
  const owner = await makeAccount({ email: 'owner@example.org' });
  const member = await makeAccount({ email: 'member@example.org' });
  const creator = await makeAccount({ email: 'creator@example.org' });
  const room = async (hub: Record<string, unknown> = {}) => {
    const { sid } = await createHubAs(node, creator.token, { name: 'Moderated', ...hub });
    await store.addOwner(sid, owner.accountId);
    return sid;
  };
  return { owner, member, creator, room };
}

describe('moderation on one node', async () => {
  const store = new MemoryStore();
  const node = await startTestNode({ scope: 'file', adapters: { store } });
  const { owner, member, room } = await setup(node, store);
  const post = (path: string, body?: unknown, token: string = owner.token) => api(node, 'POST', path, { token, body });

  it('kicks over HTTP: the target\'s socket closes, the others see it leave, and it may come back', async () => {
    const sid = await room();
    const alice = await enter(node, sid, 'alice');
    const bob = await enter(node, sid, 'bob');
    await waitFor(() => names(alice.presence).length === 2, 5000, 'both');

    expect(await post(`/api/v1/hubs/${sid}/kick`, { session_id: bob.sessionId, reason: 'spam' })).toEqual({ status: 200, body: { kicked: true, ban: null } });
    await waitFor(() => bob.closes.length > 0, 5000, 'bob closed');
    expect(bob.closes).toEqual([1000]);
    await waitFor(() => alice.leaves.includes(bob.sessionId), 5000, 'bob leaves at alice');
    expect(names(alice.presence)).toEqual(['alice']);
    expect(alice.closes).toEqual([]);
    // Parity 4.5: a kick is no ban.
    expect(await tryJoin(node, sid, 'bob', { sessionToken: bob.sessionToken })).toEqual({ ok: bob.sessionId });
  });

  it('kicks only members of the room: its owner cannot put out a session sitting in another room', async () => {
    const [sid, other] = [await room(), await room()];
    const mod = await enter(node, sid, 'mod', { token: owner.token });
    const carol = await enter(node, sid, 'carol');
    const alice = await enter(node, other, 'alice');
    expect(await pushReply(mod.channel, 'kick', { session_id: alice.sessionId })).toEqual({ status: 'ok', response: {} });
    expect(await pushReply(mod.channel, 'kick', { session_id: carol.sessionId })).toEqual({ status: 'ok', response: {} });
    // The room acts on its commands in order: once carol is out, the kick naming alice has been handled.
    await waitFor(() => carol.closes.length > 0, 5000, 'carol closed');
    expect(await pushReply(alice.channel, 'get_host', {})).toMatchObject({ status: 'ok' });
    expect(alice.closes).toEqual([]);
  });

  it('bans with the kick: the same session is refused with banned until the ban is lifted', async () => {
    const sid = await room();
    const alice = await enter(node, sid, 'alice');
    const bob = await enter(node, sid, 'bob');
    const kicked = await post(`/api/v1/hubs/${sid}/kick`, { session_id: bob.sessionId, ban_seconds: 3600 });
    expect(kicked.status).toBe(200);
    expect(kicked.body).toMatchObject({ kicked: true, ban: { session_id: bob.sessionId, account_id: null, banned_by_account_id: owner.accountId } });
    await waitFor(() => bob.closes.length > 0 && alice.leaves.includes(bob.sessionId), 5000, 'bob out');

    expect(await tryJoin(node, sid, 'bob', { sessionToken: bob.sessionToken })).toEqual(BANNED_UNTIL);
    // A new session is someone else.
    expect(await tryJoin(node, sid, 'bob')).toMatchObject({ ok: expect.any(String) });

    const bans = await api(node, 'GET', `/api/v1/hubs/${sid}/bans`, { token: owner.token });
    expect(bans.body).toEqual({ bans: [(kicked.body as { ban: unknown }).ban] });
    const banId = (kicked.body as { ban: { ban_id: number } }).ban.ban_id;
    expect(await api(node, 'DELETE', `/api/v1/hubs/${sid}/bans/${banId}`, { token: owner.token })).toEqual({ status: 204, body: null });
    expect(await tryJoin(node, sid, 'bob', { sessionToken: bob.sessionToken })).toEqual({ ok: bob.sessionId });
    expect((await api(node, 'DELETE', `/api/v1/hubs/${sid}/bans/${banId}`, { token: owner.token })).status).toBe(404);
  });

  it('bans an account: it is put out now and kept out from a fresh session', async () => {
    const sid = await room();
    const alice = await enter(node, sid, 'alice');
    const mel = await enter(node, sid, 'mel', { token: member.token });
    const res = await post(`/api/v1/hubs/${sid}/bans`, { account_id: member.accountId, reason: 'abuse' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ session_id: null, account_id: member.accountId, reason: 'abuse', expires_at: null });
    await waitFor(() => mel.closes.length > 0 && alice.leaves.includes(mel.sessionId), 5000, 'mel out');
    expect(await tryJoin(node, sid, 'mel', { token: member.token })).toEqual(BANNED);
    // The ban is on the account, not on whoever holds the session.
    expect(await tryJoin(node, sid, 'guest')).toMatchObject({ ok: expect.any(String) });
  });

  it.each([
    ['over HTTP', async (sid: string) => expect((await post(`/api/v1/hubs/${sid}/close`)).status).toBe(200)],
    [
      'with close_hub on the channel',
      async (sid: string) => {
        const closer = await enter(node, sid, 'owner', { token: owner.token });
        expect(await pushReply(closer.channel, 'close_hub', {})).toEqual({ status: 'ok', response: {} });
      },
    ],
  ])('closes the room %s: everyone is told and put out, and later joins get closed', async (_how, close) => {
    const sid = await room();
    const alice = await enter(node, sid, 'alice');
    const bob = await enter(node, sid, 'bob', { token: member.token });
    await close(sid);
    for (const m of [alice, bob]) {
      await waitFor(() => events(m, 'phx_close').length === 1, 5000, 'phx_close');
      expect(events(m, 'hub_refresh')).toEqual([expect.objectContaining({ stale_fields: ['entry_mode'], hubs: [expect.objectContaining({ entry_mode: 'deny' })] })]);
      // The channel ended, the socket did not.
      expect(m.closes).toEqual([]);
    }
    expect((await api(node, 'GET', `/api/v1/hubs/${sid}/members`, { token: owner.token })).body).toEqual({ members: [] });
    expect(await tryJoin(node, sid, 'carol')).toEqual(CLOSED);
    expect(await tryJoin(node, sid, 'owner', { token: owner.token })).toEqual(CLOSED);
  });

  it('delivers a mute to its target only, from the channel and from the API', async () => {
    const sid = await room();
    const mod = await enter(node, sid, 'mod', { token: owner.token });
    const bob = await enter(node, sid, 'bob');
    const carol = await enter(node, sid, 'carol');
    const everyone = [mod, bob, carol];
    /** A chat from the moderator: the room handles what it is sent in order, so a mute sent before has arrived by the time this has. */
    const marker = async (body: string) => {
      mod.channel.push('message', { type: 'chat', body });
      await waitFor(() => everyone.every((m) => events(m, 'message').some((p) => p['body'] === body)), 5000, body);
    };

    expect(await pushReply(mod.channel, 'mute', { session_id: bob.sessionId })).toEqual({ status: 'ok', response: {} });
    await marker('after the channel mute');
    expect(everyone.map((m) => events(m, 'mute'))).toEqual([[], [{ session_id: bob.sessionId }], []]);

    expect(await post(`/api/v1/hubs/${sid}/mute`, { session_id: carol.sessionId })).toEqual({ status: 200, body: { muted: true } });
    await marker('after the API mute');
    expect(everyone.map((m) => events(m, 'mute'))).toEqual([[], [{ session_id: bob.sessionId }], [{ session_id: carol.sessionId }]]);
  });

  it('refuses the (room_size + 1)th guest with room_full, but lets an owner in', async () => {
    const sid = await room({ room_size: 2 });
    await enter(node, sid, 'one');
    await enter(node, sid, 'two');
    expect(await tryJoin(node, sid, 'three')).toEqual({ reason: 'room_full', message: 'Room is full (2 people)' });
    expect(await tryJoin(node, sid, 'three', { token: member.token })).toEqual({ reason: 'room_full', message: 'Room is full (2 people)' });
    const mod = await enter(node, sid, 'owner', { token: owner.token });
    expect(names(mod.presence)).toEqual(['one', 'owner', 'two']);
  });

  it('writes every action, from the API and from the channel, to the audit log', async () => {
    const sid = await room();
    const mod = await enter(node, sid, 'mod', { token: owner.token });
    const bob = await enter(node, sid, 'bob');
    const carol = await enter(node, sid, 'carol');
    const dave = await enter(node, sid, 'dave');
    expect((await post(`/api/v1/hubs/${sid}/mute`, { session_id: bob.sessionId })).status).toBe(200);
    const banned = await post(`/api/v1/hubs/${sid}/kick`, { session_id: bob.sessionId, ban_seconds: 60, reason: 'spam' });
    const banId = (banned.body as { ban: { ban_id: number } }).ban.ban_id;
    expect((await api(node, 'DELETE', `/api/v1/hubs/${sid}/bans/${banId}`, { token: owner.token })).status).toBe(204);
    expect((await pushReply(mod.channel, 'mute', { session_id: carol.sessionId })).status).toBe('ok');
    expect((await pushReply(mod.channel, 'kick', { session_id: dave.sessionId })).status).toBe('ok');
    expect((await api(node, 'PATCH', `/api/v1/hubs/${sid}`, { token: owner.token, body: { hub: { name: 'Renamed' } } })).status).toBe(200);
    expect((await post(`/api/v1/hubs/${sid}/close`)).status).toBe(200);

    const byApi = { actorAccountId: owner.accountId, actorSessionId: null };
    const byChannel = { actorAccountId: owner.accountId, actorSessionId: mod.sessionId };
    const log = await eventually(() => store.listAudit(sid, 20), (entries) => entries.length === 7, 5000, 'seven entries');
    expect(log.reverse()).toEqual([
      expect.objectContaining({ ...byApi, action: 'mute', target: `session:${bob.sessionId}` }),
      expect.objectContaining({ ...byApi, action: 'kick', target: `session:${bob.sessionId}`, details: { reason: 'spam', ban_seconds: 60 } }),
      expect.objectContaining({ ...byApi, action: 'unban', target: `ban:${banId}` }),
      expect.objectContaining({ ...byChannel, action: 'mute', target: `session:${carol.sessionId}` }),
      expect.objectContaining({ ...byChannel, action: 'kick', target: `session:${dave.sessionId}` }),
      expect.objectContaining({ ...byApi, action: 'update_hub', details: { stale_fields: ['name'] } }),
      expect.objectContaining({ ...byApi, action: 'close', target: null }),
    ]);
    for (const entry of log) expect(entry.hubSid).toBe(sid);
  });
});

describe('moderation across two nodes', () => {
  const SECRET = 'a-secret-both-nodes-share-so-tokens-verify-on-either';

  /** Two nodes sharing a store, a bus and room leases; account tokens verify on both. */
  async function cluster() {
    const store = new MemoryStore();
    const network = new MemoryBusNetwork();
    const board = new MemoryLeaseBoard(new SystemClock(), 3000);
    const env = { HUBMESH_SECRET: SECRET };
    const [a, b] = await Promise.all([0, 1].map(() => startTestNode({ env, adapters: { store, bus: network.connect(), leases: board.leases() } })));
    return { a: a!, b: b!, store, ...(await setup(a!, store, SECRET)) };
  }
  const memberNames = async (node: HubmeshNode, sid: string, owner: TestAccount) =>
    ((await api(node, 'GET', `/api/v1/hubs/${sid}/members`, { token: owner.token })).body as { members: { display_name: string }[] }).members.map((m) => m.display_name).sort();

  it('lists members of both nodes on either, and a kick with a ban on one node puts the target out on the other', async () => {
    const { a, b, owner, room } = await cluster();
    const sid = await room();
    const alice = await enter(a, sid, 'alice');
    const bob = await enter(b, sid, 'bob');
    await enter(b, sid, 'carol');
    await waitFor(() => names(alice.presence).length === 3, 5000, 'all three at alice');
    for (const node of [a, b]) expect(await eventually(() => memberNames(node, sid, owner), (n) => n.length === 3, 5000, 'members')).toEqual(['alice', 'bob', 'carol']);

    const kicked = await api(a, 'POST', `/api/v1/hubs/${sid}/kick`, { token: owner.token, body: { session_id: bob.sessionId, ban_seconds: 600 } });
    expect(kicked.status).toBe(200);
    await waitFor(() => bob.closes.length > 0, 5000, 'bob closed by node b');
    expect(bob.closes).toEqual([1000]);
    await waitFor(() => alice.leaves.includes(bob.sessionId), 5000, 'bob leaves at alice');
    expect(await memberNames(b, sid, owner)).toEqual(['alice', 'carol']);
    for (const node of [b, a]) expect(await tryJoin(node, sid, 'bob', { sessionToken: bob.sessionToken })).toEqual(BANNED_UNTIL);
  });

  it('kicks every session of an account, on both nodes', async () => {
    const { a, b, owner, member, room } = await cluster();
    const sid = await room();
    const alice = await enter(a, sid, 'alice');
    const melA = await enter(a, sid, 'mel', { token: member.token });
    const melB = await enter(b, sid, 'mel', { token: member.token });
    await waitFor(() => names(alice.presence).length === 3, 5000, 'all three');
    expect((await api(b, 'POST', `/api/v1/hubs/${sid}/kick`, { token: owner.token, body: { account_id: member.accountId } })).status).toBe(200);
    await waitFor(() => melA.closes.length > 0 && melB.closes.length > 0, 5000, 'both of mel\'s sockets closed');
    await waitFor(() => names(alice.presence).length === 1, 5000, 'mel gone at alice');
    expect(alice.closes).toEqual([]);
  });

  it('lists the members from a node that holds none of them, and admits with an invite fetched on the other node', async () => {
    const { a, b, owner, store, room } = await cluster();
    const sid = await room();
    await store.updateHub(sid, { entryMode: 'invite' });
    const mod = await enter(b, sid, 'mod', { token: owner.token });
    const bob = await enter(b, sid, 'bob', { params: { hub_invite_id: await fetchInvite(mod) } });
    await waitFor(() => names(bob.presence).length === 2, 5000, 'both');
    // Node a has no member and no room actor: it asks node b.
    expect(a.registry.size).toBe(0);
    expect(await memberNames(a, sid, owner)).toEqual(['bob', 'mod']);

    expect(await tryJoin(a, sid, 'stranger')).toEqual({ reason: 'join_denied', message: 'Join denied' });
    const invited = await enter(a, sid, 'guest', { params: { hub_invite_id: await fetchInvite(mod) } });
    await waitFor(() => names(bob.presence).length === 3 && names(invited.presence).length === 3, 5000, 'the invited guest, seen on both nodes');
  });

  it('caps the room across both nodes, and lets an owner past the cap', async () => {
    const { a, b, owner, room } = await cluster();
    const sid = await room({ room_size: 2 });
    const one = await enter(a, sid, 'one');
    await enter(b, sid, 'two');
    await waitFor(() => names(one.presence).length === 2, 5000, 'both');
    for (const node of [a, b]) expect(await tryJoin(node, sid, 'three')).toEqual({ reason: 'room_full', message: 'Room is full (2 people)' });
    const mod = await enter(b, sid, 'owner', { token: owner.token });
    await waitFor(() => names(mod.presence).length === 3 && names(one.presence).length === 3, 5000, 'three, seen on both nodes');
  });

  it('brings a PATCH on one node to members on the other: hub_refresh and their permissions', async () => {
    const { a, b, creator, room } = await cluster();
    const sid = await room();
    const bob = await enter(b, sid, 'bob');
    const res = await api(a, 'PATCH', `/api/v1/hubs/${sid}`, { token: creator.token, body: { hub: { name: 'Elsewhere', member_permissions: { fly: true } } } });
    expect(res.status).toBe(200);
    await waitFor(() => events(bob, 'hub_refresh').length === 1, 5000, 'hub_refresh on node b');
    expect(events(bob, 'hub_refresh')[0]).toMatchObject({ stale_fields: ['name', 'member_permissions'], hubs: [expect.objectContaining({ name: 'Elsewhere' })] });
    const flies = () => bob.presence.list((id: string, { metas }: { metas: { permissions: { fly: boolean } }[] }) => id === bob.sessionId && metas[0]!.permissions.fly).some(Boolean);
    await waitFor(flies, 5000, 'bob may fly');
  });

  it('bans an account from one node while it sits on the other', async () => {
    const { a, b, owner, member, room } = await cluster();
    const sid = await room();
    const alice = await enter(a, sid, 'alice');
    const mel = await enter(b, sid, 'mel', { token: member.token });
    await waitFor(() => names(alice.presence).length === 2, 5000, 'both');
    expect((await api(a, 'POST', `/api/v1/hubs/${sid}/bans`, { token: owner.token, body: { account_id: member.accountId } })).status).toBe(201);
    await waitFor(() => mel.closes.length > 0 && alice.leaves.includes(mel.sessionId), 5000, 'mel out');
    expect(await tryJoin(b, sid, 'mel', { token: member.token })).toEqual(BANNED);
  });

  it('mutes and makes owners across nodes: the node holding the target acts', async () => {
    const { a, b, creator, member, store, room } = await cluster();
    const sid = await room();
    const boss = await enter(a, sid, 'boss', { token: creator.token });
    const mel = await enter(b, sid, 'mel', { token: member.token });
    const permissionsUpdated: unknown[] = [];
    mel.channel.on('permissions_updated', (p: unknown) => void permissionsUpdated.push(p));
    await waitFor(() => names(boss.presence).length === 2, 5000, 'both');

    expect(await pushReply(boss.channel, 'mute', { session_id: mel.sessionId })).toEqual({ status: 'ok', response: {} });
    await waitFor(() => events(mel, 'mute').length === 1, 5000, 'mute at mel');
    expect(events(boss, 'mute')).toEqual([]);

    expect(await pushReply(boss.channel, 'add_owner', { session_id: mel.sessionId })).toEqual({ status: 'ok', response: {} });
    await waitFor(() => permissionsUpdated.length === 1, 5000, 'permissions_updated at mel');
    const melAtBoss = () => boss.presence.list((id: string, { metas }: { metas: { roles: { owner: boolean } }[] }) => (id === mel.sessionId ? metas[0]!.roles.owner : null)).find((x: boolean | null) => x !== null);
    await waitFor(() => melAtBoss() === true, 5000, 'mel an owner, seen from node a');
    expect(await store.listOwners(sid)).toContain(member.accountId);
    // Now an owner, mel may kick from node b.
    expect(await pushReply(mel.channel, 'kick', { session_id: boss.sessionId })).toEqual({ status: 'ok', response: {} });
    await waitFor(() => boss.closes.length > 0, 5000, 'boss kicked by node a');
  });

  it('closes the room from one node: members on the other are put out, and joins there get closed', async () => {
    const { a, b, owner, store, room } = await cluster();
    const sid = await room();
    const alice = await enter(a, sid, 'alice');
    const carol = await enter(b, sid, 'carol');
    await waitFor(() => names(carol.presence).length === 2, 5000, 'both');
    expect((await api(a, 'POST', `/api/v1/hubs/${sid}/close`, { token: owner.token })).status).toBe(200);
    for (const m of [alice, carol]) {
      await waitFor(() => events(m, 'phx_close').length === 1, 5000, 'phx_close');
      expect(events(m, 'hub_refresh')).toEqual([expect.objectContaining({ stale_fields: ['entry_mode'] })]);
    }
    expect(await tryJoin(b, sid, 'dave')).toEqual(CLOSED);
    expect(await eventually(() => store.listAudit(sid, 5), (log) => log.length === 1)).toEqual([expect.objectContaining({ action: 'close', actorAccountId: owner.accountId })]);
  });
});
