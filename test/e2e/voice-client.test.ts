/**
 * The client library's voice (src/client/voice) in Debian's Chromium: pages
 * of the voice test page (test/fixtures/voice-page: HubClient, then
 * VoiceClient on the SFU the join reply names), served from 127.0.0.1 so
 * getUserMedia works, with Chromium's fake microphone (a beep twice a
 * second) against a test node running relay and SFU.
 *
 * A's microphone makes B and A itself see A speaking, steadily, and turning
 * it off makes B see A stop; a moderator's mute over HTTP turns A's
 * microphone off as `muted`, and A may speak again (a new producer, whose
 * consumer at B follows a closed one); a kick ends A's voice as closed by
 * the server, and B stops hearing A; a guest without `voice_chat` is
 * refused with the SFU's `unauthorized`; a bad perms token is refused at
 * connect. The pages log no console errors.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import type { Joined, Outcome, VoicePageApi, VoicePageState } from '../fixtures/voice-page/api.js';
import { accountMaker, api, createHubAs } from '../support/accounts.js';
import { launchChromium, needsChromium, type TestBrowser, type TestPage } from '../support/browser.js';
import { wsBase } from '../support/clients.js';
import { startTestNode } from '../support/node.js';
import { eventually } from '../support/wait.js';

const PAGE_SOURCE = fileURLToPath(new URL('../fixtures/voice-page/', import.meta.url));
/** ICE, DTLS and the first audio through a JS media engine on a busy machine. */
const MEDIA_TIMEOUT_MS = 15_000;
/** The speaking hold (800 ms) plus a few polls. */
const SILENCE_TIMEOUT_MS = 5000;
/** Long enough for several of the fake microphone's gaps between beeps, which the hold must bridge. */
const STEADY_MS = 2500;

/** Builds the page with Vite and serves it (vite preview) on a free loopback port until the file ends; resolves to its URL. */
async function serveVoicePage(): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), 'hubmesh-voice-page-'));
  afterAll(() => rm(outDir, { recursive: true, force: true }));
  const { build, preview } = await import('vite');
  const shared = { root: PAGE_SOURCE, configFile: false, envDir: false, logLevel: 'warn', base: './' } as const;
  await build({ ...shared, mode: 'production', build: { outDir, emptyOutDir: true, minify: false, reportCompressedSize: false, target: 'esnext', modulePreload: { polyfill: false } } });
  const server = await preview({ ...shared, build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false } });
  afterAll(() => server.close());
  const url = server.resolvedUrls?.local[0];
  if (url === undefined) throw new Error('vite preview has no local URL');
  return url;
}

type Api = { readonly voice: VoicePageApi };

/** One tab of the voice page, joined to a room. */
class VoicePage {
  constructor(
    readonly tab: TestPage,
    readonly joined: Joined,
  ) {}

  get sessionId(): string {
    return this.joined.sessionId;
  }

  static async open(browser: TestBrowser, pageUrl: string, nodeUrl: string, hubSid: string, name: string): Promise<VoicePage> {
    const tab = await browser.newPage();
    await tab.page.goto(pageUrl);
    await tab.page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 10_000 });
    const joined = await tab.page.evaluate((args) => (globalThis as unknown as Api).voice.join(args), { nodeUrl, hubSid, name });
    return new VoicePage(tab, joined);
  }

  connectVoice(permsToken?: string): Promise<Outcome> {
    return this.tab.page.evaluate((t) => (globalThis as unknown as Api).voice.connectVoice(t ?? undefined), permsToken ?? null);
  }

  setMicrophone(isOn: boolean): Promise<Outcome> {
    return this.tab.page.evaluate((on) => (globalThis as unknown as Api).voice.setMicrophone(on), isOn);
  }

  state(): Promise<VoicePageState> {
    return this.tab.page.evaluate(() => (globalThis as unknown as Api).voice.state());
  }

  closeVoice(): Promise<void> {
    return this.tab.page.evaluate(() => (globalThis as unknown as Api).voice.closeVoice());
  }

  /** The state once `isDone` accepts it. */
  until(isDone: (s: VoicePageState) => boolean, what: string, timeoutMs = MEDIA_TIMEOUT_MS): Promise<VoicePageState> {
    return eventually(() => this.state(), isDone, timeoutMs, what);
  }
}

/** The speaking events about `sessionId`, as true/false in order. */
const speakingOf = (s: VoicePageState, sessionId: string) => s.speakingLog.filter((e) => e.sessionId === sessionId).map((e) => e.isSpeaking);

/** The signature's first character changed. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  return `${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
}

if (needsChromium()) {
  describe('VoiceClient in Chromium', async () => {
    const store = new MemoryStore();
    const [pageUrl, browser, node] = await Promise.all([serveVoicePage(), launchChromium({ scope: 'file' }), startTestNode({ scope: 'file', adapters: { store } })]);
    const owner = await (await accountMaker(node, store))({ email: 'owner@example.org' });

    /** A room the owner created, where members may (or may not) talk. */
    async function room(isVoiceAllowed: boolean): Promise<string> {
      const { sid } = await createHubAs(node, owner.token, { name: 'Voice Room' });
      const patched = await api(node, 'PATCH', `/api/v1/hubs/${sid}`, { token: owner.token, body: { hub: { member_permissions: { voice_chat: isVoiceAllowed } } } });
      expect(patched.status).toBe(200);
      return sid;
    }

    /** A guest in `sid` with voice connected. */
    async function speaker(sid: string, name: string): Promise<VoicePage> {
      const page = await VoicePage.open(browser, pageUrl, node.url, sid, name);
      expect(await page.connectVoice()).toEqual({ ok: true });
      return page;
    }

    /** No console errors or client errors in the pages, and nothing left 127.0.0.1. */
    async function expectCleanPages(...pages: VoicePage[]): Promise<void> {
      for (const page of pages) {
        expect(page.tab.errors).toEqual([]);
        expect((await page.state()).errors).toEqual([]);
      }
      expect(browser.offLoopback).toEqual([]);
    }

    it('shows A speaking to B and to A while A\'s microphone is on, steadily, and not once it is off', async ({ annotate }) => {
      const sid = await room(true);
      const [a, b] = await Promise.all([speaker(sid, 'A'), speaker(sid, 'B')]);
      // The page found the SFU where the join reply said: this node, relay and SFU on one port.
      expect(a.joined.sfuUrl).toBe(wsBase(node));
      expect(await a.setMicrophone(true)).toEqual({ ok: true });
      const heard = await b.until((s) => s.listening.includes(a.sessionId) && s.speakers.includes(a.sessionId), 'B to hear A speaking');
      await a.until((s) => s.speakers.includes(a.sessionId), 'A to see itself speaking');
      const since = heard.speakingLog.find((e) => e.sessionId === a.sessionId && e.isSpeaking)!.at;

      // The fake microphone beeps every 500 ms: the hold bridges the gaps, so A stays speaking without a flicker.
      const steady = await b.until((s) => s.now - since >= STEADY_MS, `${STEADY_MS} ms of A speaking`);
      expect(speakingOf(steady, a.sessionId)).toEqual([true]);
      expect(speakingOf(await a.state(), a.sessionId)).toEqual([true]);

      const offAt = Date.now();
      expect(await a.setMicrophone(false)).toEqual({ ok: true });
      expect((await a.state()).microphone).toBe('off');
      const quiet = await b.until((s) => !s.speakers.includes(a.sessionId), 'B to see A stop speaking', SILENCE_TIMEOUT_MS);
      await annotate(`B saw A stop speaking ${Date.now() - offAt} ms after A turned the microphone off`);
      expect(speakingOf(quiet, a.sessionId)).toEqual([true, false]);
      expect(quiet.listening).not.toContain(a.sessionId);
      const self = await a.state();
      expect(self.speakers).toEqual([]);
      expect(self.microphoneLog).toEqual(['on', 'off']);
      // B never spoke, and its own microphone stays off.
      expect(speakingOf(await a.state(), b.sessionId)).toEqual([]);

      await a.closeVoice();
      expect(await a.state()).toMatchObject({ voice: 'closed', closedBy: 'client' });
      await expectCleanPages(a, b);
    });

    it('turns A\'s microphone off as muted when a moderator mutes A, and lets A speak again', async () => {
      const sid = await room(true);
      const [a, b] = await Promise.all([speaker(sid, 'A'), speaker(sid, 'B')]);
      expect(await a.setMicrophone(true)).toEqual({ ok: true });
      await b.until((s) => s.speakers.includes(a.sessionId), 'B to hear A speaking');

      const muted = await api(node, 'POST', `/api/v1/hubs/${sid}/mute`, { token: owner.token, body: { session_id: a.sessionId } });
      expect(muted.status).toBe(200);
      const mutedA = await a.until((s) => s.microphone === 'muted', 'A\'s microphone to be muted', SILENCE_TIMEOUT_MS);
      expect(mutedA.microphoneLog).toEqual(['on', 'muted']);
      expect(mutedA.speakers).not.toContain(a.sessionId);
      await b.until((s) => !s.speakers.includes(a.sessionId) && !s.listening.includes(a.sessionId), 'B to stop hearing A', SILENCE_TIMEOUT_MS);
      // A mute is not a kick: both stay connected.
      expect(mutedA.voice).toBe('connected');
      expect((await b.state()).voice).toBe('connected');

      expect(await a.setMicrophone(true)).toEqual({ ok: true });
      await b.until((s) => s.speakers.includes(a.sessionId), 'B to hear A again');
      expect((await a.state()).microphoneLog).toEqual(['on', 'muted', 'on']);
      await expectCleanPages(a, b);
    });

    it('ends A\'s voice as closed by the server when a moderator kicks A, and B stops hearing A', async () => {
      const sid = await room(true);
      const [a, b] = await Promise.all([speaker(sid, 'A'), speaker(sid, 'B')]);
      expect(await a.setMicrophone(true)).toEqual({ ok: true });
      await b.until((s) => s.speakers.includes(a.sessionId), 'B to hear A speaking');

      const kicked = await api(node, 'POST', `/api/v1/hubs/${sid}/kick`, { token: owner.token, body: { session_id: a.sessionId } });
      expect(kicked.status).toBe(200);
      const out = await a.until((s) => s.voice === 'closed', 'A\'s voice to close', SILENCE_TIMEOUT_MS);
      expect(out).toMatchObject({ closedBy: 'server', microphone: 'off', speakers: [] });
      expect(out.microphoneLog).toEqual(['on', 'off']);
      const after = await b.until((s) => !s.listening.includes(a.sessionId) && !s.speakers.includes(a.sessionId), 'B to stop hearing A', SILENCE_TIMEOUT_MS);
      expect(speakingOf(after, a.sessionId)).toEqual([true, false]);
      expect(after.voice).toBe('connected');
      await expectCleanPages(a, b);
    });

    it('refuses the microphone of a guest without voice_chat with the SFU\'s reason', async () => {
      const sid = await room(false);
      const [c, d] = await Promise.all([speaker(sid, 'C'), speaker(sid, 'D')]);
      const refused = await c.setMicrophone(true);
      expect(refused).toMatchObject({ ok: false, name: 'VoiceError', reason: 'unauthorized' });
      expect(refused.ok ? '' : refused.message).toContain('voice_chat');
      const after = await c.state();
      expect(after).toMatchObject({ voice: 'connected', microphone: 'off', microphoneLog: [] });
      expect((await d.state()).listening).toEqual([]);
      await expectCleanPages(c, d);
    });

    it('refuses a perms token that does not verify at connect, and ends closed', async () => {
      const sid = await room(true);
      const e = await VoicePage.open(browser, pageUrl, node.url, sid, 'E');
      const refused = await e.connectVoice(tamper(e.joined.permsToken));
      expect(refused).toMatchObject({ ok: false, name: 'VoiceError', reason: 'invalid_token' });
      expect(await e.state()).toMatchObject({ voice: 'closed', closedBy: 'client' });
      await expectCleanPages(e);
    });
  });
}
