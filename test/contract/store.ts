/**
 * The Store port's contract (src/ports/store.ts), run against every adapter.
 */
import { describe, expect, it } from 'vitest';
import type { Hub } from '../../src/core/hub.js';
import { AppError } from '../../src/errors.js';
import type { Store } from '../../src/ports/store.js';
import { makeHub } from '../support/builders.js';

export function sampleHub(overrides: Partial<Hub> = {}): Hub {
  return makeHub({
    name: 'Contract Room',
    slug: 'contract-room',
    userData: { hubs_use_bitecs_based_client: false, nested: { list: [1, 'two'] } },
    createdAt: new Date('2026-01-02T03:04:05.000Z'),
    ...overrides,
  });
}

export function storeContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    it('returns a created hub as it was stored', async () => {
      const store = await makeStore();
      const hub = sampleHub();
      await store.createHub(hub);
      expect(await store.getHub(hub.hubSid)).toEqual(hub);
    });

    it('resolves undefined for a hub that does not exist', async () => {
      const store = await makeStore();
      expect(await store.getHub('NoSuchH')).toBeUndefined();
    });

    it('rejects a second hub with the same sid and keeps the first', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      await expect(store.createHub(sampleHub({ name: 'Impostor' }))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      expect((await store.getHub('AbCdEfG'))?.name).toBe('Contract Room');
    });

    it('hands out copies: changing a returned hub changes nothing stored', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      const got = await store.getHub('AbCdEfG');
      (got!.userData as Record<string, unknown>)['nested'] = 'changed';
      expect((await store.getHub('AbCdEfG'))?.userData).toEqual(sampleHub().userData);
    });

    it('rejects every call with CLOSED after close, which is idempotent', async () => {
      const store = await makeStore();
      await store.close();
      await store.close();
      const err = await store.getHub('AbCdEfG').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('CLOSED');
      await expect(store.createHub(sampleHub())).rejects.toMatchObject({ code: 'CLOSED' });
    });
  });
}
