import { onTestFinished } from 'vitest';
import { MemoryBusNetwork } from '../../src/adapters/memory-bus.js';
import { busContract } from './bus.js';

busContract('MemoryBus', async (n) => {
  const network = new MemoryBusNetwork();
  const buses = Array.from({ length: n }, () => network.connect());
  onTestFinished(() => Promise.all(buses.map((b) => b.close())).then(() => undefined));
  return buses;
});
