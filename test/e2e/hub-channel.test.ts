/**
 * The hub channel against the official phoenix.js client: join reply,
 * presence, NAF relay, chat, and the join refusals.
 */
import { Presence } from 'phoenix';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { sampleHub } from '../contract/store.js';
import type { HubmeshNode } from '../../src/main.js';
import { createHub, startTestNode } from '../support/node.js';
import { join, joinHub, nextOn, phxSocket, profile } from '../support/clients.js';
import { waitFor } from '../support/wait.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('hub channel with phoenix.js', () => {
  it('answers a join with the Reticulum reply shape', async () => {
    const node = await startTestNode();
    const sid = await createHub(node, 'Shape Room');
    const { reply } = await joinHub(node, sid, 'alice');

    expect(Object.keys(reply).sort()).toEqual(['hub_requires_oauth', 'hubs', 'perms_token', 'session_id', 'session_token', 'subscriptions']);
    expect(reply['session_id']).toMatch(UUID);
    expect(reply['subscriptions']).toEqual({ web_push: false, favorites: false });
    expect(reply['hub_requires_oauth']).toBe(false);
    const [hub] = reply['hubs'] as Record<string, unknown>[];
    expect(hub).toMatchObject({
      hub_id: sid,
      name: 'Shape Room',
      slug: 'shape-room',
      entry_code: 0,
      entry_mode: 'allow',
      embed_token: null,
      room_size: 24,
      member_count: 0,
      lobby_count: 0,
      turn: { enabled: false },
      member_permissions: { voice_chat: true, text_chat: true, spawn_and_move_media: false },
    });
    expect(hub!['url']).toBe(`${node.url}/${sid}/shape-room`);

    const session = decodeJwt(reply['session_token'] as string);
    expect(decodeProtectedHeader(reply['session_token'] as string).alg).toBe('HS512');
    expect(session).toMatchObject({ sub: reply['session_id'], aud: 'ret_session' });
    expect(session.exp! - session.iat!).toBe(86400);

    const perms = decodeJwt(reply['perms_token'] as string);
    expect(decodeProtectedHeader(reply['perms_token'] as string).alg).toBe('RS512');
    expect(perms).toMatchObject({ aud: 'ret_perms', hub_id: sid, join_hub: true, kick_users: false, text_chat: true });
    expect(perms.exp! - perms.iat!).toBe(300);
  });

  it('keeps the session id across reconnects with the session token', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const first = await joinHub(node, sid, 'alice');
    const again = await joinHub(node, sid, 'alice', { session_token: first.reply['session_token'] as string });
    expect(again.sessionId).toBe(first.sessionId);
    const forged = await joinHub(node, sid, 'mallory', { session_token: `${first.reply['session_token'] as string}x` });
    expect(forged.sessionId).not.toBe(first.sessionId);
  });

  it('syncs presence after the reply, updates it on events and drops it on disconnect', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const socketA = phxSocket(node);
    const chA = socketA.channel(`hub:${sid}`, profile('alice'));
    const presence = new Presence(chA);
    let synced = 0;
    presence.onSync(() => {
      synced++;
    });
    const joinedA = await join(chA);
    await waitFor(() => synced > 0, 5000, 'first presence sync');
    const me = joinedA['session_id'] as string;
    const own = presence.list((id, { metas }) => ({ id, meta: metas[0] }));
    expect(own).toHaveLength(1);
    expect(own[0]!.id).toBe(me);
    expect(own[0]!.meta).toMatchObject({
      presence: 'lobby',
      profile: { displayName: 'alice' },
      context: { mobile: false },
      roles: { owner: false, creator: false, signed_in: false },
      permissions: { join_hub: true, text_chat: true, kick_users: false },
    });
    expect(typeof own[0]!.meta.phx_ref).toBe('string');

    const bob = await joinHub(node, sid, 'bob');
    await waitFor(() => presence.list().length === 2, 5000, 'bob in presence');

    const left: string[] = [];
    presence.onLeave((id, current) => {
      if (!current || current.metas.length === 0) left.push(id!);
    });
    bob.channel.push('events:entering', {});
    bob.channel.push('events:entered', { entryDisplayType: 'VR', isNewDaily: false });
    await waitFor(() => presence.list((id, { metas }) => (id === bob.sessionId ? metas[0].presence : null)).includes('room'), 5000, 'bob entered');
    const bobMeta = presence.list((id, { metas }) => (id === bob.sessionId ? metas : null)).find(Boolean)!;
    expect(bobMeta).toHaveLength(1);
    expect(bobMeta[0].context).toMatchObject({ hmd: true });
    expect(bobMeta[0].context.entering).toBeUndefined();
    expect(bobMeta[0].phx_ref_prev).toBeDefined();
    expect(left).toEqual([]);

    bob.channel.push('events:raise_hand', {});
    bob.channel.push('events:profile_updated', { profile: { displayName: 'bobby' } });
    await waitFor(() => presence.list((id, { metas }) => (id === bob.sessionId ? metas[0].profile.displayName : null)).includes('bobby'), 5000, 'profile update');
    expect(presence.list((id, { metas }) => (id === bob.sessionId ? metas[0].hand_raised : null)).find((x) => x !== null)).toBe(true);

    const counts = await node.app.inject({ url: `/api/v1/hubs/${sid}` });
    expect(counts.json().hubs[0]).toMatchObject({ member_count: 1, lobby_count: 1 });

    bob.socket.disconnect();
    await waitFor(() => left.includes(bob.sessionId), 5000, 'bob leave');
    expect(presence.list().length).toBe(1);
  });

  it('relays naf and nafr to everyone but the sender, and chat to everyone', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const a = await joinHub(node, sid, 'alice');
    const b = await joinHub(node, sid, 'bob');
    const c = await joinHub(node, sid, 'carol');
    const echoes: string[] = [];
    for (const event of ['naf', 'nafr']) {
      a.channel.on(event, () => {
        echoes.push(event);
      });
    }

    // A first sync: owner and creator are rewritten to the sender (parity 2.9).
    const firstSync = { dataType: 'u', data: { networkId: 'net1', owner: 'spoofed', creator: 'spoofed', lastOwnerTime: 5, template: '#remote-avatar', persistent: false, isFirstSync: true, components: { 0: [1, 2, 3] } } };
    const gotB = nextOn(b.channel, 'naf');
    const gotC = nextOn(c.channel, 'naf');
    a.channel.push('naf', firstSync);
    const nafB = await gotB;
    expect(nafB).toEqual({ ...firstSync, data: { ...firstSync.data, owner: a.sessionId, creator: a.sessionId }, from_session_id: a.sessionId });
    expect(await gotC).toEqual(nafB);

    // nafr is relayed as the very same string.
    const raw = JSON.stringify({ dataType: 'um', data: { d: [{ networkId: 'net1', owner: a.sessionId, lastOwnerTime: 5, components: { 0: [4, 5, 6] } }] } });
    const gotNafr = nextOn(b.channel, 'nafr');
    a.channel.push('nafr', { naf: raw });
    expect(await gotNafr).toEqual({ naf: raw, from_session_id: a.sessionId });

    // A media first sync without spawn_and_move_media (restrictive default) is dropped.
    const denied = { ...firstSync, data: { ...firstSync.data, networkId: 'net2', template: '#interactable-media' } };
    a.channel.push('naf', denied);
    // Chat goes to everyone, the sender too (Reticulum broadcast!), with the sender's session_id.
    const chats = [nextOn(a.channel, 'message'), nextOn(b.channel, 'message'), nextOn(c.channel, 'message')];
    a.channel.push('message', { type: 'chat', body: 'hello', session_id: 'spoofed' });
    for (const got of await Promise.all(chats)) expect(got).toEqual({ type: 'chat', body: 'hello', session_id: a.sessionId });
    // The dropped media sync was sent before the chat on the same socket, so by now it would have arrived.
    expect(node.metrics.get('hub_dropped_total', { reason: 'template_not_permitted' })).toBe(1);
    expect(echoes).toEqual([]);
  });

  /** The error response to a join; phoenix.js would keep retrying, so the channel is left. */
  async function joinError(node: HubmeshNode, topic: string, params: object): Promise<unknown> {
    const channel = phxSocket(node).channel(topic, params);
    const err = await join(channel).catch((e: { response: unknown }) => e.response);
    channel.leave();
    return err;
  }

  it('refuses a room that does not exist with not_found', async () => {
    const node = await startTestNode();
    expect(await joinError(node, 'hub:zzzzzzz', profile('alice'))).toEqual({ reason: 'not_found', message: 'No such Hub' });
  });

  it('refuses a closed room with closed', async () => {
    const store = new MemoryStore();
    await store.createHub(sampleHub({ hubSid: 'ShutRmz', entryMode: 'deny' }));
    const node = await startTestNode({ adapters: { store } });
    expect(await joinError(node, 'hub:ShutRmz', profile('alice'))).toEqual({ reason: 'closed', message: 'Hub no longer accessible' });
  });

  it('answers phoenix.js heartbeats', async () => {
    const node = await startTestNode();
    const socket = phxSocket(node);
    const latency = await new Promise<number>((resolve) => {
      const tryPing = () => (socket.isConnected() ? socket.ping(resolve) : setImmediate(tryPing));
      tryPing();
    });
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(node.metrics.get('ws_frames_in_total')).toBeGreaterThanOrEqual(1);
  });

  it('refuses a join without profile and context', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    expect(await joinError(node, `hub:${sid}`, {})).toMatchObject({ reason: 'bad_request' });
  });

  it('answers unmatched topics', async () => {
    const node = await startTestNode();
    expect(await joinError(node, 'room:lobby', {})).toMatchObject({ reason: 'unmatched topic' });
  });

  it('answers unknown and not-yet-supported events with errors and counts them', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const { channel } = await joinHub(node, sid, 'alice');
    const reply = (event: string) =>
      new Promise<unknown>((resolve) => channel.push(event, {}).receive('error', resolve).receive('ok', () => resolve('ok')));
    expect(await reply('no_such_event')).toMatchObject({ reason: 'unknown_event' });
    expect(await reply('subscribe')).toMatchObject({ reason: 'not_implemented' });
    expect(node.metrics.get('hub_errors_total', { reason: 'unknown_event' })).toBe(1);
    expect(node.metrics.get('hub_messages_in_total', { event: 'other' })).toBe(1);
  });

  it('lets a kicked session go: disconnectSession closes its socket with 1000', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const a = await joinHub(node, sid, 'alice');
    const b = await joinHub(node, sid, 'bob');
    const leaves: string[] = [];
    a.channel.on('presence_diff', (diff: { leaves: Record<string, unknown> }) => {
      leaves.push(...Object.keys(diff.leaves));
    });
    const closes: number[] = [];
    b.socket.onClose((e: unknown) => {
      closes.push((e as { code: number }).code);
    });
    expect(node.sockets.disconnectSession(b.sessionId)).toBe(1);
    await waitFor(() => closes.length > 0, 5000, 'bob closed');
    expect(closes[0]).toBe(1000);
    await waitFor(() => leaves.includes(b.sessionId), 5000, 'bob leave');
    expect(node.sockets.disconnectSession(b.sessionId)).toBe(0);
  });
});
