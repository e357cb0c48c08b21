/**
 * Test nodes: a real hubmesh node on a random loopback port with its own
 * temporary data directory, closed when the test (or file) finishes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { loadConfig } from '../../src/config.js';
import { startNode, type HubmeshNode, type NodeAdapters } from '../../src/main.js';
import type { Store } from '../../src/ports/store.js';

let permsKeyPem: string | undefined;
function testPermsKey(): string {
  // One RSA key per worker: generating one per node would dominate short tests.
  permsKeyPem ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return permsKeyPem;
}

export interface TestNodeOptions {
  readonly env?: Record<string, string>;
  readonly adapters?: NodeAdapters;
  /** 'test' closes it when the current test ends, 'file' when the file ends. */
  readonly scope?: 'test' | 'file';
}

export async function startTestNode(opts: TestNodeOptions = {}): Promise<HubmeshNode> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hubmesh-test-'));
  await writeFile(join(dataDir, 'perms_key.pem'), testPermsKey(), { mode: 0o600 });
  const config = loadConfig({
    HUBMESH_HOST: '127.0.0.1',
    HUBMESH_PORT: '0',
    HUBMESH_LOG_LEVEL: process.env['HUBMESH_TEST_LOG_LEVEL'] ?? 'silent',
    HUBMESH_DATA_DIR: dataDir,
    // Tests close nodes at once unless they test the drain.
    HUBMESH_DRAIN_GRACE_MS: '0',
    // Every test talks from 127.0.0.1; the HTTP and socket limits have their own tests.
    HUBMESH_CREATE_HUB_PER_SEC: '10000',
    HUBMESH_HTTP_RATE_PER_MIN: '1000000',
    HUBMESH_MAX_CONNECTIONS_PER_IP: '1000000',
    ...opts.env,
  });
  // Rooms in memory unless the test brings its own store: the SQL stores have their own suites.
  const node = await startNode(config, { store: new MemoryStore(), ...opts.adapters });
  const teardown = async () => {
    await node.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  if (opts.scope === 'file') afterAll(teardown);
  else onTestFinished(teardown);
  return node;
}

/** Creates a room through the HTTP API of a node, in this process or another, and returns its sid. */
export async function createHub(node: Pick<HubmeshNode, 'url'>, name = 'Test Room', extra: Record<string, unknown> = {}): Promise<string> {
  const res = await fetch(`${node.url}/api/v1/hubs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hub: { name, ...extra } }) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`create hub failed: ${res.status} ${body}`);
  return (JSON.parse(body) as { hub_id: string }).hub_id;
}

/** `store` for one of several nodes in this process: closing that node leaves it open for the others. */
export function sharedStore(store: Store): Store {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'close') return async () => undefined;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
