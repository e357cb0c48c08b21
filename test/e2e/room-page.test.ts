/**
 * The room page behind the shared link (issue 8), built with Vite from web/
 * as `npm run build:web` builds it, in Debian's Chromium: two pages on one
 * link enter by name with the keyboard, see each other in the people list
 * and chat both ways; a full room, an unknown room and a kick each end in
 * words on the page. Then accounts and moderation, keyboard only: signing in
 * with a token (a bad one refused in words), the controls a moderator gets
 * and a guest does not, kick, ban and close from the page, an invite-only
 * room, a dropped connection, and claiming a room made on the landing page.
 * Each signed-in person has a browser of their own, as the account token is
 * kept in localStorage for the whole origin.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { CloseCode } from '../../src/protocol/frames.js';
import { accountMaker, api, createHubAs } from '../support/accounts.js';
import { launchChromium, needsChromium, resultPath, type TestPage } from '../support/browser.js';
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

/** Each row of the people list as it reads, without its buttons. */
const peopleOf = (page: Page): Promise<string[]> =>
  page.locator('#people li').evaluateAll((items) =>
    items.map((li) =>
      [...li.childNodes]
        .filter((n) => n.nodeName !== 'BUTTON')
        .map((n) => n.textContent ?? '')
        .join('')
        .replace(/\s+/g, ' ')
        .trim(),
    ),
  );
const chatOf = (page: Page): Promise<string[]> => page.locator('#chat-log li').allTextContents();
const endingOf = (page: Page): Promise<string | null> => page.locator('#ended-title').textContent();

const buttonsOf = (page: Page): Promise<string[]> => page.locator('#people button').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('aria-label') ?? ''));
const waitForState = (page: Page, state: string) => page.waitForSelector(`body[data-state="${state}"]`, { state: 'attached', timeout: TIMEOUT_MS });
const sessionIdOf = (page: Page): Promise<string | null> => page.locator('#people li', { hasText: '(you' }).getAttribute('data-session-id');

/** Signs in with the page's control, keyboard only: the toggle, Enter, the token pasted, Enter. */
async function signIn(page: Page, token: string): Promise<void> {
  await page.locator('#sign-in-toggle').focus();
  await page.keyboard.press('Enter');
  expect(await page.locator('#account-token:focus').count()).toBe(1);
  await page.keyboard.insertText(token);
  await page.keyboard.press('Enter');
}

/** Presses a focused button with Enter, as a keyboard user does. */
async function press(page: Page, selector: string): Promise<void> {
  await page.locator(selector).focus();
  await page.keyboard.press('Enter');
}

/** The console errors of pages, less the failed requests the browser logs itself (a 401 for a refused token). */
const pageErrors = (pages: readonly TestPage[], ...statuses: number[]): string[] =>
  pages.flatMap((p) => p.errors).filter((e) => !statuses.some((status) => e.includes(`status of ${status}`)));

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
    const makeAccount = await accountMaker(node, store);
    const owner = await makeAccount({ email: 'owner@example.org' });

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

      await ada.page.screenshot({ path: await resultPath('room-chat.png'), fullPage: true });
      expect([...ada.errors, ...bob.errors]).toEqual([]);
      expect(browser.offLoopback).toEqual([]);
    });

    it('tells a third person that a room of two is full', async () => {
      const sid = await createHub(node, 'Pair', { room_size: 2 });
      const link = `${node.url}/${sid}/pair`;
      // Three browser contexts: each person a browser of their own, as on three machines.
      const pages = [await browser.newPage(), await (await launchChromium()).newPage(), await (await launchChromium()).newPage()];
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

    /** A moderator (the room's creator) in a browser of their own, signed in on the page, and a guest, both in the room. */
    async function moderatorAndGuest(roomName: string, slug: string) {
      const moderator = await makeAccount({ email: `mod-${slug}@example.org` });
      const { sid } = await createHubAs(node, moderator.token, { name: roomName });
      const link = `${node.url}/${sid}/${slug}`;
      const modBrowser = await launchChromium();
      const mod = await modBrowser.newPage();
      const guest = await browser.newPage();
      await open(mod.page, link);
      await enterAs(mod.page, 'Olga');
      await signIn(mod.page, moderator.token);
      await open(guest.page, link);
      await enterAs(guest.page, 'Gus');
      await expect.poll(() => buttonsOf(mod.page), { timeout: TIMEOUT_MS }).toEqual(['Mute Gus', 'Kick Gus', 'Ban Gus']);
      return { sid, link, moderator, mod, guest, modBrowser };
    }

    it('signs a moderator in on the page, refusing a bad token in words; the moderator sees Kick, Mute, Ban and Close, a guest none, and signing out takes them away', async () => {
      const moderator = await makeAccount({ email: 'olga@example.org' });
      const { sid } = await createHubAs(node, moderator.token, { name: 'Mod Room' });
      const link = `${node.url}/${sid}/mod-room`;
      const mod = await (await launchChromium()).newPage();
      const guest = await browser.newPage();
      await open(mod.page, link);
      await enterAs(mod.page, 'Olga');
      await open(guest.page, link);
      await enterAs(guest.page, 'Gus');
      await expect.poll(() => peopleOf(mod.page), { timeout: TIMEOUT_MS }).toEqual(['Olga (you)', 'Gus']);
      expect(await mod.page.locator('#account-status').textContent()).toBe('You are not signed in.');
      expect(await buttonsOf(mod.page)).toEqual([]);

      await signIn(mod.page, 'not-a-token');
      const error = mod.page.locator('#sign-in-error');
      await error.waitFor({ state: 'visible', timeout: TIMEOUT_MS });
      expect(await error.textContent()).toBe('That account token was not accepted. Check that you pasted all of it, or ask an admin for a new one.');
      expect(await mod.page.locator('#account-token').getAttribute('aria-invalid')).toBe('true');
      expect(await mod.page.locator('#account-token:focus').count()).toBe(1);
      expect(await mod.page.locator('#account-status').textContent()).toBe('You are not signed in.');
      expect(await buttonsOf(mod.page)).toEqual([]);

      // The field still has the focus: select the bad token and paste the good one.
      await mod.page.keyboard.press('Control+A');
      await mod.page.keyboard.insertText(moderator.token);
      await mod.page.keyboard.press('Enter');
      await expect.poll(() => mod.page.locator('#account-status').textContent(), { timeout: TIMEOUT_MS }).toBe('Signed in as olga@example.org.');
      expect(await error.isHidden()).toBe(true);
      expect(await mod.page.locator('#sign-out:focus').count()).toBe(1);
      await expect.poll(() => peopleOf(mod.page), { timeout: TIMEOUT_MS }).toEqual(['Olga (you, creator)', 'Gus']);
      await expect.poll(() => buttonsOf(mod.page), { timeout: TIMEOUT_MS }).toEqual(['Mute Gus', 'Kick Gus', 'Ban Gus']);
      expect(await mod.page.locator('#close-room').isVisible()).toBe(true);

      await expect.poll(() => peopleOf(guest.page), { timeout: TIMEOUT_MS }).toEqual(['Gus (you)', 'Olga (creator)']);
      expect(await buttonsOf(guest.page)).toEqual([]);
      expect(await guest.page.locator('#close-room').isHidden()).toBe(true);
      await mod.page.screenshot({ path: await resultPath('room-moderator.png'), fullPage: true });

      await press(mod.page, '#sign-out');
      await expect.poll(() => buttonsOf(mod.page), { timeout: TIMEOUT_MS }).toEqual([]);
      expect(await mod.page.locator('#close-room').isHidden()).toBe(true);
      expect(await mod.page.locator('#account-status').textContent()).toBe('You signed out.');
      expect(await mod.page.locator('#sign-in-toggle:focus').count()).toBe(1);
      await expect.poll(() => peopleOf(guest.page), { timeout: TIMEOUT_MS }).toEqual(['Gus (you)', 'Olga']);
      expect(pageErrors([mod, guest], 401)).toEqual([]);
    });

    it('kicks a guest from the page', async () => {
      const { mod, guest } = await moderatorAndGuest('Kick Page', 'kick-page');
      await press(mod.page, '#people button[aria-label="Kick Gus"]');
      await waitForState(guest.page, 'kicked');
      expect(await endingOf(guest.page)).toBe('You were removed from this room');
      await expect.poll(() => peopleOf(mod.page), { timeout: TIMEOUT_MS }).toEqual(['Olga (you, creator)']);
      expect(await mod.page.locator('#moderation-status').textContent()).toBe('Gus was removed.');
      expect(pageErrors([mod, guest])).toEqual([]);
    });

    it('bans a guest from the page after asking: the guest is put out, and on reload is told of the ban', async () => {
      const { sid, link, moderator, mod, guest } = await moderatorAndGuest('Ban Page', 'ban-page');
      const guestSession = await sessionIdOf(guest.page);

      // Escape cancels, and nothing happens.
      await press(mod.page, '#people button[aria-label="Ban Gus"]');
      const dialog = mod.page.locator('#ban-dialog');
      await dialog.waitFor({ state: 'visible', timeout: TIMEOUT_MS });
      expect(await dialog.locator('#ban-title').textContent()).toBe('Ban Gus?');
      expect(await mod.page.locator('#ban-cancel:focus').count()).toBe(1);
      await mod.page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden', timeout: TIMEOUT_MS });
      expect((await api(node, 'GET', `/api/v1/hubs/${sid}/bans`, { token: moderator.token })).body).toEqual({ bans: [] });

      await press(mod.page, '#people button[aria-label="Ban Gus"]');
      await dialog.waitFor({ state: 'visible', timeout: TIMEOUT_MS });
      await mod.page.keyboard.press('Shift+Tab');
      expect(await mod.page.locator('#ban-confirm:focus').count()).toBe(1);
      await mod.page.keyboard.press('Enter');

      // The server closes a banned session's socket with the text `banned`: the page says so at once.
      await waitForState(guest.page, 'banned');
      expect(await endingOf(guest.page)).toBe('You are banned from this room');
      await expect.poll(() => mod.page.locator('#moderation-status').textContent(), { timeout: TIMEOUT_MS }).toBe('Gus was banned.');
      await expect.poll(() => peopleOf(mod.page), { timeout: TIMEOUT_MS }).toEqual(['Olga (you, creator)']);
      const { body } = await api(node, 'GET', `/api/v1/hubs/${sid}/bans`, { token: moderator.token });
      expect(body?.['bans']).toMatchObject([{ session_id: guestSession, account_id: null, expires_at: null }]);

      // A reload is the same session (its token is kept for the tab), and its join is refused with the ban.
      await open(guest.page, link);
      await enterAs(guest.page, 'Gus');
      expect(await guest.page.getAttribute('body', 'data-state')).toBe('banned');
      expect(await endingOf(guest.page)).toBe('You are banned from this room');
      await guest.page.screenshot({ path: await resultPath('room-banned.png'), fullPage: true });
      expect(pageErrors([mod, guest])).toEqual([]);
    });

    it('closes the room from the page: everyone in it sees it closed, and so does a later visitor', async () => {
      const moderator = await makeAccount({ email: 'closer@example.org' });
      const { sid } = await createHubAs(node, moderator.token, { name: 'Close Page' });
      const link = `${node.url}/${sid}/close-page`;
      const mod = await (await launchChromium()).newPage();
      const guest = await browser.newPage();
      // Signed in before entering: the join carries the account.
      await open(mod.page, link);
      await signIn(mod.page, moderator.token);
      await expect.poll(() => mod.page.locator('#account-status').textContent(), { timeout: TIMEOUT_MS }).toBe('Signed in as closer@example.org.');
      await mod.page.locator('#display-name').focus();
      await enterAs(mod.page, 'Olga');
      await open(guest.page, link);
      await enterAs(guest.page, 'Gus');
      await expect.poll(() => peopleOf(mod.page), { timeout: TIMEOUT_MS }).toEqual(['Olga (you, creator)', 'Gus']);

      // Two presses: the first only arms the button.
      await press(mod.page, '#close-room');
      expect(await mod.page.locator('#close-room').textContent()).toBe('Press again to close the room for everyone');
      await mod.page.keyboard.press('Enter');
      for (const { page } of [guest, mod]) {
        await waitForState(page, 'closed');
        expect(await endingOf(page)).toBe('This room is closed');
      }

      const later = await browser.newPage();
      await open(later.page, link);
      await enterAs(later.page, 'Late');
      expect(await later.page.getAttribute('body', 'data-state')).toBe('closed');
      expect(await endingOf(later.page)).toBe('This room is closed');
      expect(pageErrors([mod, guest, later])).toEqual([]);
    });

    it('tells a guest that an invite-only room does not let them in', async () => {
      const { sid } = await createHubAs(node, owner.token, { name: 'Invite Only' });
      expect((await api(node, 'PATCH', `/api/v1/hubs/${sid}`, { token: owner.token, body: { hub: { entry_mode: 'invite' } } })).status).toBe(200);
      const guest = await browser.newPage();
      await open(guest.page, `${node.url}/${sid}/invite-only`);
      await enterAs(guest.page, 'Gus');
      expect(await guest.page.getAttribute('body', 'data-state')).toBe('join_denied');
      expect(await endingOf(guest.page)).toBe('You cannot enter this room');
      expect(await guest.page.locator('#room').isHidden()).toBe(true);
      expect(guest.errors).toEqual([]);
    });

    it('says "Reconnecting…" when the connection drops and "Reconnected" when it is back, as the same person', async () => {
      const sid = await createHub(node, 'Flaky');
      const link = `${node.url}/${sid}/flaky`;
      const ada = await browser.newPage();
      const bob = await browser.newPage();
      await open(ada.page, link);
      await enterAs(ada.page, 'Ada');
      await open(bob.page, link);
      await enterAs(bob.page, 'Bob');
      await expect.poll(() => peopleOf(ada.page), { timeout: TIMEOUT_MS }).toEqual(['Ada (you)', 'Bob']);
      const sessionId = await sessionIdOf(ada.page);
      expect(sessionId).toBeTruthy();

      // Every state the page passes through, with what its status line said then.
      await ada.page.evaluate(`
        window.seenStates = [];
        new MutationObserver(() => window.seenStates.push(document.body.dataset.state + ': ' + document.getElementById('status').textContent))
          .observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
      `);
      // The server drops the socket as a node going away does; phoenix reconnects at once.
      expect(node.sockets.disconnectSession(sessionId!, CloseCode.SERVER_SHUTDOWN, 'going away')).toBe(1);
      await waitForState(ada.page, 'reconnected');
      expect(await ada.page.evaluate('window.seenStates')).toEqual(['reconnecting: Connection lost. Reconnecting…', 'reconnected: Reconnected.']);
      expect(await ada.page.locator('#status').textContent()).toBe('Reconnected.');

      // The same session, still in the room, and chat flows both ways.
      await expect.poll(() => peopleOf(ada.page), { timeout: TIMEOUT_MS }).toEqual(['Ada (you)', 'Bob']);
      expect(await sessionIdOf(ada.page)).toBe(sessionId);
      await sendChat(ada.page, 'back again');
      await expect.poll(() => chatOf(bob.page), { timeout: TIMEOUT_MS }).toEqual(['Ada: back again']);
      expect(pageErrors([ada, bob])).toEqual([]);
    });

    it('makes whoever created a room on the landing page its creator when they sign in inside it', async () => {
      const person = await makeAccount({ email: 'maker@example.org' });
      const own = await (await launchChromium()).newPage();
      await open(own.page, `${node.url}/`);
      await own.page.locator('#room-name').focus();
      await own.page.keyboard.type('Made Here');
      await own.page.keyboard.press('Enter');
      const created = own.page.locator('#created-link');
      await created.waitFor({ state: 'visible', timeout: TIMEOUT_MS });
      await Promise.all([own.page.waitForURL(/\/made-here$/), own.page.keyboard.press('Enter')]);
      await own.page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: TIMEOUT_MS });
      await enterAs(own.page, 'Mia');
      await expect.poll(() => peopleOf(own.page), { timeout: TIMEOUT_MS }).toEqual(['Mia (you)']);
      expect(await own.page.locator('#close-room').isHidden()).toBe(true);

      await signIn(own.page, person.token);
      await expect.poll(() => peopleOf(own.page), { timeout: TIMEOUT_MS }).toEqual(['Mia (you, creator)']);
      expect(await own.page.locator('#close-room').isVisible()).toBe(true);
      // The claim is spent: the room's assignment token is no longer kept.
      expect(await own.page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('hubmesh.creatorAssignmentToken.'))")).toEqual([]);
      expect(pageErrors([own])).toEqual([]);
    });
  });
}
