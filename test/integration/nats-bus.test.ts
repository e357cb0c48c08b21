/**
 * NatsBus against a real nats-server: the same contract as MemoryBus.
 */
import { afterAll, beforeAll, describe, onTestFinished } from 'vitest';
import { NatsBus } from '../../src/adapters/nats-bus.js';
import { busContract } from '../contract/bus.js';
import { leasesContract } from '../contract/leases.js';
import { findBinary, needsBinary, startNatsServer, type RunningService } from '../support/services.js';

const natsServer = findBinary('nats-server');

if (needsBinary(natsServer, 'nats-server', 'apt-get install nats-server')) {
  describe('NatsBus', () => {
    let server: RunningService;
    beforeAll(async () => {
      server = await startNatsServer(natsServer);
    });
    afterAll(() => server?.stop());

    let bucket = 0;
    leasesContract('NatsLeases', async (ttlMs) => {
      // A fresh server-side bucket per test: each test its own nats-server account would be slower.
      const buses = await Promise.all([0, 1].map(() => NatsBus.connect({ servers: server.url })));
      onTestFinished(() => Promise.all(buses.map((b) => b.close())).then(() => undefined));
      const name = `t${bucket++}`;
      return [await buses[0]!.openLeases(ttlMs, name), await buses[1]!.openLeases(ttlMs, name)];
    });

    busContract('NatsBus', async (n) => {
      const buses = await Promise.all(Array.from({ length: n }, () => NatsBus.connect({ servers: server.url })));
      onTestFinished(() => Promise.all(buses.map((b) => b.close())).then(() => undefined));
      return buses;
    });
  });
}
