/**
 * GET /metrics against a real node driven by the official phoenix client:
 * a scripted session moves the counters by exactly what it did, and the
 * gauges read at scrape time follow the sockets, rooms and members.
 */
import { Presence } from 'phoenix';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MemoryBusNetwork } from '../../src/adapters/memory-bus.js';
import { loadConfig } from '../../src/config.js';
import { startSfuNode, type HubmeshNode } from '../../src/main.js';
import { FakeMedia } from '../../sfu/fake-media.js';
import { parseExposition, type Exposition } from '../contract/metrics-text.js';
import { disconnectAll, join, phxSocket, profile, type NodeAddress } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { eventually, waitFor, within } from '../support/wait.js';

async function scrape(node: NodeAddress, headers: Record<string, string> = {}): Promise<Exposition> {
  const res = await fetch(`${node.url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

/** A member as joinMember makes one, that also counts every frame its socket receives, from the first. */
async function countedMember(node: NodeAddress, sid: string, name: string) {
  const socket = phxSocket(node);
  let frames = 0;
  socket.onMessage(() => {
    frames++;
  });
  const channel = socket.channel(`hub:${sid}`, profile(name));
  const presence = new Presence(channel);
  const got: string[] = [];
  for (const event of ['naf', 'message']) {
    channel.on(event, () => {
      got.push(event);
    });
  }
  const reply = await join(channel);
  return { socket, channel, presence, got, sessionId: reply['session_id'] as string, frames: () => frames };
}

const firstSync = (networkId: string) => ({
  dataType: 'u',
  data: { networkId, owner: 'x', creator: 'x', lastOwnerTime: 1, template: '#remote-avatar', persistent: false, isFirstSync: true, components: { 0: [1, 2, 3] } },
});

describe('GET /metrics', () => {
  it('moves the counters by exactly what a session did, and the gauges with it', async () => {
    const network = new MemoryBusNetwork();
    // A bus, so the bus is timed too; the room stops as soon as it is empty.
    const node: HubmeshNode = await startTestNode({ env: { HUBMESH_ROOM_IDLE_MS: '0' }, adapters: { bus: network.connect() } });
    const before = await scrape(node);
    expect(before.value('ws_sockets')).toBe(0);
    expect(before.value('hub_rooms')).toBe(0);

    const sid = await createHub(node);
    const alice = await countedMember(node, sid, 'alice');
    const bob = await countedMember(node, sid, 'bob');
    for (const n of [1, 2, 3]) alice.channel.push('naf', firstSync(`net${n}`));
    alice.channel.push('message', { type: 'chat', body: 'hello' });
    await waitFor(() => bob.got.length === 4 && alice.got.length === 1, 5000, 'the naf and the chat');
    await within(new Promise((resolve) => bob.channel.leave().receive('ok', resolve)), 5000, 'bob to leave');
    await waitFor(() => alice.presence.list().length === 1, 5000, 'bob\'s leave at alice');
    // Everything the node wrote has arrived: what it counted is what the clients got.
    await waitFor(() => node.metrics.get('ws_frames_out_total') === alice.frames() + bob.frames(), 5000, 'every frame written to arrive');

    const after = await scrape(node);
    const delta = (name: string, labels?: Record<string, string>) => after.sum(name, labels) - before.sum(name, labels);
    expect(delta('ws_connects_total')).toBe(2);
    expect(delta('hub_joins_total')).toBe(2);
    // Two joins, three naf, one chat, one leave.
    expect(delta('ws_frames_in_total')).toBe(7);
    expect(delta('ws_frames_out_total')).toBe(alice.frames() + bob.frames());
    expect(delta('hub_messages_in_total', { event: 'naf' })).toBe(3);
    expect(delta('hub_messages_in_total', { event: 'message' })).toBe(1);
    expect(delta('hub_messages_in_total')).toBe(4);
    expect(delta('hub_broadcasts_total', { event: 'naf' })).toBe(3);
    expect(delta('hub_broadcasts_total', { event: 'message' })).toBe(1);
    // Alice arrives, Bob arrives, Bob leaves.
    expect(delta('hub_broadcasts_total', { event: 'presence_diff' })).toBe(3);
    expect(delta('hub_dropped_total')).toBe(0);
    expect(delta('hub_errors_total')).toBe(0);

    expect(after.value('ws_sockets')).toBe(2);
    expect(after.value('hub_rooms')).toBe(1);
    // Nobody entered: Alice waits in the lobby, Bob left.
    expect(after.value('hub_members', { presence: 'lobby' })).toBe(1);
    expect(after.value('hub_members', { presence: 'room' })).toBe(0);

    // The store and the bus are timed, per method and per operation.
    expect(after.types.get('store_call_seconds')).toBe('histogram');
    expect(delta('store_call_seconds_count', { method: 'createHub' })).toBe(1);
    expect(after.value('store_call_seconds_bucket', { method: 'createHub', le: '+Inf' })).toBe(1);
    expect(delta('store_call_seconds_count', { method: 'getHub' })).toBeGreaterThanOrEqual(1);
    expect(after.value('store_errors_total', { method: 'createHub' })).toBe(0);
    expect(after.types.get('bus_call_seconds')).toBe('histogram');
    expect(delta('bus_call_seconds_count', { op: 'publish' })).toBeGreaterThanOrEqual(4);
    expect(after.value('bus_errors_total', { op: 'publish' })).toBe(0);

    // The SFU of this node (role all) holds no media yet; the process series are there.
    for (const kind of ['routers', 'transports', 'producers', 'consumers', 'rooms', 'peers']) expect(after.value(`sfu_${kind}`), kind).toBe(0);
    expect(after.types.get('nodejs_eventloop_lag_p99_seconds')).toBe('gauge');
    expect(after.value('nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(after.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(after.types.get('process_cpu_seconds_total')).toBe('counter');

    await disconnectAll([bob.socket]);
    const oneLeft = await eventually(() => scrape(node), (m) => m.value('ws_sockets') === 1, 5000, 'bob\'s socket to close');
    expect(oneLeft.value('hub_rooms')).toBe(1);
    await disconnectAll([alice.socket]);
    const empty = await eventually(() => scrape(node), (m) => m.value('ws_sockets') === 0 && m.value('hub_rooms') === 0, 5000, 'the room to stop');
    expect(empty.value('hub_members', { presence: 'lobby' })).toBe(0);
    expect(empty.value('hub_members', { presence: 'room' })).toBe(0);
  });

  it('asks for the bearer token when one is configured', async () => {
    const token = 'scrape-token-0123456789';
    const node = await startTestNode({ env: { HUBMESH_METRICS_TOKEN: token } });
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${token}`]) {
      const res = await fetch(`${node.url}/metrics`, { headers: authorization === undefined ? {} : { authorization } });
      expect(res.status, authorization).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'unauthenticated' });
    }
    expect((await scrape(node, { authorization: `Bearer ${token}` })).value('ws_sockets')).toBe(0);
  });

  it('is served by an SFU-only process too, with its media counts', async () => {
    const relay = await startTestNode();
    const config = loadConfig({ HUBMESH_HOST: '127.0.0.1', HUBMESH_ROLE: 'sfu', HUBMESH_SFU_PORT: '0', HUBMESH_DATA_DIR: relay.dataDir, HUBMESH_LOG_LEVEL: 'silent' });
    const sfuNode = await startSfuNode(config, { media: new FakeMedia() });
    onTestFinished(() => sfuNode.close());
    const text = await scrape({ url: sfuNode.url.replace(/^ws/, 'http') });
    expect(text.value('sfu_transports')).toBe(0);
    expect(text.value('sfu_consumers')).toBe(0);
    expect(text.value('hub_rooms')).toBeUndefined();
  });
});
