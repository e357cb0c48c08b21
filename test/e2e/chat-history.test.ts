/**
 * Chat history for moderators: the newest HUBMESH_CHAT_HISTORY chat, photo
 * and video messages of a room, over GET /api/v1/hubs/:sid/messages.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { accountMaker } from '../support/accounts.js';
import { joinMember } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { eventually } from '../support/wait.js';

describe('chat history', () => {
  it('keeps the newest messages of each kept type for moderators only', async () => {
    const store = new MemoryStore();
    const node = await startTestNode({ adapters: { store }, env: { HUBMESH_CHAT_HISTORY: '3', HUBMESH_PERMISSIVE_ROOMS: 'true' } });
    const makeAccount = await accountMaker(node, store);
    const admin = await makeAccount({ email: 'admin@example.org', isAdmin: true });
    const member = await makeAccount({ email: 'm@example.org' });
    const sid = await createHub(node);
    const ada = await joinMember(node, sid, 'Ada');
    for (const body of ['one', 'two', 'three', 'four']) ada.channel.push('message', { type: 'chat', body });
    ada.channel.push('message', { type: 'permission', body: { permission: 'voice_chat', status: false } });
    ada.channel.push('message', { type: 'photo', body: { src: 'https://example.org/p.png' } });

    const get = async (token: string | null) =>
      fetch(`${node.url}/api/v1/hubs/${sid}/messages`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    const adminToken = admin.token;
    const body = await eventually(
      async () => (await (await get(adminToken)).json()) as { messages: { type: string; body: unknown; session_id: string }[] },
      (b) => b.messages.at(-1)?.type === 'photo',
      5000,
      'the photo in the history',
    );
    expect(body.messages.map((m) => m.body)).toEqual(['three', 'four', { src: 'https://example.org/p.png' }]);
    expect(body.messages.every((m) => m.session_id === ada.sessionId)).toBe(true);
    expect((await get(null)).status).toBe(401);
    expect((await get(member.token)).status).toBe(403);
  });
});
