/**
 * The landing page (issue 8): `GET /` answers the built page's index.html
 * and `/assets/<file>` its hashed scripts and styles, from the directory
 * `npm run build:web` writes (dist/web). Asset names carry a content hash,
 * so they are cached for a year; index.html is revalidated every time. A
 * node whose page was never built answers `/` with a short page saying how
 * to build it, and keeps serving the API.
 */
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

export interface WebOptions {
  /** The built page: `index.html` and `assets/`. */
  readonly dir: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/**
 * Vite writes assets flat into assets/: one plain file name, never a path or
 * a dotfile, and no longer than a file name may be (255 bytes), or reading it
 * fails with ENAMETOOLONG instead of "not found".
 */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

const IMMUTABLE = 'public, max-age=31536000, immutable';

const NOT_BUILT = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>hubmesh</title></head>
<body>
<h1>hubmesh</h1>
<p>The web client is not built. Run <code>npm run build:web</code> (or <code>npm start</code>, which builds everything), then reload this page.</p>
<p>The API is up: see <a href="/docs">/docs</a>.</p>
</body>
</html>
`;

const isMissing = (err: unknown): boolean => err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'EISDIR' || err.code === 'ENOTDIR');

/** The file's bytes, or undefined when there is no such file. */
export async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

export async function webRoutes(app: FastifyInstance, opts: WebOptions): Promise<void> {
  app.get('/', async (_req, reply) => {
    const page = await readIfPresent(join(opts.dir, 'index.html'));
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(page ?? NOT_BUILT);
  });

  // Static beats parametric in the router, so `/:sid/:slug` (page.ts) never sees these.
  app.get<{ Params: { '*': string } }>('/assets/*', async (req, reply) => {
    const name = req.params['*'];
    const file = ASSET_NAME.test(name) ? await readIfPresent(join(opts.dir, 'assets', name)) : undefined;
    if (!file) return reply.callNotFound();
    return reply
      .type(CONTENT_TYPES[extname(name)] ?? 'application/octet-stream')
      .header('cache-control', IMMUTABLE)
      .send(file);
  });
}
