/**
 * The landing page (issue 8), built with Vite from web/ as `npm run
 * build:web` builds it, served by a node at `/` and `/assets/`, in Debian's
 * Chromium: a room is created with the keyboard only, its link shown and
 * followed, and a public room listed. Without a built page, `/` says how to
 * build one and every other route keeps working.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { accountMaker, api, createHubAs } from '../support/accounts.js';
import { launchChromium, needsChromium, resultPath } from '../support/browser.js';
import { createHub, startTestNode } from '../support/node.js';
import { buildWebPage, tempDir } from '../support/web-page.js';

describe('landing page routes without a built page', async () => {
  const node = await startTestNode({ scope: 'file', env: { HUBMESH_WEB_DIR: await tempDir('hubmesh-web-empty-') } });

  it('answers / with how to build the page, and every other route still works', async () => {
    const root = await fetch(`${node.url}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await root.text()).toContain('npm run build:web');

    const sid = await createHub(node, 'Still Here');
    const room = await fetch(`${node.url}/${sid}/still-here`);
    expect(room.status).toBe(200);
    expect(await room.text()).toContain('<h1>Still Here</h1>');
    expect((await fetch(`${node.url}/assets/index.js`)).status).toBe(404);
    // fetch would normalise a literal `..`; encoded, it reaches the route and must not climb out.
    expect((await fetch(`${node.url}/assets/%2E%2E%2F%2E%2E%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${node.url}/docs`)).status).toBe(200);
    expect((await fetch(`${node.url}/api/v1/hubs?order=hot`)).status).toBe(200);
  });
});

if (needsChromium()) {
  describe('landing page in Chromium', async () => {
    const store = new MemoryStore();
    const webDir = await buildWebPage();
    const [browser, node] = await Promise.all([
      launchChromium({ scope: 'file' }),
      startTestNode({ scope: 'file', adapters: { store }, env: { HUBMESH_WEB_DIR: webDir } }),
    ]);
    const owner = await (await accountMaker(node, store))({ email: 'owner@example.org' });

    it('creates a room with the keyboard, shows and follows its link, and lists a public room', async () => {
      const { sid: publicSid } = await createHubAs(node, owner.token, { name: 'Public Plaza' });
      expect((await api(node, 'PATCH', `/api/v1/hubs/${publicSid}`, { token: owner.token, body: { hub: { allow_promotion: true } } })).status).toBe(200);

      const { page, errors } = await browser.newPage();
      await page.goto(`${node.url}/`);
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 10_000 });

      // The public room, with its member count and its link.
      const listed = page.locator('#hot-list li', { hasText: 'Public Plaza' });
      await expect.poll(() => listed.count()).toBe(1);
      expect(await listed.locator('a').getAttribute('href')).toBe(`/${publicSid}/public-plaza`);
      expect(await listed.locator('.members').textContent()).toBe('0 people');

      // Keyboard only: the name field is the first stop, Enter submits, an empty name is refused.
      await page.keyboard.press('Tab');
      expect(await page.locator('#room-name:focus').count()).toBe(1);
      await page.keyboard.press('Enter');
      expect(await page.locator('#create-error').textContent()).toBe('Enter a name for the room.');
      await page.keyboard.type('Moon Base');
      await page.keyboard.press('Enter');

      const link = page.locator('#created-link');
      await link.waitFor({ state: 'visible' });
      const href = await link.getAttribute('href');
      expect(href).toMatch(/^\/[A-Za-z0-9]{7}\/moon-base$/);
      expect(await link.textContent()).toBe(`${node.url}${href}`);
      expect(await page.locator('#create-error').isHidden()).toBe(true);
      expect(await page.locator('#created-link:focus').count()).toBe(1);

      await page.screenshot({ path: await resultPath('landing-page.png'), fullPage: true });

      // Following the link (Enter on the focused link) opens the room's page.
      await Promise.all([page.waitForURL(`${node.url}${href}`), page.keyboard.press('Enter')]);
      expect(await page.locator('h1').textContent()).toBe('Moon Base');

      expect(errors).toEqual([]);
      expect(browser.offLoopback).toEqual([]);
    });

    it('shows the API\'s errors in words, e.g. a 429 from the creation limit', async () => {
      const { page, errors } = await browser.newPage();
      await page.route('**/api/v1/hubs', (route) =>
        route.fulfill({ status: 429, contentType: 'application/json', body: JSON.stringify({ code: 'rate_limited', message: 'Rate limit exceeded, retry in 1 second' }) }),
      );
      await page.goto(`${node.url}/`);
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 10_000 });
      await page.locator('#room-name').fill('Too Fast');
      await page.keyboard.press('Enter');
      const error = page.locator('#create-error');
      await error.waitFor({ state: 'visible' });
      expect(await error.textContent()).toBe('You are creating rooms too quickly. Wait a moment, then try again.');
      expect(await page.locator('#room-name').getAttribute('aria-invalid')).toBe('true');
      expect(await page.locator('#created').isHidden()).toBe(true);
      // The browser logs the failed request itself; the page logs nothing else.
      expect(errors.filter((e) => !e.includes('429'))).toEqual([]);
    });

    it('serves the hashed assets with long cache headers', async () => {
      const html = await (await fetch(`${node.url}/`)).text();
      const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(asset).toBeDefined();
      const res = await fetch(`${node.url}${asset}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    });
  });
}
