/**
 * Room actors: spawned once however many join at the same moment, stopped
 * after the last member leaves and the idle time passes, started again by the
 * next join.
 */
import { describe, expect, it } from 'vitest';
import { RawClient, type Frame } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { waitFor } from '../support/wait.js';

const joinPayload = (name: string) => ({ profile: { displayName: name }, context: {} });

describe('room actors', () => {
  it('spawns one actor for simultaneous first joins, and every joiner sees all the others', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const clients = await Promise.all(Array.from({ length: 12 }, () => RawClient.open(node)));
    clients.forEach((c, i) => c.send(['1', '1', `hub:${sid}`, 'phx_join', joinPayload(`p${i}`)]));
    const replies = await Promise.all(clients.map((c) => c.reply('1')));
    expect(replies.every((r) => r[4]['status'] === 'ok')).toBe(true);
    expect(node.registry.size).toBe(1);
    expect(node.metrics.get('hub_joins_total')).toBe(12);
    const ids = new Set(replies.map((r) => (r[4]['response'] as { session_id: string }).session_id));
    // The last joiner's presence_state lists everyone.
    const states = await Promise.all(clients.map((c) => c.next((f) => f[3] === 'presence_state')));
    expect(Math.max(...states.map((s) => Object.keys(s[4]).length))).toBe(12);
    expect(new Set(states.flatMap((s) => Object.keys(s[4])))).toEqual(ids);
  });

  it('stops an empty room after the idle time and starts it again on the next join', async () => {
    const node = await startTestNode({ env: { HUBMESH_ROOM_IDLE_MS: '50' } });
    const sid = await createHub(node);
    const c = await RawClient.open(node);
    c.send(['1', '1', `hub:${sid}`, 'phx_join', joinPayload('a')]);
    await c.reply('1');
    expect(node.registry.size).toBe(1);
    c.send(['1', '2', `hub:${sid}`, 'phx_leave', {}]);
    await c.reply('2');
    await waitFor(() => node.registry.size === 0, 5000, 'room stopped');

    c.send(['3', '3', `hub:${sid}`, 'phx_join', joinPayload('a')]);
    expect((await c.reply('3'))[4]['status']).toBe('ok');
    expect(node.registry.size).toBe(1);
    const state = await c.next((f) => f[3] === 'presence_state' && f[0] === '3');
    expect(Object.keys(state[4])).toHaveLength(1);
  });

  it('keeps a room that someone rejoins within the idle time', async () => {
    const node = await startTestNode({ env: { HUBMESH_ROOM_IDLE_MS: '60000' } });
    const sid = await createHub(node);
    const a = await RawClient.open(node);
    a.send(['1', '1', `hub:${sid}`, 'phx_join', joinPayload('a')]);
    await a.reply('1');
    a.ws.close();
    await a.closed;
    const b = await RawClient.open(node);
    b.send(['1', '1', `hub:${sid}`, 'phx_join', joinPayload('b')]);
    await b.reply('1');
    const state = await b.next((f) => f[3] === 'presence_state');
    expect(Object.values(state[4])).toHaveLength(1);
    expect(node.registry.size).toBe(1);
  });
});

describe('what a socket sends while its join is finishing', () => {
  it('is handled after the join, in order, as a Phoenix channel does', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const a = await RawClient.open(node);
    a.send(['1', '1', `hub:${sid}`, 'phx_join', joinPayload('a')]);
    await a.reply('1');
    // b does not wait for its join's reply (the perms token is still being signed) before it talks and leaves.
    const b = await RawClient.open(node);
    b.send(['1', '1', `hub:${sid}`, 'phx_join', joinPayload('b')]);
    b.send(['1', '2', `hub:${sid}`, 'message', { type: 'chat', body: 'hello' }]);
    b.send(['1', '3', `hub:${sid}`, 'phx_leave', {}]);
    const chat = await a.next((f) => f[3] === 'message');
    expect(chat[4]).toMatchObject({ type: 'chat', body: 'hello' });
    const frames = b.frames as Frame[];
    await waitFor(() => frames.some((f) => f[1] === '3' && f[3] === 'phx_reply'), 5000, 'the leave answered');
    const replies = frames.filter((f) => f[3] === 'phx_reply');
    expect(replies.map((f) => [f[1], f[4]['status']])).toEqual([
      ['1', 'ok'],
      ['3', 'ok'],
    ]);
    // a saw b come and go.
    await a.next((f) => f[3] === 'presence_diff' && Object.keys(f[4]['leaves'] as object).length === 1);
  });
});

describe('room size', () => {
  it('admits exactly room_size sessions of many joining at once, lets a session rejoin, and frees a place on leave', async () => {
    const node = await startTestNode();
    const sid = await createHub(node, 'Small', { room_size: 4 });
    const clients = await Promise.all(Array.from({ length: 7 }, () => RawClient.open(node)));
    clients.forEach((c, i) => c.send(['1', '1', `hub:${sid}`, 'phx_join', joinPayload(`p${i}`)]));
    const replies = await Promise.all(clients.map((c) => c.reply('1')));
    const ok = replies.filter((r) => r[4]['status'] === 'ok');
    const refused = replies.filter((r) => r[4]['status'] === 'error');
    expect(ok).toHaveLength(4);
    expect(refused).toHaveLength(3);
    for (const r of refused) expect(r[4]['response']).toEqual({ reason: 'room_full', message: 'Room is full (4 people)' });

    // A member's duplicate join (a rejoin on the same socket) is not a fifth person.
    const inside = clients[replies.indexOf(ok[0]!)]!;
    inside.send(['2', '2', `hub:${sid}`, 'phx_join', joinPayload('again')]);
    expect((await inside.reply('2'))[4]['status']).toBe('ok');

    // One leaves: one of the refused gets in.
    inside.send(['2', '3', `hub:${sid}`, 'phx_leave', {}]);
    await inside.reply('3');
    const waiting = clients[replies.indexOf(refused[0]!)]!;
    waiting.send(['4', '4', `hub:${sid}`, 'phx_join', joinPayload('late')]);
    expect((await waiting.reply('4'))[4]['status']).toBe('ok');
  });
});
