/**
 * Debian's Chromium driven by playwright-core, for tests that need a real
 * browser (WebRTC with mediasoup-client). Fake microphone and camera, no
 * permission prompts, loopback ICE candidates, a fresh profile in a
 * temporary directory. Every page records its console errors and uncaught
 * exceptions; the browser aborts and records any request that would leave
 * 127.0.0.1.
 *
 * When chromium is missing the suite is skipped, unless
 * HUBMESH_REQUIRE_SERVICES=1 (set by .ci/run), which fails it instead.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, it, onTestFinished } from 'vitest';
import { findBinary, isServicesRequired } from './services.js';

/** Debian's chromium (`apt-get install chromium`): the first `chromium` on PATH, else `/usr/bin/chromium`. */
export const CHROMIUM = findBinary('chromium');

const INSTALL = 'apt-get install chromium';

const RESULTS_DIR = fileURLToPath(new URL('../../test-results/', import.meta.url));

/** Where a test saves `name` (a screenshot) for people to look at: in test-results/, created on demand. */
export async function resultPath(name: string): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  return join(RESULTS_DIR, name);
}

/** Flags for a headless browser that calls nowhere on its own, plus fake media devices and loopback WebRTC. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  // Media elements play without a click.
  '--autoplay-policy=no-user-gesture-required',
] as const;

/**
 * Whether chromium is there. When it is not, registers a skipped test that
 * says so, or a failing one when services are required.
 */
export function needsChromium(): boolean {
  if (CHROMIUM !== undefined) return true;
  if (isServicesRequired) {
    it('chromium is installed', () => {
      throw new Error(`chromium not found on PATH or in /usr/bin: ${INSTALL}`);
    });
  } else {
    it.skip(`chromium is not installed (${INSTALL}); the browser tests are skipped`, () => undefined);
  }
  return false;
}

export interface TestPage {
  readonly page: Page;
  /** Console errors and uncaught exceptions of the page, in order. */
  readonly errors: string[];
}

export interface TestBrowser {
  readonly context: BrowserContext;
  /** Requests and websockets of any page to anything but 127.0.0.1 (the requests are aborted). */
  readonly offLoopback: string[];
  /** A new tab, closed when the current test ends. */
  newPage(): Promise<TestPage>;
  close(): Promise<void>;
}

const isLoopback = (url: string) => {
  const { protocol, hostname } = new URL(url);
  return hostname === '127.0.0.1' || protocol === 'data:' || protocol === 'blob:' || protocol === 'about:';
};

export interface LaunchOptions {
  readonly executablePath?: string;
  /** 'test' closes it when the current test ends, 'file' when the file ends. */
  readonly scope?: 'test' | 'file';
}

/** Launches chromium with a fresh profile; closed (profile removed) at the end of the scope. */
export async function launchChromium(opts: LaunchOptions = {}): Promise<TestBrowser> {
  const executablePath = opts.executablePath ?? CHROMIUM;
  if (executablePath === undefined) throw new Error(`chromium not found: ${INSTALL}`);
  const profile = await mkdtemp(join(tmpdir(), 'hubmesh-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: [...CHROMIUM_ARGS], timeout: 30_000 });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  const offLoopback: string[] = [];
  await context.route(
    (url) => !isLoopback(url.toString()),
    async (route) => {
      offLoopback.push(route.request().url());
      await route.abort('blockedbyclient');
    },
  );
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    })());
  if (opts.scope === 'file') afterAll(close);
  else onTestFinished(close);

  const newPage = async (): Promise<TestPage> => {
    const page = await context.newPage();
    onTestFinished(() => page.close());
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
    page.on('websocket', (ws) => {
      if (!isLoopback(ws.url().replace(/^ws/, 'http'))) offLoopback.push(ws.url());
    });
    return { page, errors };
  };
  return { context, offLoopback, newPage, close };
}
