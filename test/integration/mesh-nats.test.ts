/**
 * The cross-node scenarios over a real nats-server: two nodes in one process,
 * each with its own NATS connection, sharing a store.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { NatsBus } from '../../src/adapters/nats-bus.js';
import { meshScenarios } from '../e2e/mesh-scenarios.js';
import { startTestNode } from '../support/node.js';
import { findBinary, needsBinary, startNatsServer, type RunningNats } from '../support/services.js';
import { Presence } from 'phoenix';
import { expect, it } from 'vitest';
import { join, nextOn, phxSocket, profile } from '../support/clients.js';
import { createHub } from '../support/node.js';
import { eventually, waitFor } from '../support/wait.js';

const natsServer = findBinary('nats-server');

if (needsBinary(natsServer, 'nats-server', 'apt-get install nats-server')) {
  describe('mesh over NATS', () => {
    let server: RunningNats;
    beforeAll(async () => {
      server = await startNatsServer(natsServer);
    });
    afterAll(() => server?.stop());

    meshScenarios(async (n, env) => {
      const store = new MemoryStore();
      return Promise.all(
        Array.from({ length: n }, async () => {
          const bus = await NatsBus.connect({ servers: server.url, reconnectWaitMs: 100 });
          return { node: await startTestNode({ env, adapters: { store, bus } }), bus };
        }),
      );
    });

    it('rides out a nats-server restart: local rooms keep going, readiness says degraded, presence is whole again after', async () => {
      const store = new MemoryStore();
      const env = { HUBMESH_NODE_DOWN_MS: '600' };
      const [a, b] = await Promise.all([0, 1].map(async () => startTestNode({ env, adapters: { store, bus: await NatsBus.connect({ servers: server.url, reconnectWaitMs: 100 }) } })));
      const sid = await createHub(a!, 'Outage');
      const who = async (node: typeof a, name: string) => {
        const channel = phxSocket(node!).channel(`hub:${sid}`, profile(name));
        const presence = new Presence(channel);
        await join(channel);
        return { channel, presence };
      };
      const alice = await who(a, 'alice');
      const carol = await who(a, 'carol');
      const bob = await who(b, 'bob');
      await waitFor(() => alice.presence.list().length === 3 && bob.presence.list().length === 3, 5000, 'all three everywhere');

      await server.kill();
      const ready = async (node: typeof a) => (await node!.app.inject({ url: '/readyz' })).json() as { status: string; checks: Record<string, string> };
      const degraded = await eventually(() => ready(a), (r) => r.checks['bus'] === 'down', 5000, 'readiness reports the bus down');
      expect(degraded).toEqual({ status: 'degraded', checks: { store: 'up', bus: 'down' } });
      // Node a still relays between its own members.
      const local = nextOn(carol.channel, 'message');
      alice.channel.push('message', { type: 'chat', body: 'still local' });
      expect(await local).toMatchObject({ body: 'still local' });
      // After HUBMESH_NODE_DOWN_MS each side lets the other's members go.
      await waitFor(() => alice.presence.list().length === 2 && bob.presence.list().length === 1, 5000, 'the other side gone');

      await server.resume();
      await waitFor(() => alice.presence.list().length === 3 && bob.presence.list().length === 3, 10_000, 'presence whole again');
      await eventually(() => ready(b), (r) => r.status === 'ready', 5000, 'ready again');
      const across = nextOn(bob.channel, 'message');
      alice.channel.push('message', { type: 'chat', body: 'across again' });
      expect(await across).toMatchObject({ body: 'across again' });
    });
  });
}
