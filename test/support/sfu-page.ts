/**
 * The SFU test page (test/fixtures/sfu-page: mediasoup-client and
 * protoo-client as the Hubs client uses them), built with Vite into a
 * temporary directory and served from 127.0.0.1 (a secure origin, so
 * getUserMedia works), and a typed handle on one tab of it.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'phoenix';
import { afterAll, onTestFinished } from 'vitest';
import type { Outcome, PageState, ProduceOptions, SfuPageApi } from '../fixtures/sfu-page/api.js';
import type { TestBrowser, TestPage } from './browser.js';
import { joinHub, type NodeAddress } from './clients.js';

const PAGE_SOURCE = fileURLToPath(new URL('../fixtures/sfu-page/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface SfuPageServer {
  /** The page's URL, `http://127.0.0.1:<port>/`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Builds the page with Vite into `outDir`. */
export async function buildSfuPage(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    root: PAGE_SOURCE,
    configFile: false,
    envDir: false,
    logLevel: 'warn',
    mode: 'production',
    base: './',
    build: { outDir, emptyOutDir: true, minify: false, reportCompressedSize: false, target: 'esnext', modulePreload: { polyfill: false } },
  });
}

/** A static file server for `dir`; not listening yet. */
function fileServer(dir: string): Server {
  return createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname)));
    const file = path.endsWith(sep) ? join(path, 'index.html') : path;
    const notFound = () => {
      res.writeHead(404).end();
    };
    if (!file.startsWith(dir + sep)) return notFound();
    stat(file).then(
      (s) => {
        if (!s.isFile()) return notFound();
        res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
        createReadStream(file).pipe(res);
      },
      notFound,
    );
  });
}

/** Builds the page and serves it on a free loopback port until the scope ends. */
export async function serveSfuPage(opts: { readonly scope?: 'test' | 'file' } = {}): Promise<SfuPageServer> {
  const dir = await mkdtemp(join(tmpdir(), 'hubmesh-sfu-page-'));
  const server = fileServer(dir);
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      if (server.listening) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await rm(dir, { recursive: true, force: true });
    })());
  if (opts.scope === 'file') afterAll(close);
  else onTestFinished(close);
  await buildSfuPage(dir);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close };
}

type Api = { readonly sfu: SfuPageApi };

/** One tab of the SFU page: `window.sfu`, called from the test. */
export class SfuPage {
  readonly tab: TestPage;

  constructor(tab: TestPage) {
    this.tab = tab;
  }

  /** Opens the page in a new tab of `browser` and waits for its script. */
  static async open(browser: TestBrowser, server: SfuPageServer): Promise<SfuPage> {
    const tab = await browser.newPage();
    await tab.page.goto(server.url);
    await tab.page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 10_000 });
    return new SfuPage(tab);
  }

  /** Opens the signaling socket: `<sfuUrl>?roomId=<hubSid>&peerId=<sessionId>`. */
  connect(sfuUrl: string, roomId: string, peerId: string): Promise<void> {
    return this.tab.page.evaluate(([u, r, p]) => (globalThis as unknown as Api).sfu.connect(u, r, p), [sfuUrl, roomId, peerId] as const);
  }

  join(token: string): Promise<Outcome<unknown>> {
    return this.tab.page.evaluate((t) => (globalThis as unknown as Api).sfu.join(t), token);
  }

  produce(options: ProduceOptions = {}): Promise<{ readonly audio: string; readonly video: string }> {
    return this.tab.page.evaluate((o) => (globalThis as unknown as Api).sfu.produce(o), options);
  }

  setMaxSpatialLayer(spatialLayer: number): Promise<void> {
    return this.tab.page.evaluate((l) => (globalThis as unknown as Api).sfu.setMaxSpatialLayer(l), spatialLayer);
  }

  deviceCodecs(): Promise<readonly { readonly mimeType: string; readonly parameters: Record<string, unknown> }[]> {
    return this.tab.page.evaluate(() => (globalThis as unknown as Api).sfu.deviceCodecs());
  }

  request(method: string, data?: unknown): Promise<Outcome<unknown>> {
    return this.tab.page.evaluate(([m, d]) => (globalThis as unknown as Api).sfu.request(m, d), [method, data] as const);
  }

  state(): Promise<PageState> {
    return this.tab.page.evaluate(() => (globalThis as unknown as Api).sfu.state());
  }

  close(): Promise<void> {
    return this.tab.page.evaluate(() => (globalThis as unknown as Api).sfu.close());
  }
}

/** A member of the hub channel: what the SFU needs of it (its session and perms token). */
export interface HubMember {
  readonly socket: Socket;
  readonly sessionId: string;
  readonly permsToken: string;
}

/** Joins `hub:<sid>` as `name`. A socket the server closes (a kick) stays closed, as the Hubs client's does. */
export async function enterHub(node: NodeAddress, sid: string, name: string): Promise<HubMember> {
  const { socket, sessionId, permsToken } = await joinHub(node, sid, name);
  socket.onClose(() => socket.disconnect());
  return { socket, sessionId, permsToken };
}
