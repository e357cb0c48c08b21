/**
 * Pinned objects and saved entity state through the official phoenix.js
 * client (parity 2.8, 5.2-5.4): pin and unpin with objects.gltf, who may pin,
 * promotion of an upload only with its tokens, the entity-state events, and
 * a pinned object that outlives its room's actor.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import type { HubmeshNode } from '../../src/main.js';
import { joinRecording, uploadFile, type Received } from '../support/accounts-persist.js';
import { accountMaker } from '../support/accounts.js';
import { nextOn, pushReply } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { waitFor } from '../support/wait.js';

/** A persistent NAF first sync of a media object, as its owner sends it. */
const spawnMessage = (networkId: string, sessionId: string) => ({
  dataType: 'u',
  data: {
    networkId,
    owner: sessionId,
    creator: sessionId,
    lastOwnerTime: 100,
    template: '#interactable-media',
    persistent: true,
    parent: null,
    components: { 0: { x: 1, y: 2, z: 3 }, 1: 'https://example.org/cat.png' },
    isFirstSync: true,
  },
});

/** The glTF node Hubs makes of a pinned media object (HUBS pinned-entity-to-gltf.js). */
const gltfNode = (networkId: string, src = 'https://example.org/cat.png') => ({
  name: networkId,
  translation: [1, 2, 3],
  extensions: { HUBS_components: { media: { src, version: 1, contentSubtype: null, id: networkId }, pinnable: { pinned: true } } },
});

async function objectsGltf(node: HubmeshNode, sid: string): Promise<{ nodes: unknown[] } & Record<string, unknown>> {
  const res = await fetch(`${node.url}/${sid}/objects.gltf`);
  expect(res.status).toBe(200);
  return (await res.json()) as { nodes: unknown[] };
}

const payloadsOf = (got: readonly Received[], event: string) => got.filter((g) => g.event === event).map((g) => g.payload);

/** Resolves once a chat from `from` reached `to`: whatever the room sent `to` before it has arrived too. */
async function roundTrip(from: { channel: { push(event: string, payload: object): unknown } }, to: Parameters<typeof nextOn>[0]): Promise<void> {
  const chat = nextOn(to, 'message');
  from.channel.push('message', { type: 'chat', body: 'sync' });
  await chat;
}

describe('pinned objects', () => {
  it('pins and unpins objects, broadcasting each pin, and serves what is pinned as objects.gltf', async () => {
    const store = new MemoryStore();
    const node = await startTestNode({ adapters: { store } });
    const makeAccount = await accountMaker(node, store);
    const sid = await createHub(node, 'Pins');
    const owner = await makeAccount({ ownerOf: [sid] });
    const a = await joinRecording(node, sid, 'alice', { events: ['pin'] });
    const signIn = await pushReply(a.channel, 'sign_in', { token: owner.token });
    expect(signIn).toMatchObject({ status: 'ok', response: { perms_token: expect.any(String) } });
    const b = await joinRecording(node, sid, 'bob', { events: ['pin', 'naf'] });
    a.channel.push('naf', spawnMessage('media-1', a.sessionId));
    a.channel.push('naf', spawnMessage('media-2', a.sessionId));
    await waitFor(() => payloadsOf(b.got, 'naf').length === 2, 5000, 'bob sees both objects');

    expect(await pushReply(a.channel, 'pin', { id: 'media-1', gltf_node: gltfNode('media-1') })).toEqual({ status: 'ok', response: {} });
    expect(await pushReply(a.channel, 'pin', { id: 'media-2', gltf_node: gltfNode('media-2') })).toEqual({ status: 'ok', response: {} });
    await waitFor(() => payloadsOf(b.got, 'pin').length === 2, 5000, 'both pins at bob');
    expect(payloadsOf(b.got, 'pin')).toEqual([
      { object_id: 'media-1', gltf_node: gltfNode('media-1'), pinned_by: a.sessionId },
      { object_id: 'media-2', gltf_node: gltfNode('media-2'), pinned_by: a.sessionId },
    ]);
    // Parity: broadcast!, so the pinner hears its own pin too.
    await waitFor(() => payloadsOf(a.got, 'pin').length === 2, 5000, 'both pins at alice');

    const res = await fetch(`${node.url}/${sid}/objects.gltf`);
    expect(res.headers.get('content-type')).toMatch(/^model\/gltf\+json/);
    expect(await res.json()).toEqual({
      asset: { version: '2.0', generator: 'hubmesh' },
      scene: 0,
      scenes: [{ nodes: [0, 1] }],
      nodes: [gltfNode('media-1'), gltfNode('media-2')],
      extensionsUsed: ['HUBS_components'],
    });
    expect(await store.listRoomObjects(sid)).toMatchObject([
      { objectId: 'media-1', accountId: owner.accountId, entity: { networkId: 'media-1', template: '#interactable-media', persistent: true } },
      { objectId: 'media-2', accountId: owner.accountId },
    ]);

    // Pinning again replaces the node and keeps its place.
    const moved = { ...gltfNode('media-1'), translation: [4, 5, 6] };
    expect((await pushReply(a.channel, 'pin', { id: 'media-1', gltf_node: moved })).status).toBe('ok');
    expect((await objectsGltf(node, sid)).nodes).toEqual([moved, gltfNode('media-2')]);

    expect((await pushReply(a.channel, 'unpin', { id: 'media-1' })).status).toBe('ok');
    expect((await objectsGltf(node, sid)).nodes).toEqual([gltfNode('media-2')]);
    // Parity: unpin is not broadcast.
    await roundTrip(a, b.channel);
    expect(payloadsOf(b.got, 'pin')).toHaveLength(3);
    expect((await fetch(`${node.url}/AbCdEfG/objects.gltf`)).status).toBe(404);
  });

  it('refuses pins from guests (invalid_token) and from members without pin_objects (unauthorized)', async () => {
    const store = new MemoryStore();
    const node = await startTestNode({ adapters: { store } });
    const makeAccount = await accountMaker(node, store);
    const sid = await createHub(node, 'Restrictive');
    const member = await makeAccount();
    const guest = await joinRecording(node, sid, 'guest');
    const signedIn = await joinRecording(node, sid, 'member', { account: member, events: ['pin'] });
    expect(signedIn.reply['perms_token']).toEqual(expect.any(String));
    const pin = { id: 'media-1', gltf_node: gltfNode('media-1') };

    expect(await pushReply(guest.channel, 'pin', pin)).toMatchObject({ status: 'error', response: { reason: 'invalid_token' } });
    expect(await pushReply(guest.channel, 'unpin', { id: 'media-1' })).toMatchObject({ status: 'error', response: { reason: 'invalid_token' } });
    expect(await pushReply(guest.channel, 'save_entity_state', { nid: 'n', create_message: {}, updates: [] })).toMatchObject({ status: 'error', response: { reason: 'not_logged_in' } });
    expect(await pushReply(signedIn.channel, 'pin', pin)).toMatchObject({ status: 'error', response: { reason: 'unauthorized' } });
    expect(await pushReply(signedIn.channel, 'save_entity_state', { nid: 'n', create_message: {}, updates: [] })).toMatchObject({ status: 'error', response: { reason: 'unauthorized' } });

    expect(await store.listRoomObjects(sid)).toEqual([]);
    expect(await store.listEntityStates(sid)).toEqual([]);
    expect((await objectsGltf(node, sid)).nodes).toEqual([]);
    expect(signedIn.got).toEqual([]);
  });

  it('promotes an upload only with its access and promotion tokens, and stores nothing otherwise', async () => {
    const store = new MemoryStore();
    const node = await startTestNode({ adapters: { store } });
    const makeAccount = await accountMaker(node, store);
    const sid = await createHub(node, 'Uploads');
    const owner = await makeAccount({ ownerOf: [sid] });
    const a = await joinRecording(node, sid, 'alice', { account: owner });
    const b = await joinRecording(node, sid, 'bob', { events: ['pin'] });
    const up = await uploadFile(node, Buffer.from('a picture of a cat, in words'), { promotion_mode: 'with_token' });
    const loose = await uploadFile(node, Buffer.from('uploaded without a promotion token'));
    expect(up.meta.promotion_token).toEqual(expect.any(String));
    a.channel.push('naf', spawnMessage('media-1', a.sessionId));
    const pin = { id: 'media-1', gltf_node: gltfNode('media-1', up.origin), file_id: up.file_id, file_access_token: up.meta.access_token, promotion_token: up.meta.promotion_token };

    for (const wrong of [
      { file_access_token: '0'.repeat(32) },
      { file_access_token: undefined },
      { promotion_token: undefined },
      { promotion_token: '0'.repeat(32) },
      { file_id: '00000000-0000-4000-8000-000000000000' },
    ]) {
      expect(await pushReply(a.channel, 'pin', { ...pin, ...wrong }), JSON.stringify(wrong)).toMatchObject({ status: 'error', response: { reason: 'forbidden' } });
    }
    expect(await store.listRoomObjects(sid)).toEqual([]);
    expect(await store.getFile(up.file_id)).toMatchObject({ state: 'expiring' });
    expect((await objectsGltf(node, sid)).nodes).toEqual([]);
    await roundTrip(a, b.channel);
    expect(b.got).toEqual([]);

    expect(await pushReply(a.channel, 'pin', pin)).toEqual({ status: 'ok', response: {} });
    expect(await store.getFile(up.file_id)).toMatchObject({ state: 'active' });
    expect((await objectsGltf(node, sid)).nodes).toEqual([gltfNode('media-1', up.origin)]);
    await waitFor(() => b.got.length === 1, 5000, 'the pin at bob');

    // Parity: a file uploaded without a promotion token is promoted with any (or none).
    expect(await pushReply(a.channel, 'pin', { id: 'media-2', gltf_node: gltfNode('media-2', loose.origin), file_id: loose.file_id, file_access_token: loose.meta.access_token })).toMatchObject({ status: 'ok' });
    expect(await store.getFile(loose.file_id)).toMatchObject({ state: 'active' });

    expect((await pushReply(a.channel, 'unpin', { id: 'media-1', file_id: up.file_id })).status).toBe('ok');
    expect(await store.getFile(up.file_id)).toMatchObject({ state: 'inactive' });
    expect((await objectsGltf(node, sid)).nodes).toEqual([gltfNode('media-2', loose.origin)]);
  });
});

describe('saved entity state', () => {
  const createMessage = { version: 1, networkId: 'nid-1', prefab: 'media', initialData: { src: 'https://example.org/cat.png', recenter: true } };
  const update1 = { nid: 'nid-1', lastOwnerTime: 10, timestamp: 10, owner: 'reticulum', componentIds: [1], data: ['a'] };
  const update2 = { nid: 'nid-1', lastOwnerTime: 10, timestamp: 20, owner: 'reticulum', componentIds: [1], data: ['b'] };

  it('saves, updates, lists and deletes entity state, broadcasting each change, and deletes a pin of the same id', async () => {
    const store = new MemoryStore();
    const node = await startTestNode({ adapters: { store } });
    const makeAccount = await accountMaker(node, store);
    const sid = await createHub(node, 'Entities');
    const owner = await makeAccount({ isAdmin: true });
    const a = await joinRecording(node, sid, 'alice', { account: owner });
    const b = await joinRecording(node, sid, 'bob', { events: ['entity_state_saved', 'entity_state_updated', 'entity_state_deleted'] });

    const save = { nid: 'nid-1', create_message: createMessage, updates: [{ nid: 'nid-1', root_nid: 'nid-1', update_message: update1 }] };
    expect(await pushReply(a.channel, 'save_entity_state', save)).toEqual({ status: 'ok', response: {} });
    await waitFor(() => b.got.length === 1, 5000, 'entity_state_saved at bob');
    expect(b.got[0]).toEqual({ event: 'entity_state_saved', payload: { data: [{ create_message: createMessage, update_messages: [update1] }] } });
    expect(await pushReply(a.channel, 'save_entity_state', save)).toMatchObject({ status: 'error', response: { reason: 'entity_state_already_exists' } });
    expect(await pushReply(a.channel, 'save_entity_state', { nid: 'nid-2', updates: [] })).toMatchObject({ status: 'error', response: { reason: 'bad_request' } });

    expect(await pushReply(a.channel, 'update_entity_state', { nid: 'nid-1', root_nid: 'nid-1', update_message: update2 })).toEqual({ status: 'ok', response: {} });
    await waitFor(() => b.got.length === 2, 5000, 'entity_state_updated at bob');
    expect(b.got[1]).toEqual({ event: 'entity_state_updated', payload: update2 });
    expect(await pushReply(a.channel, 'update_entity_state', { nid: 'nid-9', root_nid: 'nid-9', update_message: update2 })).toMatchObject({ status: 'error', response: { reason: 'entity_state_does_not_exist' } });

    // Anyone may list, guests included; the update replaced the one with the same nid.
    expect(await pushReply(b.channel, 'list_entities')).toEqual({ status: 'ok', response: { data: [{ create_message: createMessage, update_messages: [update2] }] } });

    expect((await pushReply(a.channel, 'pin', { id: 'nid-1', gltf_node: gltfNode('nid-1') })).status).toBe('ok');
    expect((await objectsGltf(node, sid)).nodes).toHaveLength(1);
    expect(await pushReply(a.channel, 'delete_entity_state', { nid: 'nid-1' })).toEqual({ status: 'ok', response: {} });
    await waitFor(() => b.got.length === 3, 5000, 'entity_state_deleted at bob');
    expect(b.got[2]).toEqual({ event: 'entity_state_deleted', payload: { nid: 'nid-1', creator: a.sessionId } });
    expect(await pushReply(b.channel, 'list_entities')).toEqual({ status: 'ok', response: { data: [] } });
    expect((await objectsGltf(node, sid)).nodes).toEqual([]);
    expect(await store.listRoomObjects(sid)).toEqual([]);
  });
});

describe('a pinned object across room restarts', () => {
  it('is given to a joiner of the restarted room as a first sync owned by the scene, right after presence_state', async () => {
    const store = new MemoryStore();
    const node = await startTestNode({ adapters: { store }, env: { HUBMESH_ROOM_IDLE_MS: '20' } });
    const makeAccount = await accountMaker(node, store);
    const sid = await createHub(node, 'Lasting');
    const owner = await makeAccount({ ownerOf: [sid] });
    const a = await joinRecording(node, sid, 'alice', { account: owner });
    a.channel.push('naf', spawnMessage('media-1', a.sessionId));
    a.channel.push('naf', spawnMessage('not-pinned', a.sessionId));
    expect(await pushReply(a.channel, 'pin', { id: 'media-1', gltf_node: gltfNode('media-1') })).toEqual({ status: 'ok', response: {} });
    await new Promise<void>((resolve) => a.socket.disconnect(() => resolve()));
    await waitFor(() => node.registry.size === 0, 5000, 'the room to stop');

    const c = await joinRecording(node, sid, 'carol', { events: ['presence_state', 'naf'] });
    await waitFor(() => payloadsOf(c.got, 'naf').length === 1, 5000, 'the pinned object at carol');
    expect(c.got.map((g) => g.event)).toEqual(['presence_state', 'naf']);
    expect(c.got[1]!.payload).toEqual({
      dataType: 'u',
      from_session_id: a.sessionId,
      data: {
        networkId: 'media-1',
        owner: 'scene',
        creator: a.sessionId,
        lastOwnerTime: -1,
        template: '#interactable-media',
        persistent: true,
        parent: null,
        components: { 0: { x: 1, y: 2, z: 3 }, 1: 'https://example.org/cat.png' },
        isFirstSync: true,
      },
    });
    // Nothing else came with it: a chat round trip after the join flushes anything the join pushed.
    const d = await joinRecording(node, sid, 'dave');
    await roundTrip(d, c.channel);
    expect(payloadsOf(c.got, 'naf')).toHaveLength(1);
  });
});
