/**
 * The web client (web/) as the browser tests see it: built with its own Vite
 * config, as `npm run build:web` builds it, into a temporary directory that a
 * test node serves (HUBMESH_WEB_DIR).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const WEB_CONFIG = fileURLToPath(new URL('../../web/vite.config.ts', import.meta.url));

/** A fresh temporary directory, removed when the file ends. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Builds web/ into a temporary directory, removed when the file ends; resolves to it. */
export async function buildWebPage(): Promise<string> {
  const outDir = await tempDir('hubmesh-web-');
  const { build } = await import('vite');
  await build({ configFile: WEB_CONFIG, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  return outDir;
}
