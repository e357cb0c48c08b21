/**
 * Cross-node scenarios, run over every bus adapter: `makeNodes(n)` returns n
 * nodes sharing one store and one bus.
 */
import type { Channel } from 'phoenix';
import { Presence } from 'phoenix';
import { expect, it } from 'vitest';
import type { HubmeshNode } from '../../src/main.js';
import { join, nextOn, phxSocket, profile } from '../support/clients.js';
import { createHub } from '../support/node.js';
import { waitFor } from '../support/wait.js';

async function member(node: HubmeshNode, sid: string, name: string) {
  const socket = phxSocket(node);
  const channel = socket.channel(`hub:${sid}`, profile(name));
  const presence = new Presence(channel);
  const got: Record<string, unknown>[] = [];
  for (const event of ['naf', 'nafr', 'message']) {
    channel.on(event, (p: Record<string, unknown>) => {
      got.push({ event, ...p });
    });
  }
  const reply = await join(channel);
  return { socket, channel, presence, got, sessionId: reply['session_id'] as string };
}

const names = (presence: Presence) => presence.list((_id, { metas }) => metas[0].profile.displayName as string).sort();

function onDiff(channel: Channel, fn: (diff: { joins: Record<string, unknown>; leaves: Record<string, unknown> }) => void): void {
  channel.on('presence_diff', fn);
}

export function meshScenarios(makeNodes: (n: number) => Promise<HubmeshNode[]>): void {
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
}
