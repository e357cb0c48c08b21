/**
 * Moderation on the SFU, end to end: kick and mute decided by the relay
 * (the HTTP moderation routes, and room commands from another node on the
 * bus) act on the SFU at once; a joined client with `kick_users` kicks over
 * the signaling; block and unblock pause consumers both ways; a room closed
 * or left empty closes its router. Clients are `protoo-client` and
 * `phoenix`, as in sfu-signaling.test.ts.
 */
import type { Socket } from 'phoenix';
import { describe, expect, it } from 'vitest';
import { MemoryBusNetwork } from '../../src/adapters/memory-bus.js';
import { MemoryLeaseBoard } from '../../src/adapters/memory-leases.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { SystemClock } from '../../src/adapters/system-clock.js';
import { encodeCommand } from '../../src/core/control.js';
import type { HubmeshNode } from '../../src/main.js';
import type { Bus } from '../../src/ports/bus.js';
import { FakeMedia } from '../../sfu/fake-media.js';
import { accountMaker, api, createHubAs } from '../support/accounts.js';
import { join, phxSocket, profile } from '../support/clients.js';
import { startTestNode } from '../support/node.js';
import { SfuClient } from '../support/sfu-client.js';
import { waitFor } from '../support/wait.js';

async function setup(opts: { readonly bus?: Bus } = {}) {
  const store = new MemoryStore();
  const media = new FakeMedia();
  const leases = opts.bus ? new MemoryLeaseBoard(new SystemClock(), 3000).leases() : undefined;
  const node = await startTestNode({ env: { HUBMESH_PERMISSIVE_ROOMS: 'true' }, adapters: { store, media, bus: opts.bus, leases } });
  const makeAccount = await accountMaker(node, store);
  const creator = await makeAccount();
  const { sid } = await createHubAs(node, creator.token);
  return { node, store, media, makeAccount, creator, sid };
}

/** A member in the room on the relay (signed in with `authToken` if given), then on the SFU: transports made, joined. */
async function enter(node: HubmeshNode, sid: string, name: string, authToken?: string) {
  const socket: Socket = phxSocket(node);
  const reply = await join(socket.channel(`hub:${sid}`, { ...profile(name), ...(authToken === undefined ? {} : { auth_token: authToken }) }));
  const sessionId = reply['session_id'] as string;
  const client = await SfuClient.connect(node, sid, sessionId);
  const { send, recv } = await client.transports();
  expect((await client.join(reply['perms_token'] as string)).ok).toBe(true);
  return { socket, sessionId, client, send, recv };
}

type Peer = Awaited<ReturnType<typeof enter>>;

/** `to`'s consumer of `producerId`, once offered. */
async function consumerOf(to: Peer, producerId: string): Promise<string> {
  await to.client.waitOffer(producerId);
  return to.client.offers.find((o) => o.producerId === producerId)!.id;
}

const serverConsumer = (node: HubmeshNode, sid: string, peer: Peer, consumerId: string) => node.sfu!.room(sid)?.peers.get(peer.sessionId)?.consumers.get(consumerId)?.consumer;

describe('SFU moderation', () => {
  it('kicks over HTTP at once: the peer is put out, the others hear peerClosed and consumerClosed', async () => {
    const { node, sid, creator, makeAccount } = await setup();
    const alice = await enter(node, sid, 'alice');
    const bob = await enter(node, sid, 'bob');
    const consumerId = await consumerOf(bob, await alice.client.produceId(alice.send, 'audio'));

    expect(await api(node, 'POST', `/api/v1/hubs/${sid}/kick`, { token: creator.token, body: { session_id: alice.sessionId } })).toMatchObject({ status: 200 });
    await alice.client.waitClosed();
    await bob.client.waitNotified('peerClosed', (d) => d['peerId'] === alice.sessionId);
    await bob.client.waitNotified('consumerClosed', (d) => d['consumerId'] === consumerId);
    expect([...node.sfu!.room(sid)!.peers.keys()]).toEqual([bob.sessionId]);

    // By account: every peer of that account goes.
    const carolAccount = await makeAccount();
    const carol = await enter(node, sid, 'carol', carolAccount.token);
    expect(await api(node, 'POST', `/api/v1/hubs/${sid}/kick`, { token: creator.token, body: { account_id: carolAccount.accountId } })).toMatchObject({ status: 200 });
    await carol.client.waitClosed();
    await bob.client.waitNotified('peerClosed', (d) => d['peerId'] === carol.sessionId);
    expect(bob.client.isClosed).toBe(false);
  });

  it('mutes over HTTP by closing the audio producers of the peer now', async () => {
    const { node, sid, creator } = await setup();
    const alice = await enter(node, sid, 'alice');
    const bob = await enter(node, sid, 'bob');
    const audio = await alice.client.produceId(alice.send, 'audio');
    const video = await alice.client.produceId(alice.send, 'video');
    const audioConsumer = await consumerOf(bob, audio);
    const videoConsumer = await consumerOf(bob, video);

    expect(await api(node, 'POST', `/api/v1/hubs/${sid}/mute`, { token: creator.token, body: { session_id: alice.sessionId } })).toMatchObject({ status: 200 });
    await alice.client.waitNotified('producerClosed', (d) => d['producerId'] === audio);
    await bob.client.waitNotified('consumerClosed', (d) => d['consumerId'] === audioConsumer);
    expect([...node.sfu!.room(sid)!.peers.get(alice.sessionId)!.producers.keys()]).toEqual([video]);
    expect(serverConsumer(node, sid, bob, videoConsumer)?.closed).toBe(false);
    // Muted is not kicked: alice may speak again, as Reticulum's mute is a request.
    expect(await alice.client.produce(alice.send, 'audio')).toMatchObject({ ok: true });
  });

  it('applies kicks and mutes that another node publishes on the bus', async () => {
    const network = new MemoryBusNetwork();
    const { node, sid } = await setup({ bus: network.connect() });
    const relay = network.connect();
    const alice = await enter(node, sid, 'alice');
    const bob = await enter(node, sid, 'bob');
    const audio = await alice.client.produceId(alice.send, 'audio');
    await consumerOf(bob, audio);

    await relay.publish(`hub.${sid}.ctl`, encodeCommand({ op: 'mute', session: alice.sessionId }));
    await alice.client.waitNotified('producerClosed', (d) => d['producerId'] === audio);
    await relay.publish(`hub.${sid}.ctl`, new TextEncoder().encode('{"op":"kick"}'));
    await relay.publish(`hub.${sid}.ctl`, encodeCommand({ op: 'kick', session: bob.sessionId, account: null }));
    await bob.client.waitClosed();
    expect(node.metrics.get('sfu_bad_commands_total')).toBe(1);
    expect(alice.client.isClosed).toBe(false);
  });

  it('lets a joined client with kick_users kick over the signaling, and no one else', async () => {
    const { node, sid, creator } = await setup();
    const owner = await enter(node, sid, 'owner', creator.token);
    const alice = await enter(node, sid, 'alice');
    const bob = await enter(node, sid, 'bob');
    expect(await alice.client.request('kick', { room_id: sid, user_id: bob.sessionId, token: 'ignored' })).toEqual({ ok: false, code: 403, reason: expect.stringMatching(/^unauthorized: /) });
    expect(await owner.client.request('kick', { room_id: sid, user_id: bob.sessionId, token: 'ignored' })).toEqual({ ok: true, data: {} });
    await bob.client.waitClosed();
    await alice.client.waitNotified('peerClosed', (d) => d['peerId'] === bob.sessionId);
  });

  it('pauses the consumers between two peers both ways while either blocks the other', async () => {
    const { node, sid } = await setup();
    const alice = await enter(node, sid, 'alice');
    const bob = await enter(node, sid, 'bob');
    const bobHearsAlice = await consumerOf(bob, await alice.client.produceId(alice.send, 'audio'));
    const aliceHearsBob = await consumerOf(alice, await bob.client.produceId(bob.send, 'audio'));
    const running = () => [serverConsumer(node, sid, bob, bobHearsAlice), serverConsumer(node, sid, alice, aliceHearsBob)].map((c) => c?.paused === false);
    await waitFor(() => running().every(Boolean), 5000, 'both consumers to run');

    expect(await bob.client.request('block', { whom: alice.sessionId })).toEqual({ ok: true, data: {} });
    expect(running()).toEqual([false, false]);
    await alice.client.waitNotified('peerBlocked', (d) => d['peerId'] === bob.sessionId);
    // Both block: one unblock is not enough.
    await alice.client.ok('block', { whom: bob.sessionId });
    await bob.client.ok('unblock', { whom: alice.sessionId });
    expect(running()).toEqual([false, false]);
    await alice.client.ok('unblock', { whom: bob.sessionId });
    expect(running()).toEqual([true, true]);
    await bob.client.waitNotified('peerUnblocked', (d) => d['peerId'] === alice.sessionId);
    await alice.client.waitNotified('peerUnblocked', (d) => d['peerId'] === bob.sessionId);
    // A client's own pause holds through an unblock.
    await bob.client.ok('pauseConsumer', { consumerId: bobHearsAlice });
    await bob.client.ok('block', { whom: alice.sessionId });
    await bob.client.ok('unblock', { whom: alice.sessionId });
    expect(running()).toEqual([false, true]);
  });

  it('closes the router when a room is closed over HTTP or its last peer leaves', async () => {
    const { node, sid, creator, media } = await setup();
    const alice = await enter(node, sid, 'alice');
    const bob = await enter(node, sid, 'bob');
    expect((await media.stats()).routers).toBe(1);
    expect(await api(node, 'POST', `/api/v1/hubs/${sid}/close`, { token: creator.token })).toMatchObject({ status: 200 });
    await alice.client.waitClosed();
    await bob.client.waitClosed();
    await waitFor(() => node.sfu!.room(sid) === undefined, 5000, 'the room to close');
    expect((await media.stats()).routers).toBe(0);

    const { sid: other } = await createHubAs(node, creator.token);
    const carol = await enter(node, other, 'carol');
    expect(node.sfu!.load()).toMatchObject({ peers: 1, rooms: 1 });
    carol.client.peer.close();
    await waitFor(() => node.sfu!.room(other) === undefined, 5000, 'the empty room to close');
    expect((await media.stats()).routers).toBe(0);
    expect(node.sfu!.load()).toMatchObject({ peers: 0, rooms: 0, consumers: 0 });
  });
});
