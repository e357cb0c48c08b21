import { onTestFinished } from 'vitest';
import { freshPgliteStore } from '../support/pglite.js';
import { storeContract } from './store.js';

storeContract('PGlite', async () => {
  const store = await freshPgliteStore();
  onTestFinished(() => store.close());
  return store;
});
