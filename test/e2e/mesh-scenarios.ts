/**
 * Cross-node scenarios, run over every bus adapter: `makeNodes(n)` returns n
 * nodes sharing one store and one bus.
 */
import type { Channel } from 'phoenix';
import { Presence } from 'phoenix';
import { expect, it } from 'vitest';
import type { HubmeshNode } from '../../src/main.js';
import type { Bus } from '../../src/ports/bus.js';
import { join, joinMember as member, nextOn, phxSocket, profile, RawClient } from '../support/clients.js';
import { createHub } from '../support/node.js';
import { waitFor } from '../support/wait.js';


const names = (presence: Presence) => presence.list((_id, { metas }) => metas[0].profile.displayName as string).sort();

function onDiff(channel: Channel, fn: (diff: { joins: Record<string, unknown>; leaves: Record<string, unknown> }) => void): void {
  channel.on('presence_diff', fn);
}

export interface MeshNode {
  readonly node: HubmeshNode;
  /** The node's own bus connection: closing it cuts the node off the cluster. */
  readonly bus: Bus;
}

export function meshScenarios(makeCluster: (n: number, env?: Record<string, string>) => Promise<MeshNode[]>): void {
  const makeNodes = async (n: number, env?: Record<string, string>) => (await makeCluster(n, env)).map((m) => m.node);

  it('shows every member on every node in presence, and their leaves', async () => {
    const [a, b] = await makeNodes(2);
    const sid = await createHub(a!, 'Split');
    const alice = await member(a!, sid, 'alice');
    const bob = await member(b!, sid, 'bob');
    await waitFor(() => names(bob.presence).length === 2 && names(alice.presence).length === 2, 5000, 'both see both');
    expect(names(bob.presence)).toEqual(['alice', 'bob']);
    const left: string[] = [];
    onDiff(alice.channel, (d) => left.push(...Object.keys(d.leaves)));
    bob.socket.disconnect();
    await waitFor(() => left.includes(bob.sessionId), 5000, 'bob leaves at alice');
    expect(names(alice.presence)).toEqual(['alice']);
  });

  it('relays naf, nafr and chat across nodes once, without echo, in each sender\'s order', async () => {
    const [a, b] = await makeNodes(2);
    const sid = await createHub(a!, 'Relay');
    const alice = await member(a!, sid, 'alice');
    const bob = await member(b!, sid, 'bob');
    const carol = await member(b!, sid, 'carol');
    await waitFor(() => names(alice.presence).length === 3, 5000, 'all three');
    // 150 and a chat: under the default burst of 200 frames a socket may send at once.
    for (let i = 0; i < 150; i++) alice.channel.push('nafr', { naf: JSON.stringify({ dataType: 'drawing-x', data: { i } }) });
    const chat = nextOn(bob.channel, 'message');
    alice.channel.push('message', { type: 'chat', body: 'across' });
    expect(await chat).toEqual({ type: 'chat', body: 'across', session_id: alice.sessionId });
    await waitFor(() => carol.got.filter((g) => g['event'] === 'nafr').length === 150, 5000, 'all 150 at carol');
    const order = (got: Record<string, unknown>[]) => got.filter((g) => g['event'] === 'nafr').map((g) => (JSON.parse(g['naf'] as string) as { data: { i: number } }).data.i);
    expect(order(bob.got)).toEqual(Array.from({ length: 150 }, (_, i) => i));
    expect(order(carol.got)).toEqual(Array.from({ length: 150 }, (_, i) => i));
    expect(alice.got.filter((g) => g['event'] === 'nafr')).toEqual([]);
  });

  it('tells a joiner on another node about the entities, and hands over a leaver\'s objects everywhere', async () => {
    const [a, b] = await makeNodes(2);
    const sid = await createHub(a!, 'Things', {});
    const alice = await member(a!, sid, 'alice');
    const bob = await member(b!, sid, 'bob');
    await waitFor(() => names(alice.presence).length === 2, 5000, 'both');
    alice.channel.push('naf', {
      dataType: 'u',
      data: { networkId: 'av', owner: 'x', creator: 'x', lastOwnerTime: 5, template: '#remote-avatar', persistent: false, parent: null, components: { 0: 1 }, isFirstSync: true },
    });
    alice.channel.push('nafr', { naf: JSON.stringify({ dataType: 'u', data: { networkId: 'av', owner: alice.sessionId, creator: alice.sessionId, lastOwnerTime: 5, template: '#remote-avatar', persistent: true, parent: null, components: { 0: 2 } } }) });
    await waitFor(() => bob.got.length === 2, 5000, 'bob sees the avatar');

    // A newcomer on node b gets it from b's own table.
    const carol = await member(b!, sid, 'carol');
    await waitFor(() => carol.got.length >= 1, 5000, 'carol\'s snapshot');
    expect(carol.got[0]).toMatchObject({ event: 'naf', dataType: 'u', data: { networkId: 'av', owner: alice.sessionId, components: { 0: 2 }, isFirstSync: true } });

    // Alice leaves node a: her persistent object goes to the greatest remaining id, told once to everyone, before her leave.
    await waitFor(() => names(alice.presence).length === 3, 5000, 'node a knows carol');
    const heir = bob.sessionId > carol.sessionId ? bob.sessionId : carol.sessionId;
    const order: string[] = [];
    bob.channel.on('naf', (p: Record<string, unknown>) => {
      order.push(String(p['dataType']));
    });
    onDiff(bob.channel, (d) => {
      if (alice.sessionId in d.leaves) order.push('leave');
    });
    alice.socket.disconnect();
    await waitFor(() => order.includes('leave'), 5000, 'alice leaves');
    expect(order).toEqual(['um', 'leave']);
    const dave = await member(b!, sid, 'dave');
    await waitFor(() => dave.got.length >= 2, 5000, 'dave\'s snapshot');
    expect(dave.got.map((g) => (g['data'] as { owner?: string }).owner)).toEqual(['scene', heir]);
  });

  it('kicks a session on whichever node holds its socket', async () => {
    const [a, b] = await makeNodes(2);
    const sid = await createHub(a!, 'Kick');
    const alice = await member(a!, sid, 'alice');
    const bob = await member(b!, sid, 'bob');
    await waitFor(() => names(alice.presence).length === 2, 5000, 'both');
    const closes: number[] = [];
    bob.socket.onClose((e: unknown) => {
      closes.push((e as { code: number }).code);
    });
    expect(await a!.disconnectSession(bob.sessionId)).toBe(0);
    await waitFor(() => closes.length > 0, 5000, 'bob disconnected by node b');
    expect(closes[0]).toBe(1000);
    await waitFor(() => names(alice.presence).length === 1, 5000, 'bob gone at alice');
  });

  it('lets a silent node\'s members go within HUBMESH_NODE_DOWN_MS, and hands over what they owned', async () => {
    const [ma, mb] = await makeCluster(2, { HUBMESH_NODE_DOWN_MS: '600' });
    const [a, b] = [ma!.node, mb!.node];
    const sid = await createHub(a, 'Down');
    const alice = await member(a, sid, 'alice');
    const bob = await member(b, sid, 'bob');
    await waitFor(() => names(alice.presence).length === 2, 5000, 'both');
    bob.channel.push('naf', {
      dataType: 'u',
      data: { networkId: 'box', owner: 'x', creator: 'x', lastOwnerTime: 5, template: '#remote-avatar', persistent: false, parent: null, components: { 0: 1 }, isFirstSync: true },
    });
    // Pinned: persistent from now on.
    bob.channel.push('nafr', { naf: JSON.stringify({ dataType: 'u', data: { networkId: 'box', owner: bob.sessionId, creator: bob.sessionId, lastOwnerTime: 5, template: '#remote-avatar', persistent: true, parent: null, components: { 0: 2 } } }) });
    await waitFor(() => alice.got.length === 2, 5000, 'the box at alice');

    // Node b drops off the bus without a word: no leaves are published for its members.
    const cutAt = Date.now();
    await mb!.bus.close();
    await waitFor(() => names(alice.presence).length === 1, 5000, 'bob gone at alice');
    const took = Date.now() - cutAt;
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(3000);
    const carol = await member(a, sid, 'carol');
    await waitFor(() => carol.got.length >= 2, 5000, 'carol\'s snapshot');
    // Alice was the only one left when node b was declared down: the box is hers.
    expect(carol.got.map((g) => (g['data'] as { owner?: string }).owner)).toEqual(['scene', alice.sessionId]);
  });

  it('admits exactly room_size of many joining at once on three nodes', async () => {
    const nodes = await makeNodes(3);
    const sid = await createHub(nodes[0]!, 'Capped', { room_size: 24 });
    // The first join makes node 0 the room's home; the others ask it.
    const first = await RawClient.open(nodes[0]!);
    first.send(['1', '1', `hub:${sid}`, 'phx_join', profile('first')]);
    expect((await first.reply('1'))[4]['status']).toBe('ok');
    const clients = await Promise.all(Array.from({ length: 30 }, (_, i) => RawClient.open(nodes[i % 3]!)));
    clients.forEach((c, i) => c.send(['1', '1', `hub:${sid}`, 'phx_join', profile(`p${i}`)]));
    const replies = await Promise.all(clients.map((c) => c.reply('1', 10_000)));
    const refused = replies.filter((r) => r[4]['status'] === 'error');
    expect(replies.length - refused.length).toBe(23);
    expect(refused).toHaveLength(7);
    for (const r of refused) expect(r[4]['response']).toMatchObject({ reason: 'room_full' });
  });

  it('moves the lease when the home dies, and the room keeps admitting and capping', async () => {
    const cluster = await makeCluster(2, { HUBMESH_NODE_DOWN_MS: '600', HUBMESH_LEASE_TTL_MS: '1000' });
    const [home, other] = [cluster[0]!, cluster[1]!];
    const sid = await createHub(home.node, 'Moving', { room_size: 3 });
    const a = await member(home.node, sid, 'alice');
    const b = await member(other.node, sid, 'bob');
    await waitFor(() => names(b.presence).length === 2, 5000, 'both');
    await home.bus.close();
    await waitFor(() => names(b.presence).length === 1, 5000, 'alice gone with her node');
    // The lease runs out; the next join on the surviving node takes the room over.
    const c = await member(other.node, sid, 'carol');
    const d = await member(other.node, sid, 'dave');
    expect(names(d.presence)).toEqual(['bob', 'carol', 'dave']);
    const refused = await join(phxSocket(other.node).channel(`hub:${sid}`, profile('erin'))).catch((e: { response: unknown }) => e.response);
    expect(refused).toMatchObject({ reason: 'room_full' });
    expect(a.sessionId).not.toBe(c.sessionId);
  });
}
