/**
 * The SFU's dialog signaling end to end, with the official `protoo-client`
 * (what the Hubs client uses) against a node of role all, and perms tokens
 * the relay hands the official `phoenix` client. Media parameters are
 * mediasoup-client's shapes written by hand: no packets flow here (the
 * browser suite does that). One test uses the werift engine for real
 * ICE/DTLS parameters; the others use FakeMedia.
 */
import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import type { HubmeshNode } from '../../src/main.js';
import type { MediaEngine } from '../../src/ports/media-engine.js';
import { loadSecrets } from '../../src/secrets.js';
import { FakeMedia } from '../../sfu/fake-media.js';
import { WeriftMedia } from '../../sfu/werift-media.js';
import { accountMaker, api, createHubAs } from '../support/accounts.js';
import { joinHub, wsBase } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { audioParameters, SfuClient, upgradeStatus } from '../support/sfu-client.js';
import { waitFor, within } from '../support/wait.js';

async function sfuNode(env: Record<string, string> = {}, media: MediaEngine = new FakeMedia()) {
  const store = new MemoryStore();
  const node = await startTestNode({ env: { HUBMESH_PERMISSIVE_ROOMS: 'true', ...env }, adapters: { store, media } });
  return { node, store };
}

/** A member of the room on the relay: its session and the perms token the relay gave it. */
async function member(node: HubmeshNode, sid: string, name: string) {
  const { permsToken, sessionId, socket } = await joinHub(node, sid, name);
  return { sessionId, token: permsToken, socket };
}

/** A member on the SFU too: connected, with send and receive transports, joined. */
async function sfuPeer(node: HubmeshNode, sid: string, name: string) {
  const m = await member(node, sid, name);
  const client = await SfuClient.connect(node, sid, m.sessionId);
  const transports = await client.transports();
  const joined = await client.join(m.token);
  expect(joined.ok).toBe(true);
  return { ...m, client, ...transports, joined };
}

const refusal = (reason: string) => ({ ok: false, code: expect.any(Number), reason: expect.stringMatching(new RegExp(`^${reason}: `)) });

describe('SFU signaling', () => {
  it('hands out the router capabilities and real ICE/DTLS parameters (werift), and forwards a producer to the other peer', async () => {
    const { node } = await sfuNode({}, new WeriftMedia({ announcedIp: '127.0.0.1' }));
    const sid = await createHub(node);
    const m = await member(node, sid, 'alice');
    const client = await SfuClient.connect(node, sid, m.sessionId);
    const caps = await client.ok('getRouterRtpCapabilities');
    expect((caps['codecs'] as { mimeType: string }[]).map((c) => c.mimeType)).toContain('audio/opus');

    // Allowed before join, as in dialog.
    const t = await client.ok('createWebRtcTransport', { producing: true, consuming: false, sctpCapabilities: { numStreams: { OS: 1024, MIS: 1024 } } });
    expect(Object.keys(t).sort()).toEqual(['dtlsParameters', 'iceCandidates', 'iceParameters', 'id']);
    expect(t['iceParameters']).toMatchObject({ usernameFragment: expect.any(String), password: expect.any(String), iceLite: true });
    expect(t['iceCandidates']).toContainEqual(expect.objectContaining({ ip: '127.0.0.1', protocol: 'udp', port: expect.any(Number), type: 'host' }));
    expect((t['dtlsParameters'] as { fingerprints: { algorithm: string; value: string }[] }).fingerprints).toContainEqual({ algorithm: 'sha-256', value: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/) });

    expect((await client.join(m.token)).ok).toBe(true);
    const bob = await sfuPeer(node, sid, 'bob');
    const produced = await client.produce(t['id'] as string, 'audio');
    expect(produced).toEqual({ ok: true, data: { id: expect.any(String) } });
    const producerId = produced.ok ? (produced.data['id'] as string) : '';
    await bob.client.waitOffer(producerId);
    expect(bob.client.offers[0]).toMatchObject({ peerId: m.sessionId, producerId, kind: 'audio', producerPaused: false, appData: { share: 'audio', peerId: m.sessionId } });
    // Accepted, so resumed on the server.
    const consumerId = bob.client.offers[0]!.id;
    await waitFor(() => node.sfu!.room(sid)?.peers.get(bob.sessionId)?.consumers.get(consumerId)?.consumer.paused === false, 5000, 'the consumer to resume');
  });

  it('lists the joined peers, tells them of the newcomer and offers it the producers already there', async () => {
    const { node } = await sfuNode();
    const sid = await createHub(node);
    const alice = await sfuPeer(node, sid, 'alice');
    expect(alice.joined).toEqual({ ok: true, data: { peers: [] } });
    const audio = await alice.client.produceId(alice.send, 'audio');
    const video = await alice.client.produceId(alice.send, 'video');

    const bob = await sfuPeer(node, sid, 'bob');
    expect(bob.joined).toEqual({ ok: true, data: { peers: [{ id: alice.sessionId, displayName: 'test', device: { flag: 'node', name: 'protoo-client' }, hasProducers: true }] } });
    await alice.client.waitNotified('newPeer', (d) => d['id'] === bob.sessionId);
    await bob.client.waitOffer(audio);
    await bob.client.waitOffer(video);
    expect(alice.client.offers).toEqual([]);

    // Paused by the producer: the consumer hears it.
    await alice.client.ok('pauseProducer', { producerId: audio });
    const consumerId = bob.client.offers.find((o) => o.producerId === audio)!.id;
    await bob.client.waitNotified('consumerPaused', (d) => d['consumerId'] === consumerId);
    await alice.client.ok('resumeProducer', { producerId: audio });
    await bob.client.waitNotified('consumerResumed', (d) => d['consumerId'] === consumerId);
    // Closed by the producer: the consumer closes too.
    await alice.client.ok('closeProducer', { producerId: audio });
    await bob.client.waitNotified('consumerClosed', (d) => d['consumerId'] === consumerId);

    // A refreshed peer is not offered what it consumes already.
    await bob.client.ok('refreshConsumers');
    expect((await bob.client.ok('getConsumerStats', { consumerId: bob.client.offers.find((o) => o.producerId === video)!.id })) as unknown).toEqual([expect.objectContaining({ type: 'outbound-rtp', kind: 'video' })]);
    expect(bob.client.offers).toHaveLength(2);
  });

  it('refuses a join without a valid perms token for this room and session; such a peer can neither produce nor consume', async () => {
    const { node, store } = await sfuNode();
    const sid = await createHub(node);
    const otherSid = await createHub(node);
    const { tokens } = await accountMaker(node, store);
    const { permsKeyPem } = await loadSecrets(node.dataDir, undefined);
    const alice = await sfuPeer(node, sid, 'alice');
    const audio = await alice.client.produceId(alice.send, 'audio');

    const cases: [string, (m: { sessionId: string; token: string }) => Promise<string | undefined>, string][] = [
      ['no token', async () => undefined, 'invalid_token'],
      ['a tampered signature', async (m) => tamper(m.token), 'invalid_token'],
      ['garbage', async () => 'not-a-token', 'invalid_token'],
      ['an expired token', async (m) => expired(permsKeyPem, { hub_id: sid, session_id: m.sessionId, join_hub: true, voice_chat: true }), 'invalid_token'],
      ["another room's token", async (m) => tokens.signPermsToken({ hub_id: otherSid, session_id: m.sessionId, join_hub: true }), 'join_denied'],
      ["another session's token", async () => alice.token, 'join_denied'],
      ['a token without join_hub', async (m) => tokens.signPermsToken({ hub_id: sid, session_id: m.sessionId, join_hub: false, voice_chat: true }), 'join_denied'],
    ];
    const refused: SfuClient[] = [];
    for (const [what, token, reason] of cases) {
      const m = await member(node, sid, what);
      const client = await SfuClient.connect(node, sid, m.sessionId);
      const { send } = await client.transports();
      expect(await client.join(await token(m)), what).toEqual(refusal(reason));
      expect(await client.produce(send, 'audio'), what).toEqual(refusal('not_joined'));
      expect(await client.request('refreshConsumers'), what).toEqual(refusal('not_joined'));
      refused.push(client);
    }
    expect(node.metrics.get('sfu_refusals_total', { reason: 'invalid_token' })).toBe(4);
    expect(node.metrics.get('sfu_refusals_total', { reason: 'join_denied' })).toBe(3);

    // A peer that joins now is offered alice's producer; had a refused peer been offered it, that offer would have come first.
    const bob = await sfuPeer(node, sid, 'bob');
    await bob.client.waitOffer(audio);
    for (const client of refused) expect(client.offers).toEqual([]);
    expect(alice.client.notified('newPeer').map((d) => d['id'])).toEqual([bob.sessionId]);
    expect(bob.joined).toEqual({ ok: true, data: { peers: [expect.objectContaining({ id: alice.sessionId })] } });
  });

  it('needs voice_chat to produce audio and spawn_and_move_media to produce video', async () => {
    // Restrictive rooms give members voice_chat and text_chat only.
    const { node, store } = await sfuNode({ HUBMESH_PERMISSIVE_ROOMS: 'false' });
    const creator = await (await accountMaker(node, store))();
    const { sid } = await createHubAs(node, creator.token);
    const alice = await sfuPeer(node, sid, 'alice');
    expect(await alice.client.produce(alice.send, 'video')).toEqual(refusal('unauthorized'));
    expect(await alice.client.produce(alice.send, 'audio')).toMatchObject({ ok: true });

    // The room takes voice away: members who join now may not speak.
    expect(await api(node, 'PATCH', `/api/v1/hubs/${sid}`, { token: creator.token, body: { hub: { member_permissions: { voice_chat: false } } } })).toMatchObject({ status: 200 });
    const bob = await sfuPeer(node, sid, 'bob');
    expect(await bob.client.produce(bob.send, 'audio')).toEqual(refusal('unauthorized'));
    expect(node.metrics.get('sfu_refusals_total', { reason: 'unauthorized' })).toBe(2);
  });

  it('keeps producers per peer, video producers per room and consumers per process within their limits', async () => {
    const { node } = await sfuNode({ HUBMESH_SFU_MAX_PRODUCERS_PER_PEER: '2', HUBMESH_SFU_MAX_VIDEO_PRODUCERS_PER_ROOM: '1', HUBMESH_SFU_MAX_CONSUMERS: '1' });
    const sid = await createHub(node);
    const alice = await sfuPeer(node, sid, 'alice');
    const bob = await sfuPeer(node, sid, 'bob');
    expect(await alice.client.produce(alice.send, 'video')).toMatchObject({ ok: true });
    expect(await bob.client.produce(bob.send, 'video')).toEqual(refusal('too_many_video_producers'));
    expect(await alice.client.produce(alice.send, 'audio')).toMatchObject({ ok: true });
    expect(await alice.client.produce(alice.send, 'audio')).toEqual(refusal('too_many_producers'));

    // One consumer fits: bob gets one offer, and is told that the other was refused.
    await bob.client.waitNotified('consumerRefused', (d) => d['reason'] === 'sfu_full' && d['peerId'] === alice.sessionId);
    await waitFor(() => bob.client.offers.length === 1, 5000, 'one offer');
    expect(node.sfu!.load()).toMatchObject({ consumers: 1, maxConsumers: 1, peers: 2, rooms: 1 });
    expect(node.metrics.get('sfu_refusals_total', { reason: 'too_many_producers' })).toBe(1);
    expect(node.metrics.get('sfu_refusals_total', { reason: 'too_many_video_producers' })).toBe(1);
    expect(node.metrics.get('sfu_refusals_total', { reason: 'sfu_full' })).toBe(1);

    // The slot comes back when the consumer goes, and refreshConsumers fills it.
    await alice.client.ok('closeProducer', { producerId: bob.client.offers[0]!.producerId });
    await waitFor(() => node.sfu!.load().consumers === 0, 5000, 'the slot to free');
    await bob.client.ok('refreshConsumers');
    await waitFor(() => bob.client.offers.length === 2, 5000, 'the refused producer offered again');
  });

  it('answers bad requests with an error response and keeps serving', async () => {
    const { node } = await sfuNode();
    const sid = await createHub(node);
    const alice = await sfuPeer(node, sid, 'alice');
    const c = alice.client;
    const fingerprints = [{ algorithm: 'sha-256', value: 'AB:CD' }];
    const bad: [string, unknown, string][] = [
      ['fly', {}, 'unknown_method'],
      ['createWebRtcTransport', { producing: 'yes', consuming: false }, 'bad_request'],
      ['connectWebRtcTransport', { transportId: alice.send }, 'bad_request'],
      ['connectWebRtcTransport', { transportId: 'nope', dtlsParameters: { fingerprints } }, 'media_not_found'],
      ['produce', { transportId: alice.send, kind: 'smell', rtpParameters: { codecs: [] } }, 'bad_request'],
      ['produce', { transportId: alice.send, kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/G722', payloadType: 9, clockRate: 8000 }] } }, 'bad_request'],
      ['produce', { transportId: alice.recv, kind: 'video', rtpParameters: audioParameters(5) }, 'bad_request'],
      ['closeProducer', { producerId: 'nope' }, 'media_not_found'],
      ['pauseConsumer', {}, 'bad_request'],
      ['resumeConsumer', { consumerId: 'nope' }, 'media_not_found'],
      ['block', { whom: 7 }, 'bad_request'],
    ];
    for (const [method, data, reason] of bad) expect(await c.request(method, data), method).toEqual(refusal(reason));
    expect(await c.join(alice.token)).toEqual(refusal('already_joined'));
    await c.transports();
    expect(await c.request('createWebRtcTransport', { producing: true, consuming: false })).toEqual(refusal('too_many_transports'));
    expect(node.metrics.get('sfu_unknown_methods_total')).toBe(1);

    // Frames that are not protoo: JSON of another shape is counted and ignored, anything else closes the socket.
    const raw = await rawSocket(`${wsBase(node)}/sfu?roomId=${sid}&peerId=raw`);
    expect(raw.ws.protocol).toBe('protoo');
    raw.ws.send(JSON.stringify({ hello: 'world' }));
    raw.ws.send(JSON.stringify({ request: true, id: 7, method: 'getRouterRtpCapabilities' }));
    expect(await raw.next()).toMatchObject({ response: true, id: 7, ok: true, data: { codecs: expect.any(Array) } });
    expect(node.metrics.get('sfu_bad_frames_total', { kind: 'shape' })).toBe(1);
    raw.ws.send('not json');
    expect(await raw.closed).toBe(1007);
    expect(node.metrics.get('sfu_bad_frames_total', { kind: 'json' })).toBe(1);
    // dialog's 960 KB message limit.
    const big = await rawSocket(`${wsBase(node)}/sfu?roomId=${sid}&peerId=big`);
    big.ws.send(JSON.stringify({ request: true, id: 1, method: 'join', data: { pad: 'x'.repeat(960 * 1024) } }));
    expect(await big.closed).toBe(1009);

    // Still serving, and the failures cost nothing: alice can produce.
    expect(await c.produce(alice.send, 'audio')).toMatchObject({ ok: true });
  });

  it('serves upgrades at /sfu and at / with a room and a peer, refuses them without (400), and leaves the rest to the relay', async () => {
    const { node } = await sfuNode();
    const sid = await createHub(node);
    // The Phoenix socket at /socket keeps working: member() joins through it.
    const m = await member(node, sid, 'alice');
    const atRoot = await SfuClient.connect(node, sid, m.sessionId, '/');
    expect((await atRoot.join(m.token)).ok).toBe(true);
    for (const query of ['', `?roomId=${sid}`, '?peerId=p', '?roomId=not.a.sid&peerId=p', `?roomId=${sid}&peerId=`]) {
      expect(await upgradeStatus(`${wsBase(node)}/sfu${query}`), query).toBe(400);
    }
    expect(await upgradeStatus(`${wsBase(node)}/?roomId=${sid}`)).toBe(404);
    expect(await upgradeStatus(`${wsBase(node)}/elsewhere?roomId=${sid}&peerId=p`)).toBe(404);
  });

  it('closes the earlier peer when the same peer id connects again, as dialog does', async () => {
    const { node } = await sfuNode();
    const sid = await createHub(node);
    const alice = await sfuPeer(node, sid, 'alice');
    const bob = await sfuPeer(node, sid, 'bob');
    const again = await SfuClient.connect(node, sid, alice.sessionId);
    await alice.client.waitClosed();
    await bob.client.waitNotified('peerClosed', (d) => d['peerId'] === alice.sessionId);
    expect(await again.join(alice.token)).toEqual({ ok: true, data: { peers: [expect.objectContaining({ id: bob.sessionId })] } });
    await bob.client.waitNotified('newPeer', (d) => d['id'] === alice.sessionId);
    expect([...node.sfu!.room(sid)!.peers.keys()].sort()).toEqual([alice.sessionId, bob.sessionId].sort());
  });
});

/** A websocket speaking raw frames to the SFU: the next message, and the close code. */
async function rawSocket(url: string) {
  const ws = new WebSocket(url, 'protoo');
  onTestFinished(() => ws.terminate());
  const messages: unknown[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await within(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 5000, 'the raw socket to open');
  const next = async (): Promise<unknown> => {
    if (messages.length === 0) await within(new Promise<void>((r) => waiters.push(r)), 5000, 'a message');
    return messages.shift();
  };
  return { ws, next, closed: within(closed, 5000, 'the raw socket to close') };
}

/** The signature's first character changed: every one of its bits counts. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  return `${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
}

/** A perms token signed with the node's key that expired ten minutes ago, past the 60 s of drift. */
function expired(permsKeyPem: string, claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS512', typ: 'JWT' }).setAudience('ret_perms').setIssuer('hubmesh').setIssuedAt(now - 900).setExpirationTime(now - 600).sign(createPrivateKey(permsKeyPem));
}

