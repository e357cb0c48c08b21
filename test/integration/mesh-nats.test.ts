/**
 * The cross-node scenarios over a real nats-server: two nodes in one process,
 * each with its own NATS connection, sharing a store.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { NatsBus } from '../../src/adapters/nats-bus.js';
import { meshScenarios } from '../e2e/mesh-scenarios.js';
import { startTestNode } from '../support/node.js';
import { findBinary, needsBinary, startNatsServer, type RunningService } from '../support/services.js';

const natsServer = findBinary('nats-server');

if (needsBinary(natsServer, 'nats-server', 'apt-get install nats-server')) {
  describe('mesh over NATS', () => {
    let server: RunningService;
    beforeAll(async () => {
      server = await startNatsServer(natsServer);
    });
    afterAll(() => server?.stop());

    meshScenarios(async (n, env) => {
      const store = new MemoryStore();
      return Promise.all(
        Array.from({ length: n }, async () => {
          const bus = await NatsBus.connect({ servers: server.url });
          return { node: await startTestNode({ env, adapters: { store, bus } }), bus };
        }),
      );
    });
  });
}
