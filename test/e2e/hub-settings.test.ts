/**
 * Changing a room over the API (PATCH /api/v1/hubs/:sid, parity 6) as members
 * see it over phoenix.js, and the public listing (GET /api/v1/hubs?order=hot|new).
 */
import { Presence, type Channel, type Socket } from 'phoenix';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import type { HubmeshNode } from '../../src/main.js';
import { accountMaker, api, createHubAs } from '../support/accounts.js';
import { disconnectAll, join, nextOn, phxSocket, profile } from '../support/clients.js';
import { startTestNode } from '../support/node.js';
import { eventually, waitFor } from '../support/wait.js';

const MEMBER_PERMISSIONS = { spawn_and_move_media: false, spawn_camera: false, spawn_drawing: false, pin_objects: false, spawn_emoji: false, fly: false, voice_chat: true, text_chat: true };

const sockets: Socket[] = [];
afterEach(() => disconnectAll(sockets.splice(0)));

async function enter(node: HubmeshNode, sid: string, name: string): Promise<{ channel: Channel; presence: Presence; sessionId: string }> {
  const socket = phxSocket(node);
  sockets.push(socket);
  const channel = socket.channel(`hub:${sid}`, profile(name));
  const presence = new Presence(channel);
  const reply = await join(channel);
  return { channel, presence, sessionId: reply['session_id'] as string };
}

function ownMeta(m: { presence: Presence; sessionId: string }): Record<string, unknown> | undefined {
  return m.presence.list((id: string, { metas }: { metas: Record<string, unknown>[] }) => (id === m.sessionId ? metas[0] : undefined)).find(Boolean);
}

describe('room settings and listing', async () => {
  const store = new MemoryStore();
  const node = await startTestNode({ scope: 'file', adapters: { store } });
  const makeAccount = await accountMaker(node, store);
  const creator = await makeAccount({ email: 'creator@example.org' });
  const patch = (sid: string, hub: Record<string, unknown>) => api(node, 'PATCH', `/api/v1/hubs/${sid}`, { token: creator.token, body: { hub } });

  it('merges a partial member_permissions map, and members get hub_refresh and their new permissions', async () => {
    const { sid } = await createHubAs(node, creator.token);
    const bob = await enter(node, sid, 'bob');
    expect(ownMeta(bob)?.['permissions']).toMatchObject({ spawn_camera: false, text_chat: true });

    const refreshed = nextOn(bob.channel, 'hub_refresh');
    const first = await patch(sid, { member_permissions: { spawn_camera: true } });
    expect(first.status).toBe(200);
    const merged = { ...MEMBER_PERMISSIONS, spawn_camera: true };
    expect((first.body!['hubs'] as Record<string, unknown>[])[0]!['member_permissions']).toEqual(merged);
    expect(await refreshed).toEqual({ hubs: [expect.objectContaining({ hub_id: sid, member_permissions: merged })], session_id: null, stale_fields: ['member_permissions'] });
    await waitFor(() => (ownMeta(bob)?.['permissions'] as { spawn_camera: boolean }).spawn_camera, 5000, 'bob may take photos');

    // Another partial map keeps what the first set.
    const second = await patch(sid, { member_permissions: { text_chat: false } });
    expect((second.body!['hubs'] as Record<string, unknown>[])[0]!['member_permissions']).toEqual({ ...merged, text_chat: false });
    await waitFor(() => (ownMeta(bob)?.['permissions'] as { text_chat: boolean }).text_chat === false, 5000, 'bob may no longer chat');
    expect(ownMeta(bob)?.['permissions']).toMatchObject({ spawn_camera: true, text_chat: false });
    // Stored as Reticulum's bitfield (parity 4.3): spawn_camera is bit 1, voice_chat bit 6.
    expect((await store.getHub(sid))?.memberPermissions).toBe(0b0100_0010);
  });

  it.each([
    ['an unknown member permission', { member_permissions: { teleport: true } }, 'unknown member permission "teleport"'],
    ['a member permission that is not a boolean', { member_permissions: { fly: 'yes' } }, 'member permission fly must be true or false'],
    ['room_size 0', { room_size: 0 }, 'room_size must be an integer from 1 to 50'],
    ['room_size above the maximum', { room_size: 51 }, 'room_size must be an integer from 1 to 50'],
    ['a fractional room_size', { room_size: 2.5 }, expect.stringMatching(/room_size/)],
    ['an unknown field', { colour: 'red' }, expect.stringMatching(/additional/)],
  ])('refuses %s with 422 and changes nothing', async (_what, hub, message) => {
    const { sid } = await createHubAs(node, creator.token);
    const before = await store.getHub(sid);
    expect(await patch(sid, { name: 'Changed', ...hub })).toEqual({ status: 422, body: { code: 'bad_request', message } });
    expect(await store.getHub(sid)).toEqual(before);
  });

  it('changes room_size within range, and says so in hub_refresh', async () => {
    const { sid } = await createHubAs(node, creator.token);
    const bob = await enter(node, sid, 'bob');
    const refreshed = nextOn(bob.channel, 'hub_refresh');
    expect((await patch(sid, { room_size: 50 })).status).toBe(200);
    expect(await refreshed).toMatchObject({ stale_fields: ['room_size'], hubs: [expect.objectContaining({ room_size: 50 })] });
  });

  it('lists public rooms, hot by live members and new by creation, and leaves the others out', async () => {
    const sids: string[] = [];
    for (const name of ['Oldest', 'Middle', 'Newest', 'Private']) {
      // Creation times must differ for "new" to have an order: wait for the clock to move on.
      const last = Date.now();
      await waitFor(() => Date.now() > last, 1000, 'the next millisecond');
      sids.push((await createHubAs(node, creator.token, { name })).sid);
    }
    const [oldest, middle, newest, hidden] = sids as [string, string, string, string];
    for (const sid of [oldest, middle, newest]) {
      const res = await patch(sid, { allow_promotion: true });
      expect((res.body!['hubs'] as Record<string, unknown>[])[0]!['allow_promotion']).toBe(true);
    }
    // Members count once in the room (events:entered), not in the lobby.
    const inRoom = async (sid: string, name: string) => (await enter(node, sid, name)).channel.push('events:entered', { entryDisplayType: 'Screen', userAgent: 'test' });
    await inRoom(oldest, 'a');
    await inRoom(oldest, 'b');
    await inRoom(middle, 'c');
    await enter(node, newest, 'lurker');
    await enter(node, hidden, 'd');

    const listed = async (order: string) => {
      const res = await api(node, 'GET', `/api/v1/hubs${order}`);
      expect(res.status).toBe(200);
      return (res.body!['hubs'] as { hub_id: string; member_count: number }[]).filter((h) => sids.includes(h.hub_id)).map((h) => [h.hub_id, h.member_count]);
    };
    expect(await eventually(() => listed('?order=hot'), (l) => JSON.stringify(l.map((x) => x[1])) === '[2,1,0]', 5000, 'hot order')).toEqual([
      [oldest, 2],
      [middle, 1],
      [newest, 0],
    ]);
    expect(await listed('?order=new')).toEqual([
      [newest, 0],
      [middle, 1],
      [oldest, 2],
    ]);
    expect(await listed('')).toEqual(await listed('?order=new'));
    expect((await api(node, 'GET', '/api/v1/hubs?order=top')).status).toBe(422);
  });
});
