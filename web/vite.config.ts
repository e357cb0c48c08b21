/**
 * The landing page (`web/`), built by `npm run build:web` into `dist/web/`,
 * which the node serves at `/` and `/assets/` (src/http/web.ts).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  envDir: false,
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/web/', import.meta.url)),
    // The output is outside the root: Vite only empties it when told to.
    emptyOutDir: true,
    assetsDir: 'assets',
    reportCompressedSize: false,
    target: 'es2022',
    modulePreload: { polyfill: false },
  },
});
