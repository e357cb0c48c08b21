/**
 * HTTP rate limits per client address: room creation (HUBMESH_CREATE_HUB_PER_SEC,
 * Reticulum's 1 per second) and the API as a whole (HUBMESH_HTTP_RATE_PER_MIN);
 * probes, pages and the socket are not the API and are never limited.
 */
import { describe, expect, it } from 'vitest';
import { api } from '../support/accounts.js';
import { joinHub } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';

describe('HTTP rate limits', () => {
  it('lets one room creation a second through from a client: the rest of a burst get 429', async () => {
    const node = await startTestNode({ env: { HUBMESH_CREATE_HUB_PER_SEC: '1' } });
    const BURST = 6;
    const startedAt = Date.now();
    const results = await Promise.all(Array.from({ length: BURST }, (_, i) => api(node, 'POST', '/api/v1/hubs', { body: { hub: { name: `Burst ${i}` } } })));
    // A window opens at the first request and lasts a second; a slow machine may straddle one more.
    const windows = Math.ceil((Date.now() - startedAt + 1) / 1000);
    const created = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(created.length + limited.length).toBe(BURST);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(created.length).toBeLessThanOrEqual(windows);
    expect(limited.length).toBeGreaterThanOrEqual(BURST - windows);
    for (const r of limited) expect(r.body).toEqual({ code: 'rate_limited', message: expect.stringMatching(/rate limit/i) });

    // Only creation is held back: the room just made can be read.
    const sid = created[0]!.body!['hub_id'] as string;
    expect((await api(node, 'GET', `/api/v1/hubs/${sid}`)).status).toBe(200);
  });

  it('answers 429 on /api routes past HUBMESH_HTTP_RATE_PER_MIN, but never on probes, pages or the socket', async () => {
    const node = await startTestNode({ env: { HUBMESH_HTTP_RATE_PER_MIN: '3' } });
    const sid = await createHub(node, 'Limited');
    // Creation has its own limit; these are the three.
    expect((await api(node, 'GET', `/api/v1/hubs/${sid}`)).status).toBe(200);
    expect((await api(node, 'GET', '/api/v1/meta')).status).toBe(200);
    expect((await api(node, 'GET', '/api/v1/hubs')).status).toBe(200);
    const limited = await api(node, 'GET', `/api/v1/hubs/${sid}`);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ code: 'rate_limited', message: expect.stringMatching(/rate limit/i) });
    expect((await api(node, 'GET', '/api/v1/hubs?order=new')).status).toBe(429);

    for (let i = 0; i < 10; i++) expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${node.url}/${sid}`, { method: 'HEAD' })).status).toBe(200);
    const { reply } = await joinHub(node, sid, 'alice');
    expect(reply['session_id']).toEqual(expect.any(String));
  });
});
