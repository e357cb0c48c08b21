/**
 * The room page behind the shared link (issue 8), built with Vite from web/
 * as `npm run build:web` builds it, in Debian's Chromium: two pages on one
 * link enter by name with the keyboard, see each other in the people list
 * and chat both ways; a full room, an unknown room and a kick each end in
 * words on the page.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { accountMaker, api, createHubAs } from '../support/accounts.js';
import { launchChromium, needsChromium, resultPath } from '../support/browser.js';
import { createHub, startTestNode } from '../support/node.js';
import { buildWebPage } from '../support/web-page.js';

const TIMEOUT_MS = 10_000;

/** Opens the link and waits for the page's script to be ready. */
async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: TIMEOUT_MS });
}

/** Types a name into the focused prompt and presses Enter; resolves once the page's join is answered. */
async function enterAs(page: Page, name: string): Promise<void> {
  expect(await page.locator('#display-name:focus').count()).toBe(1);
  await page.keyboard.type(name);
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-state]', { state: 'attached', timeout: TIMEOUT_MS });
}

const peopleOf = (page: Page): Promise<string[]> => page.locator('#people li').evaluateAll((items) => items.map((li) => (li.textContent ?? '').replace(/\s+/g, ' ').trim()));
const chatOf = (page: Page): Promise<string[]> => page.locator('#chat-log li').allTextContents();
const endingOf = (page: Page): Promise<string | null> => page.locator('#ended-title').textContent();

async function sendChat(page: Page, body: string): Promise<void> {
  await page.locator('#chat-input').focus();
  await page.keyboard.type(body);
  await page.keyboard.press('Enter');
}

if (needsChromium()) {
  describe('room page in Chromium', async () => {
    const store = new MemoryStore();
    const webDir = await buildWebPage();
    const [browser, node] = await Promise.all([
      launchChromium({ scope: 'file' }),
      startTestNode({ scope: 'file', adapters: { store }, env: { HUBMESH_WEB_DIR: webDir } }),
    ]);
    const owner = await (await accountMaker(node, store))({ email: 'owner@example.org' });

    it('serves the built page for a known room, naming it, with ret:phx_host', async () => {
      const sid = await createHub(node, 'Tea & <Cake>');
      const res = await fetch(`${node.url}/${sid}/tea-cake`);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('<meta name="ret:phx_host" content="127.0.0.1:');
      expect(html).toContain('<title>Tea &amp; &lt;Cake&gt; | hubmesh</title>');
      expect(html).toContain('<h1 id="room-title">Tea &amp; &lt;Cake&gt;</h1>');
      expect(html).toMatch(/src="\/assets\/room-[^"]+\.js"/);
    });

    it('lets two people on one link see each other and chat both ways', async () => {
      const sid = await createHub(node, 'Tea Room');
      const link = `${node.url}/${sid}/tea-room`;
      const ada = await browser.newPage();
      const bob = await browser.newPage();
      await open(ada.page, link);
      await enterAs(ada.page, 'Ada');
      await open(bob.page, link);
      await enterAs(bob.page, 'Bob');
      expect(await ada.page.getAttribute('body', 'data-state')).toBe('joined');
      expect(await bob.page.getAttribute('body', 'data-state')).toBe('joined');

      await expect.poll(() => peopleOf(ada.page), { timeout: TIMEOUT_MS }).toEqual(['Ada (you)', 'Bob']);
      await expect.poll(() => peopleOf(bob.page), { timeout: TIMEOUT_MS }).toEqual(['Bob (you)', 'Ada']);
      // A guest holds no moderation permission, so no controls are shown.
      expect(await ada.page.locator('#people button').count()).toBe(0);
      expect(await ada.page.locator('#close-room').isHidden()).toBe(true);

      await sendChat(ada.page, 'hello Bob');
      await expect.poll(() => chatOf(bob.page), { timeout: TIMEOUT_MS }).toEqual(['Ada: hello Bob']);
      await sendChat(bob.page, 'hi Ada');
      await expect.poll(() => chatOf(ada.page), { timeout: TIMEOUT_MS }).toEqual(['Ada: hello Bob', 'Bob: hi Ada']);
      await expect.poll(() => chatOf(bob.page), { timeout: TIMEOUT_MS }).toEqual(['Ada: hello Bob', 'Bob: hi Ada']);

      await ada.page.screenshot({ path: await resultPath('room-two-people.png'), fullPage: true });
      expect([...ada.errors, ...bob.errors]).toEqual([]);
      expect(browser.offLoopback).toEqual([]);
    });

    it('tells a third person that a room of two is full', async () => {
      const sid = await createHub(node, 'Pair', { room_size: 2 });
      const link = `${node.url}/${sid}/pair`;
      const pages = [await browser.newPage(), await browser.newPage(), await browser.newPage()];
      for (const [i, { page }] of pages.entries()) {
        await open(page, link);
        await enterAs(page, `Person ${i + 1}`);
      }
      const [first, , third] = pages.map((p) => p.page);
      await expect.poll(() => peopleOf(first!), { timeout: TIMEOUT_MS }).toHaveLength(2);
      expect(await third!.getAttribute('body', 'data-state')).toBe('room_full');
      expect(await endingOf(third!)).toBe('This room is full');
      expect(await third!.locator('#room').isHidden()).toBe(true);
      expect(pages.flatMap((p) => p.errors)).toEqual([]);
    });

    it('says an unknown room is not found', async () => {
      const { page, errors } = await browser.newPage();
      const res = await page.goto(`${node.url}/zzzzzzz/nowhere`);
      expect(res?.status()).toBe(404);
      expect(await page.locator('h1').textContent()).toBe('Room not found');
      // The browser logs the 404 itself; the page logs nothing else.
      expect(errors.filter((e) => !e.includes('404'))).toEqual([]);
    });

    it('moves a person kicked over HTTP to the kicked message', async () => {
      const { sid } = await createHubAs(node, owner.token, { name: 'Kick Room' });
      const target = await browser.newPage();
      await open(target.page, `${node.url}/${sid}/kick-room`);
      await enterAs(target.page, 'Mallory');
      const sessionId = await target.page.locator('#people li', { hasText: '(you)' }).getAttribute('data-session-id');
      expect(sessionId).toBeTruthy();

      const kicked = await api(node, 'POST', `/api/v1/hubs/${sid}/kick`, { token: owner.token, body: { session_id: sessionId } });
      expect(kicked.status).toBe(200);
      await target.page.waitForSelector('body[data-state="kicked"]', { state: 'attached', timeout: TIMEOUT_MS });
      expect(await endingOf(target.page)).toBe('You were removed from this room');
      expect(await target.page.locator('#room').isHidden()).toBe(true);

      await target.page.screenshot({ path: await resultPath('room-kicked.png'), fullPage: true });
      expect(target.errors).toEqual([]);
    });
  });
}
