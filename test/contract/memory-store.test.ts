import { onTestFinished } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { storeContract } from './store.js';

storeContract('MemoryStore', async () => {
  const store = new MemoryStore();
  onTestFinished(() => store.close());
  return store;
});
