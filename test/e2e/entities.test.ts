/**
 * Entity arbitration on the server, seen through the official phoenix.js
 * client: late joiners, simultaneous grabs, leaves, spoofed removals,
 * targeted messages, blocks and limits.
 */
import type { Channel } from 'phoenix';
import { describe, expect, it } from 'vitest';
import type { HubmeshNode } from '../../src/main.js';
import { join, joinHub, nextOn, phxSocket, profile } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { waitFor } from '../support/wait.js';

type Msg = Record<string, unknown> & { data: Record<string, unknown> };

/** Collects every naf and nafr message a channel receives, nafr parsed. */
function collect(channel: Channel): Msg[] {
  const got: Msg[] = [];
  channel.on('naf', (p: Msg) => {
    got.push(p);
  });
  channel.on('nafr', (p: { naf: string; from_session_id: string }) => {
    got.push({ ...(JSON.parse(p.naf) as Msg), from_session_id: p.from_session_id });
  });
  return got;
}

/** Joins with naf listeners attached before the join, so nothing pushed right after the reply is missed. */
async function joinCollecting(node: HubmeshNode, sid: string, name: string) {
  const socket = phxSocket(node);
  const channel = socket.channel(`hub:${sid}`, profile(name));
  const got = collect(channel);
  const reply = await join(channel);
  return { socket, channel, got, sessionId: reply['session_id'] as string };
}

const firstSync = (networkId: string, template: string, persistent: boolean, lastOwnerTime: number) => ({
  dataType: 'u',
  data: { networkId, owner: 'me', creator: 'me', lastOwnerTime, template, persistent, parent: null, components: { 0: { x: 1, y: 2, z: 3 }, 1: 'blue' }, isFirstSync: true },
});

const fullSync = (networkId: string, owner: string, creator: string, lastOwnerTime: number, persistent = false) => ({
  dataType: 'u',
  data: { networkId, owner, creator, lastOwnerTime, template: '#interactable-media', persistent, parent: null, components: { 0: { x: 9, y: 9, z: 9 } } },
});

describe('entities on the server', () => {
  it('shows a late joiner the live entities right after presence_state, before any owner resends', async () => {
    const node = await startTestNode({ env: { HUBMESH_PERMISSIVE_ROOMS: 'true' } });
    const sid = await createHub(node);
    const a = await joinHub(node, sid, 'alice');
    const b = await joinCollecting(node, sid, 'bob');
    a.channel.push('naf', firstSync('cube1', '#interactable-media', false, 100));
    a.channel.push('nafr', { naf: JSON.stringify({ dataType: 'um', data: { d: [{ networkId: 'cube1', owner: a.sessionId, lastOwnerTime: 100, components: { 1: 'red' } }] } }) });
    await waitFor(() => b.got.length === 2, 5000, 'bob sees the cube and its update');

    const events: string[] = [];
    const socket = phxSocket(node);
    const channel = socket.channel(`hub:${sid}`, profile('carol'));
    channel.on('presence_state', () => {
      events.push('presence_state');
    });
    const got = collect(channel);
    channel.on('naf', () => {
      events.push('naf');
    });
    await join(channel);
    await waitFor(() => got.length === 1, 5000, 'carol gets the snapshot');
    expect(events).toEqual(['presence_state', 'naf']);
    expect(got[0]).toMatchObject({
      dataType: 'u',
      from_session_id: a.sessionId,
      data: { networkId: 'cube1', owner: a.sessionId, creator: a.sessionId, isFirstSync: true, persistent: false, template: '#interactable-media', components: { 0: { x: 1, y: 2, z: 3 }, 1: 'red' } },
    });
  });

  it('can be turned off per room for strict parity', async () => {
    const node = await startTestNode({ env: { HUBMESH_PERMISSIVE_ROOMS: 'true' } });
    const sid = await createHub(node, 'Strict', { user_data: { hubmesh_entity_snapshot: false } });
    const a = await joinHub(node, sid, 'alice');
    const b = await joinCollecting(node, sid, 'bob');
    a.channel.push('naf', firstSync('cube1', '#interactable-media', false, 100));
    await waitFor(() => b.got.length === 1, 5000, 'bob sees the cube');
    const c = await joinCollecting(node, sid, 'carol');
    // A chat round trip after the join: anything the join pushed would have arrived before it.
    const chat = nextOn(c.channel, 'message');
    c.channel.push('message', { type: 'chat', body: 'hi' });
    await chat;
    expect(c.got).toEqual([]);
  });

  it('converges a grab by two clients at once on one owner, and drops the loser\'s updates', async () => {
    const node = await startTestNode({ env: { HUBMESH_PERMISSIVE_ROOMS: 'true' } });
    const sid = await createHub(node);
    const a = await joinCollecting(node, sid, 'alice');
    const b = await joinCollecting(node, sid, 'bob');
    const c = await joinCollecting(node, sid, 'carol');
    a.channel.push('naf', firstSync('ball', '#interactable-media', false, 100));
    await waitFor(() => b.got.length === 1 && c.got.length === 1, 5000, 'the ball');

    // Both grab with the same lastOwnerTime: NAF gives the tie to the greater session id.
    const [winner, loser] = b.sessionId > c.sessionId ? [b, c] : [c, b];
    loser.channel.push('nafr', { naf: JSON.stringify(fullSync('ball', loser.sessionId, a.sessionId, 200)) });
    winner.channel.push('nafr', { naf: JSON.stringify(fullSync('ball', winner.sessionId, a.sessionId, 200)) });
    await waitFor(() => a.got.some((m) => m['from_session_id'] === winner.sessionId), 5000, 'the winner\'s claim at alice');
    // The loser, still believing it owns the ball, sends an update: it is dropped, as every client would drop it.
    loser.channel.push('nafr', { naf: JSON.stringify({ dataType: 'um', data: { d: [{ networkId: 'ball', owner: loser.sessionId, lastOwnerTime: 200, components: { 0: { x: 0, y: 0, z: 0 } } }] } }) });
    winner.channel.push('nafr', { naf: JSON.stringify({ dataType: 'um', data: { d: [{ networkId: 'ball', owner: winner.sessionId, lastOwnerTime: 200, components: { 0: { x: 5, y: 5, z: 5 } } }] } }) });
    await waitFor(() => node.metrics.get('hub_dropped_total', { reason: 'outdated' }) === 1 && a.got.filter((m) => m['from_session_id'] === winner.sessionId).length === 2, 5000, 'the winner\'s update at alice');

    const ownerSeenBy = (got: Msg[]) => got.filter((m) => m.data['networkId'] === 'ball' || Array.isArray(m.data['d'])).map((m) => (m.data['owner'] ?? (m.data['d'] as Msg['data'][])[0]!['owner']) as string);
    // Whichever claim came first, every client ends on the winner, as the server does.
    expect(ownerSeenBy(a.got).at(-1)).toBe(winner.sessionId);
    expect(ownerSeenBy(loser.got).at(-1)).toBe(winner.sessionId);
    expect(a.got.some((m) => m['from_session_id'] === loser.sessionId && m['dataType'] === 'um')).toBe(false);
    expect(node.metrics.get('hub_dropped_total', { reason: 'outdated' })).toBe(1);
    // The newcomer is told the winner owns it.
    const d = await joinCollecting(node, sid, 'dave');
    await waitFor(() => d.got.length === 2, 5000, 'snapshot');
    expect(d.got.map((m) => m.data['owner'])).toEqual(['scene', winner.sessionId]);
    expect(d.got[0]!.data['components']).toEqual({ 0: { x: 5, y: 5, z: 5 }, 1: 'blue' });
  });

  it('gives a leaving owner\'s persistent object a new owner in one broadcast, and removes its other objects', async () => {
    const node = await startTestNode({ env: { HUBMESH_PERMISSIVE_ROOMS: 'true' } });
    const sid = await createHub(node);
    const a = await joinCollecting(node, sid, 'alice');
    const b = await joinCollecting(node, sid, 'bob');
    const c = await joinCollecting(node, sid, 'carol');
    a.channel.push('naf', firstSync('pinned', '#interactable-media', false, 100));
    // Pinning makes it persistent.
    a.channel.push('nafr', { naf: JSON.stringify(fullSync('pinned', a.sessionId, a.sessionId, 100, true)) });
    a.channel.push('naf', firstSync('thrown', '#interactable-media', false, 100));
    await waitFor(() => b.got.length === 3 && c.got.length === 3, 5000, 'alice\'s objects');
    b.got.length = 0;
    c.got.length = 0;

    const diffs: string[] = [];
    b.channel.on('presence_diff', (diff: { leaves: Record<string, unknown> }) => {
      if (a.sessionId in diff.leaves) diffs.push(`leave after ${b.got.length} naf`);
    });
    const before = Date.now();
    a.socket.disconnect();
    await waitFor(() => diffs.length === 1, 5000, 'alice leaves');
    const heir = b.sessionId > c.sessionId ? b.sessionId : c.sessionId;
    // Both messages arrive before the presence leave, so Hubs still finds alice when it checks the r.
    expect(diffs).toEqual(['leave after 2 naf']);
    expect(b.got[0]).toEqual({ dataType: 'r', data: { networkId: 'thrown', template: '#interactable-media' }, from_session_id: a.sessionId });
    const handover = b.got[1]!;
    expect(handover).toMatchObject({ dataType: 'um', from_session_id: heir });
    const [unclaimed, claimed] = handover.data['d'] as Record<string, unknown>[];
    expect(unclaimed).toMatchObject({ networkId: 'pinned', owner: 'scene' });
    expect(claimed).toMatchObject({ networkId: 'pinned', owner: heir, persistent: true, components: { 0: { x: 9, y: 9, z: 9 }, 1: 'blue' } });
    // Far enough ahead that no client's own takeOwnership (which needs lastOwnerTime < now) races it.
    expect(claimed!['lastOwnerTime'] as number).toBeGreaterThanOrEqual(before + 2000);
    expect(c.got).toEqual(b.got);
  });

  it('drops a spoofed removal of someone else\'s avatar, and restores it at the spoofer', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const a = await joinCollecting(node, sid, 'alice');
    const m = await joinCollecting(node, sid, 'mallory');
    a.channel.push('naf', firstSync('avatar-a', '#remote-avatar', false, 100));
    await waitFor(() => m.got.length === 1, 5000, 'the avatar');
    m.channel.push('naf', { dataType: 'r', data: { networkId: 'avatar-a' } });
    await waitFor(() => m.got.length === 2, 5000, 'the avatar restored at mallory');
    expect(m.got[1]).toMatchObject({ dataType: 'u', data: { networkId: 'avatar-a', isFirstSync: true, owner: a.sessionId } });
    expect(node.metrics.get('hub_dropped_total', { reason: 'not_owner' })).toBe(1);
    const chat = nextOn(a.channel, 'message');
    m.channel.push('message', { type: 'chat', body: 'sorry' });
    await chat;
    expect(a.got).toEqual([]);
  });

  it('delivers a naf with a clientId to that session only', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const a = await joinCollecting(node, sid, 'alice');
    const b = await joinCollecting(node, sid, 'bob');
    const c = await joinCollecting(node, sid, 'carol');
    a.channel.push('naf', { dataType: 'drawing-x', data: { points: [1, 2] }, clientId: c.sessionId });
    a.channel.push('naf', { dataType: 'drawing-x', data: { points: [3] } });
    await waitFor(() => c.got.length === 2 && b.got.length === 1, 5000, 'deliveries');
    expect(b.got.map((x) => x.data)).toEqual([{ points: [3] }]);
    expect(c.got.map((x) => x.data)).toEqual([{ points: [1, 2] }, { points: [3] }]);
  });

  it('filters relayed messages between two sessions after a block, both ways, until unblocked', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const a = await joinCollecting(node, sid, 'alice');
    const b = await joinCollecting(node, sid, 'bob');
    const c = await joinCollecting(node, sid, 'carol');
    a.channel.push('block', { session_id: b.sessionId });
    a.channel.push('naf', { dataType: 'drawing-x', data: { n: 1 } });
    b.channel.push('naf', { dataType: 'drawing-x', data: { n: 2 } });
    const chat = nextOn(c.channel, 'message');
    b.channel.push('message', { type: 'chat', body: 'hello?' });
    await waitFor(() => c.got.length === 2, 5000, 'carol gets both');
    await chat;
    a.channel.push('unblock', { session_id: b.sessionId });
    b.channel.push('naf', { dataType: 'drawing-x', data: { n: 3 } });
    await waitFor(() => a.got.length === 1, 5000, 'alice sees bob again');
    expect(a.got.map((x) => x.data)).toEqual([{ n: 3 }]);
    expect(b.got).toEqual([]);
  });

  it('refuses NAF messages over the size cap and entities over the per-session limit', async () => {
    const node = await startTestNode({ env: { HUBMESH_MAX_NAF_BYTES: '1024', HUBMESH_MAX_ENTITIES_PER_SESSION: '2', HUBMESH_PERMISSIVE_ROOMS: 'true' } });
    const sid = await createHub(node);
    const a = await joinHub(node, sid, 'alice');
    const reply = (event: string, payload: object) =>
      new Promise<unknown>((resolve) => a.channel.push(event, payload).receive('error', resolve).receive('timeout', () => resolve('timeout')));
    expect(await reply('naf', { dataType: 'drawing-x', data: { pad: 'x'.repeat(2000) } })).toMatchObject({ reason: 'payload_too_large' });
    a.channel.push('naf', firstSync('e1', '#interactable-media', false, 1));
    a.channel.push('naf', firstSync('e2', '#interactable-media', false, 1));
    expect(await reply('naf', firstSync('e3', '#interactable-media', false, 1))).toMatchObject({ reason: 'entity_limit' });
  });
});
