// Lint rules that keep ARCHITECTURE.md's import direction:
//   core <- ports <- {actors, sfu, adapters} <- {http, ws} <- main
// and keep database, bus and media clients inside adapters/ and sfu/.
import tseslint from 'typescript-eslint';

const backendPackages = ['nats', '@nats-io/*', 'pg', 'kysely', 'kysely/*', '@electric-sql/*', 'werift', 'mediasoup'];
const backends = { group: backendPackages, message: 'Only src/adapters and sfu/ talk to backends (ARCHITECTURE.md).' };
const layer = (names, message) => ({ group: names.flatMap((n) => [`**/${n}`, `**/${n}/**`, `**/${n}.js`]), message });

const outerLayers = (...names) => layer(names, `Imports flow core <- ports <- {actors, sfu, adapters} <- {http, ws} <- main; this folder may not import ${names.join(', ')}.`);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/core/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          outerLayers('ports', 'adapters', 'actors', 'sfu', 'http', 'ws', 'main', 'cli', 'config'),
          backends,
          { group: ['node:fs', 'node:fs/*', 'node:net', 'node:http', 'node:child_process', 'node:timers', 'ws', 'fastify', 'nact'], message: 'src/core is pure: no I/O, no timers.' },
        ],
      }],
    },
  },
  {
    files: ['src/protocol/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [outerLayers('core', 'ports', 'adapters', 'actors', 'sfu', 'http', 'ws', 'main', 'cli'), backends] }],
    },
  },
  {
    files: ['src/ports/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [outerLayers('adapters', 'actors', 'sfu', 'http', 'ws', 'main', 'cli'), backends] }],
    },
  },
  {
    files: ['actors/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [outerLayers('adapters', 'http', 'ws', 'main', 'cli'), backends] }],
    },
  },
  {
    files: ['src/adapters/**', 'sfu/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [outerLayers('actors', 'http', 'ws', 'main', 'cli')] }],
    },
  },
  {
    files: ['src/http/**', 'src/ws/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [outerLayers('main', 'cli'), backends] }],
    },
  },
  {
    // The client library runs in the page: only itself, protocol types, pure core and phoenix.
    files: ['src/client/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          layer(['ports', 'adapters', 'actors', 'sfu', 'http', 'ws', 'main', 'cli', 'config', 'errors', 'secrets'], 'src/client runs in the browser: it may import src/client, src/protocol types, pure src/core and phoenix, no server layers.'),
          backends,
          { group: ['node:*', 'ws', 'fastify', 'nact', 'pino', 'jose', 'mediasoup-client'], message: 'src/client runs in the browser and bundles only phoenix; mediasoup-client only in src/client/voice/.' },
        ],
      }],
    },
  },
  {
    // Voice is the one part of the client library on mediasoup-client; a page that wants no voice does not import it.
    files: ['src/client/voice/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          layer(['ports', 'adapters', 'actors', 'sfu', 'http', 'ws', 'main', 'cli', 'config', 'errors', 'secrets'], 'src/client runs in the browser: it may import src/client, src/protocol types, pure src/core, phoenix and (here) mediasoup-client, no server layers.'),
          backends,
          { group: ['node:*', 'ws', 'fastify', 'nact', 'pino', 'jose'], message: 'src/client runs in the browser.' },
        ],
      }],
    },
  },
  {
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
