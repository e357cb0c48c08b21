/**
 * The web client (`web/`), built by `npm run build:web` into `dist/web/`:
 * two pages sharing `/assets/`. `index.html` is the landing page the node
 * serves at `/` (src/http/web.ts); `room.html` is the room page it serves
 * at `/<sid>/<slug>` (src/http/page.ts).
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
    // The 3D world's chunk is mostly three.js (about 550 kB minified, 130 kB gzipped), loaded once the person enters.
    chunkSizeWarningLimit: 700,
    target: 'es2022',
    modulePreload: { polyfill: false },
    rolldownOptions: {
      input: {
        index: fileURLToPath(new URL('index.html', import.meta.url)),
        room: fileURLToPath(new URL('room.html', import.meta.url)),
      },
    },
  },
});
