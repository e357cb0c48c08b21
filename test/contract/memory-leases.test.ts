import { MemoryLeaseBoard } from '../../src/adapters/memory-leases.js';
import { SystemClock } from '../../src/adapters/system-clock.js';
import { leasesContract } from './leases.js';

leasesContract('MemoryLeases', async (ttlMs) => {
  const board = new MemoryLeaseBoard(new SystemClock(), ttlMs);
  return [board.leases(), board.leases()];
});
