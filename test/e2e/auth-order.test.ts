/**
 * Routes that take a bearer token check it before the body: a caller
 * without a valid token learns nothing of what the route expects.
 */
import { describe, expect, it } from 'vitest';
import { createHub, startTestNode } from '../support/node.js';

describe('bearer routes', () => {
  it('answer 401 before looking at the body, whatever the body', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const routes: [string, string][] = [
      ['PATCH', `/api/v1/hubs/${sid}`],
      ['POST', `/api/v1/hubs/${sid}/kick`],
      ['POST', `/api/v1/hubs/${sid}/bans`],
      ['POST', `/api/v1/hubs/${sid}/mute`],
      ['DELETE', `/api/v1/hubs/${sid}/bans/1`],
      ['POST', '/api/v1/accounts'],
    ];
    for (const [method, path] of routes) {
      for (const authorization of [undefined, 'Bearer not-a-token']) {
        const res = await fetch(`${node.url}${path}`, {
          method,
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          body: method === 'DELETE' ? undefined : JSON.stringify({ nonsense: true }),
        });
        expect([method, path, res.status]).toEqual([method, path, 401]);
        expect(await res.json()).toEqual({ code: 'unauthenticated', message: 'a valid bearer token is needed' });
      }
    }
  });
});
