/**
 * The linter keeps ARCHITECTURE.md's import direction: these snippets must be
 * refused in the folders named, and allowed where the direction permits.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function importErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('import direction', () => {
  it.each([
    ['src/core/x.ts', "import type { Store } from '../ports/store.js';\nexport type S = Store;\n"],
    ['src/core/x.ts', "import { readFile } from 'node:fs/promises';\nexport const r = readFile;\n"],
    ['src/core/x.ts', "import nact from 'nact';\nexport const n = nact;\n"],
    ['src/protocol/x.ts', "import { decideJoin } from '../core/join.js';\nexport const d = decideJoin;\n"],
    ['src/ports/x.ts', "import { MemoryStore } from '../adapters/memory-store.js';\nexport const m = MemoryStore;\n"],
    ['actors/x.ts', "import { SocketServer } from '../src/ws/socket-server.js';\nexport const s = SocketServer;\n"],
    ['actors/x.ts', "import { MemoryStore } from '../src/adapters/memory-store.js';\nexport const m = MemoryStore;\n"],
    ['src/http/x.ts', "import { startNode } from '../main.js';\nexport const s = startNode;\n"],
    ['src/ws/x.ts', "import { Kysely } from 'kysely';\nexport const k = Kysely;\n"],
    ['src/client/x.ts', "import { SocketServer } from '../ws/socket-server.js';\nexport const s = SocketServer;\n"],
    ['src/client/x.ts', "import { AppError } from '../errors.js';\nexport const e = AppError;\n"],
    ['src/client/x.ts', "import WebSocket from 'ws';\nexport const w = WebSocket;\n"],
  ])('refuses in %s: %s', async (file, code) => {
    expect(await importErrors(file, code)).not.toEqual([]);
  });

  it.each([
    ['src/core/x.ts', "import { isPayload } from '../protocol/codec.js';\nexport const p = isPayload;\n"],
    ['actors/x.ts', "import { decideJoin } from '../src/core/join.js';\nexport const d = decideJoin;\n"],
    ['src/adapters/x.ts', "import { Kysely } from 'kysely';\nexport const k = Kysely;\n"],
    ['src/ws/x.ts', "import { HubRegistry } from '../../actors/hub-registry.js';\nexport const h = HubRegistry;\n"],
    ['src/client/x.ts', "import { Socket } from 'phoenix';\nimport type { Payload } from '../protocol/frames.js';\nexport const s = Socket;\nexport type P = Payload;\n"],
  ])('allows in %s: %s', async (file, code) => {
    expect(await importErrors(file, code)).toEqual([]);
  });
});
