/**
 * The room page's 3D world (issue 8) in Debian's Chromium, two people in two
 * browser contexts (two browsers, each its own profile) on one link: each
 * sees the other's avatar; one walks with the keyboard and looks round with
 * the mouse and the other's scene follows; a cube one spawns the other grabs
 * from the objects list, and both see the ownership move; the microphone
 * toggle lights the speaker's ring and dot on the other's screen.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { SceneSnapshot } from '../../web/scene/schema.js';
import { launchChromium, needsChromium, resultPath, type TestPage } from '../support/browser.js';
import { createHub, startTestNode } from '../support/node.js';
import { buildWebPage } from '../support/web-page.js';

const TIMEOUT_MS = 10_000;

/** What web/world.ts puts on the page's window. */
interface SceneWindow {
  readonly hubmesh?: { readonly scene: () => SceneSnapshot | null };
}

async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: TIMEOUT_MS });
}

/** Enters by name with the keyboard and waits until the world is up. */
async function enterAs(page: Page, name: string): Promise<void> {
  await page.locator('#display-name').focus();
  await page.keyboard.type(name);
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-state="joined"]', { state: 'attached', timeout: TIMEOUT_MS });
  await page.waitForFunction(() => (globalThis as unknown as SceneWindow).hubmesh?.scene() != null, undefined, { timeout: TIMEOUT_MS });
}

/** The page's `window.hubmesh.scene()` (web/world.ts), called inside the page. */
const sceneOf = (page: Page): Promise<SceneSnapshot> => page.evaluate(() => (globalThis as unknown as SceneWindow).hubmesh!.scene()!);

const avatarOf = async (page: Page, name: string) => (await sceneOf(page)).avatars.find((a) => a.name === name);

if (needsChromium()) {
  describe('the room page in 3D', async () => {
    const webDir = await buildWebPage();
    // Guests may spawn the cube (a `-media` template) only in permissive rooms.
    const [first, second, node] = await Promise.all([
      launchChromium({ scope: 'file' }),
      launchChromium({ scope: 'file' }),
      startTestNode({ scope: 'file', env: { HUBMESH_WEB_DIR: webDir, HUBMESH_PERMISSIVE_ROOMS: 'true' } }),
    ]);

    async function twoPeople(name: string): Promise<{ ada: TestPage; bob: TestPage; link: string }> {
      const sid = await createHub(node, name);
      const link = `${node.url}/${sid}/room`;
      const ada = await first.newPage();
      const bob = await second.newPage();
      await open(ada.page, link);
      await enterAs(ada.page, 'Ada');
      await open(bob.page, link);
      await enterAs(bob.page, 'Bob');
      await expect.poll(async () => (await avatarOf(ada.page, 'Bob')) !== undefined, { timeout: TIMEOUT_MS }).toBe(true);
      await expect.poll(async () => (await avatarOf(bob.page, 'Ada')) !== undefined, { timeout: TIMEOUT_MS }).toBe(true);
      return { ada, bob, link };
    }

    it('shows each person the other, and follows a walk and a look round', async () => {
      const { ada, bob } = await twoPeople('Walk');
      await expect.poll(() => bob.page.locator('#people li').count(), { timeout: TIMEOUT_MS }).toBe(2);
      await ada.page.screenshot({ path: await resultPath('room-two-people.png'), fullPage: true });
      const adaScene = await sceneOf(ada.page);
      expect(adaScene.isRendering).toBe(true);
      expect(adaScene.frames).toBeGreaterThan(0);
      // Bob sees Ada where she stands.
      const before = adaScene.self;
      await expect.poll(async () => (await avatarOf(bob.page, 'Ada'))?.latest?.x, { timeout: TIMEOUT_MS }).toBeCloseTo(before.x, 2);

      // Ada walks forward with W until she has covered a metre and a half.
      await ada.page.locator('#scene').focus();
      await ada.page.keyboard.down('KeyW');
      await ada.page.waitForFunction((start) => {
        const self = (globalThis as unknown as SceneWindow).hubmesh!.scene()!.self;
        return Math.hypot(self.x - start.x, self.z - start.z) > 1.5;
      }, before, { timeout: TIMEOUT_MS });
      await ada.page.keyboard.up('KeyW');
      const walked = (await sceneOf(ada.page)).self;
      // Forward is where she faced.
      expect(Math.hypot(walked.x - before.x, walked.z - before.z)).toBeGreaterThan(1.5);
      expect(Math.abs(walked.yaw - before.yaw)).toBeLessThan(1e-9);
      // Bob's scene has her new pose, and draws her there once the interpolation catches up.
      await expect.poll(async () => {
        const seen = await avatarOf(bob.page, 'Ada');
        return seen && Math.hypot(seen.shown.x - walked.x, seen.shown.z - walked.z);
      }, { timeout: TIMEOUT_MS }).toBeLessThan(0.01);

      // The right arrow turns her; a drag on the view looks round too.
      await ada.page.keyboard.down('ArrowRight');
      await ada.page.waitForFunction((yaw) => Math.abs((globalThis as unknown as SceneWindow).hubmesh!.scene()!.self.yaw - yaw) > 0.5, walked.yaw, { timeout: TIMEOUT_MS });
      await ada.page.keyboard.up('ArrowRight');
      const box = (await ada.page.locator('#scene').boundingBox())!;
      await ada.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await ada.page.mouse.down();
      await ada.page.mouse.move(box.x + box.width / 2 - 120, box.y + box.height / 2 - 40, { steps: 6 });
      await ada.page.mouse.up();
      const looked = (await sceneOf(ada.page)).self;
      expect(looked.pitch).toBeGreaterThan(0.1);
      await expect.poll(async () => (await avatarOf(bob.page, 'Ada'))?.latest?.yaw, { timeout: TIMEOUT_MS }).toBeCloseTo(looked.yaw, 2);

      // Ada turns her microphone on with the keyboard: Bob sees her ring light and her dot in the people list.
      await ada.page.locator('#mic-toggle').focus();
      await ada.page.keyboard.press('Enter');
      await ada.page.waitForSelector('#mic-toggle[aria-pressed="true"]', { timeout: TIMEOUT_MS });
      await expect.poll(async () => (await avatarOf(bob.page, 'Ada'))?.isSpeaking, { timeout: TIMEOUT_MS }).toBe(true);
      await bob.page.waitForSelector('#people li[data-speaking="true"]:has-text("Ada")', { timeout: TIMEOUT_MS });
      await ada.page.waitForSelector('#people li[data-speaking="true"]:has-text("Ada")', { timeout: TIMEOUT_MS });
      await ada.page.screenshot({ path: await resultPath('room-scene-moved.png') });
      await ada.page.keyboard.press('Enter');
      await ada.page.waitForSelector('#mic-toggle[aria-pressed="false"]', { timeout: TIMEOUT_MS });
      await expect.poll(async () => (await avatarOf(bob.page, 'Ada'))?.isSpeaking, { timeout: TIMEOUT_MS }).toBe(false);
      expect([...ada.errors, ...bob.errors]).toEqual([]);
      expect([...first.offLoopback, ...second.offLoopback]).toEqual([]);
    });

    it('lets one person grab the cube another spawned, and both see the ownership move', async () => {
      const { ada, bob } = await twoPeople('Cube');
      await ada.page.locator('#spawn-cube').click();
      await expect.poll(async () => (await sceneOf(bob.page)).cubes.length, { timeout: TIMEOUT_MS }).toBe(1);
      const [cube] = (await sceneOf(bob.page)).cubes;
      expect(cube).toMatchObject({ ownerName: 'Ada', isHeld: false, isMine: false });
      await expect.poll(() => bob.page.locator('#objects li').allTextContents(), { timeout: TIMEOUT_MS }).toEqual(["Ada's cube: Ada had it lastGrab"]);

      // Bob grabs it with the keyboard, from the objects list.
      await bob.page.getByRole('button', { name: "Grab Ada's cube" }).focus();
      await bob.page.keyboard.press('Enter');
      await expect.poll(async () => (await sceneOf(bob.page)).cubes[0], { timeout: TIMEOUT_MS }).toMatchObject({ isMine: true, isHeld: true });
      await expect.poll(async () => (await sceneOf(ada.page)).cubes[0], { timeout: TIMEOUT_MS }).toMatchObject({ ownerName: 'Bob', isHeld: true, isMine: false });
      await expect.poll(() => ada.page.locator('#objects li .name').allTextContents(), { timeout: TIMEOUT_MS }).toEqual(['Your cube: held by Bob']);
      expect(await ada.page.locator('#scene-status').textContent()).toBe('Bob took your cube.');

      // Carried, it moves with Bob, on Ada's screen too.
      const held = (await sceneOf(bob.page)).cubes[0]!.shown;
      await bob.page.locator('#scene').focus();
      await bob.page.keyboard.down('KeyD');
      await bob.page.waitForFunction((start) => {
        const c = (globalThis as unknown as SceneWindow).hubmesh!.scene()!.cubes[0]!.shown;
        return Math.hypot(c.x - start.x, c.z - start.z) > 1;
      }, held, { timeout: TIMEOUT_MS });
      await bob.page.keyboard.up('KeyD');
      // G puts it down; it stays Bob's.
      await bob.page.keyboard.press('KeyG');
      const dropped = (await sceneOf(bob.page)).cubes[0]!;
      expect(dropped).toMatchObject({ isMine: true, isHeld: false });
      await expect.poll(async () => {
        const c = (await sceneOf(ada.page)).cubes[0]!;
        return c.isHeld === false && Math.hypot(c.shown.x - dropped.shown.x, c.shown.z - dropped.shown.z) < 0.01;
      }, { timeout: TIMEOUT_MS }).toBe(true);

      // Ada takes it back with a click on the list's button.
      await ada.page.getByRole('button', { name: 'Grab your cube' }).click();
      await expect.poll(async () => (await sceneOf(bob.page)).cubes[0], { timeout: TIMEOUT_MS }).toMatchObject({ ownerName: 'Ada', isHeld: true });
      expect([...ada.errors, ...bob.errors]).toEqual([]);
    });
  });
}
