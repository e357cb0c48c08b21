/**
 * Rooms across nodes: two nodes in one process sharing a store and a bus
 * (the in-process one here; test/integration/mesh-nats.test.ts runs the same
 * over a real nats-server), with phoenix.js clients on both.
 */
import { describe } from 'vitest';
import { MemoryBusNetwork } from '../../src/adapters/memory-bus.js';
import { MemoryLeaseBoard } from '../../src/adapters/memory-leases.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { SystemClock } from '../../src/adapters/system-clock.js';
import type { Bus } from '../../src/ports/bus.js';
import { meshScenarios } from './mesh-scenarios.js';
import { startTestNode } from '../support/node.js';

describe('mesh over MemoryBus', () => {
  meshScenarios(async (n, env) => {
    const store = new MemoryStore();
    const network = new MemoryBusNetwork();
    const board = new MemoryLeaseBoard(new SystemClock(), Number(env?.['HUBMESH_LEASE_TTL_MS'] ?? 3000));
    return Promise.all(
      Array.from({ length: n }, async () => {
        const bus: Bus = network.connect();
        return { node: await startTestNode({ env, adapters: { store, bus, leases: board.leases() } }), bus };
      }),
    );
  });
});
