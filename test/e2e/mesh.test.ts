/**
 * Rooms across nodes: two nodes in one process sharing a store and a bus
 * (the in-process one here; test/integration/mesh-nats.test.ts runs the same
 * over a real nats-server), with phoenix.js clients on both.
 */
import { describe } from 'vitest';
import { MemoryBusNetwork } from '../../src/adapters/memory-bus.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import type { Bus } from '../../src/ports/bus.js';
import { meshScenarios } from './mesh-scenarios.js';
import { startTestNode } from '../support/node.js';

describe('mesh over MemoryBus', () => {
  meshScenarios(async (n, env) => {
    const store = new MemoryStore();
    const network = new MemoryBusNetwork();
    return Promise.all(
      Array.from({ length: n }, async () => {
        const bus: Bus = network.connect();
        return { node: await startTestNode({ env, adapters: { store, bus } }), bus };
      }),
    );
  });
});
