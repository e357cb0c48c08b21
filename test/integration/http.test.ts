/**
 * The HTTP API through fastify's inject: rooms, the shared link, meta and health.
 */
import { describe, expect, it } from 'vitest';
import { createHub, startTestNode } from '../support/node.js';

describe('HTTP API', async () => {
  const node = await startTestNode({ scope: 'file' });

  it('creates a room with Reticulum\'s body and answer', async () => {
    const res = await node.app.inject({ method: 'POST', url: '/api/v1/hubs', payload: { hub: { name: 'Demo Room!', room_size: 10, description: 'a test', user_data: { a: 1 } } } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['creator_assignment_token', 'embed_token', 'hub_id', 'status', 'url']);
    expect(body.status).toBe('ok');
    expect(body.hub_id).toMatch(/^[A-HJ-NP-Za-km-z2-9]{7}$/);
    expect(body.url).toBe(`${node.url}/${body.hub_id}/demo-room`);
    expect(body.creator_assignment_token).toMatch(/^[0-9a-f]{32}$/);
    expect(body.embed_token).toMatch(/^[0-9a-f]{32}$/);

    const view = await node.app.inject({ url: `/api/v1/hubs/${body.hub_id}` });
    expect(view.statusCode).toBe(200);
    expect(view.json().hubs[0]).toMatchObject({ hub_id: body.hub_id, name: 'Demo Room!', description: 'a test', user_data: { a: 1 }, room_size: 10, entry_mode: 'allow', member_count: 0, lobby_count: 0 });
  });

  it.each([
    ['no hub', {}, /hub/],
    ['no name', { hub: {} }, /name/],
    ['an empty name', { hub: { name: '' } }, /name/],
    ['a blank name', { hub: { name: '   ' } }, /name/],
    ['a name too long', { hub: { name: 'x'.repeat(65) } }, /name/],
    ['room_size 0', { hub: { name: 'a', room_size: 0 } }, /room_size/],
    ['room_size over the maximum', { hub: { name: 'a', room_size: 51 } }, /room_size/],
    ['room_size as a string', { hub: { name: 'a', room_size: '5' } }, /room_size/],
    ['an unknown field', { hub: { name: 'a', colour: 'red' } }, /additional/],
    ['a hub that is not an object', { hub: 'a' }, /hub/],
  ])('refuses a body with %s with 422', async (_what, payload, message) => {
    const res = await node.app.inject({ method: 'POST', url: '/api/v1/hubs', payload });
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('bad_request');
    expect(res.json().message).toMatch(message);
  });

  it('refuses a body that is not JSON with 422', async () => {
    const res = await node.app.inject({ method: 'POST', url: '/api/v1/hubs', headers: { 'content-type': 'application/json' }, payload: '{"hub":' });
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('bad_request');
  });

  it('answers 404 for a room that does not exist', async () => {
    const res = await node.app.inject({ url: '/api/v1/hubs/zzzzzzz' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ code: 'not_found', message: 'No such Hub' });
  });

  it('serves the shared link with the room name, escaped', async () => {
    const sid = await createHub(node, '<b>Tom & "Jerry"</b>');
    for (const path of [`/${sid}`, `/${sid}/b-tom-jerry-b`, `/${sid}/any-old-slug`]) {
      const res = await node.app.inject({ url: path });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).toContain('&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;');
      expect(res.body).not.toContain('<b>Tom');
    }
    expect((await node.app.inject({ url: '/zzzzzzz' })).statusCode).toBe(404);
    expect((await node.app.inject({ url: '/not-a-sid/slug' })).statusCode).toBe(404);
  });

  it('answers HEAD on the shared link with a current Date header', async () => {
    const sid = await createHub(node);
    const res = await fetch(`${node.url}/${sid}/room`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    const date = Date.parse(res.headers.get('date')!);
    expect(Math.abs(date - Date.now())).toBeLessThan(5000);
    expect((await fetch(`${node.url}/zzzzzzz`, { method: 'HEAD' })).status).toBe(404);
  });

  it('serves meta, health and readiness', async () => {
    const meta = (await node.app.inject({ url: '/api/v1/meta' })).json();
    const { port } = new URL(node.url);
    expect(meta).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), phx_host: '127.0.0.1', phx_port: Number(port), pool: 'hubmesh' });
    expect((await node.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await node.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    expect((await node.app.inject({ url: '/api/v1/nothing' })).statusCode).toBe(404);
  });
});
