/**
 * The Store port's contract (src/ports/store.ts), run against every adapter.
 */
import { describe, expect, it } from 'vitest';
import type { Hub } from '../../src/core/hub.js';
import { AppError } from '../../src/errors.js';
import type { Store, StoredFile } from '../../src/ports/store.js';
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

    it('returns the same types it was given: numbers, Dates, JSON objects and nulls', async () => {
      const store = await makeStore();
      const hub = sampleHub({ description: 'd', userData: { n: 1, f: 1.5, s: 'x', b: true, z: null, a: [1, { k: 'v' }] } });
      await store.createHub(hub);
      const got = await store.getHub(hub.hubSid);
      expect(typeof got?.roomSize).toBe('number');
      expect(typeof got?.memberPermissions).toBe('number');
      expect(got?.createdAt).toBeInstanceOf(Date);
      expect(got?.createdAt.getTime()).toBe(hub.createdAt.getTime());
      expect(got).toEqual(hub);
    });

    it('updates only the fields given and returns the hub as stored', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      const updated = await store.updateHub('AbCdEfG', { name: 'Renamed', slug: 'renamed', roomSize: 10, userData: { x: 2 }, entryMode: 'deny', description: undefined });
      expect(updated).toEqual({ ...sampleHub(), name: 'Renamed', slug: 'renamed', roomSize: 10, userData: { x: 2 }, entryMode: 'deny' });
      expect(await store.getHub('AbCdEfG')).toEqual(updated);
      expect(await store.updateHub('AbCdEfG', { description: null, userData: null })).toMatchObject({ description: null, userData: null, name: 'Renamed' });
    });

    it('resolves undefined when updating a hub that does not exist', async () => {
      const store = await makeStore();
      expect(await store.updateHub('NoSuchH', { name: 'x' })).toBeUndefined();
    });

    it('lists public hubs only, newest first, up to the limit', async () => {
      const store = await makeStore();
      const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
      await store.createHub(sampleHub({ hubSid: 'PubAaaa', allowPromotion: true, createdAt: at(1) }));
      await store.createHub(sampleHub({ hubSid: 'PrvBbbb', allowPromotion: false, createdAt: at(2) }));
      await store.createHub(sampleHub({ hubSid: 'PubCccc', allowPromotion: true, createdAt: at(3) }));
      await store.createHub(sampleHub({ hubSid: 'PubDddd', allowPromotion: true, createdAt: at(4) }));
      expect((await store.listPublicHubs(10)).map((h) => h.hubSid)).toEqual(['PubDddd', 'PubCccc', 'PubAaaa']);
      expect((await store.listPublicHubs(2)).map((h) => h.hubSid)).toEqual(['PubDddd', 'PubCccc']);
    });

    const file = (fileId: string, createdAt: Date, state: StoredFile['state'] = 'expiring'): StoredFile => ({
      fileId,
      tokenHash: 'a'.repeat(64),
      promotionTokenHash: null,
      contentType: 'image/png',
      contentLength: 5 * 1024 * 1024 * 1024,
      state,
      createdAt,
    });
    const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

    it('stores file records and returns them as they were, sizes past 2^32 included', async () => {
      const store = await makeStore();
      const f = { ...file(uuid(1), new Date('2026-01-01T00:00:00Z')), promotionTokenHash: 'b'.repeat(64) };
      await store.createFile(f);
      expect(await store.getFile(uuid(1))).toEqual(f);
      expect(await store.getFile(uuid(2))).toBeUndefined();
      await expect(store.createFile(f)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    });

    it('lists expired files oldest first, leaves promoted ones out, and deletes idempotently', async () => {
      const store = await makeStore();
      const t = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m));
      await store.createFile(file(uuid(1), t(3)));
      await store.createFile(file(uuid(2), t(1)));
      await store.createFile(file(uuid(3), t(2)));
      await store.createFile(file(uuid(4), t(9)));
      expect(await store.promoteFile(uuid(3))).toBe(true);
      expect(await store.promoteFile(uuid(9))).toBe(false);
      expect((await store.getFile(uuid(3)))?.state).toBe('active');
      expect(await store.listExpiredFiles(t(5), 10)).toEqual([uuid(2), uuid(1)]);
      expect(await store.listExpiredFiles(t(5), 1)).toEqual([uuid(2)]);
      await store.deleteFile(uuid(2));
      await store.deleteFile(uuid(2));
      expect(await store.listExpiredFiles(t(5), 10)).toEqual([uuid(1)]);
    });

    it('answers a ping', async () => {
      const store = await makeStore();
      await expect(store.ping(5000)).resolves.toBeUndefined();
    });

    it('rejects every call with CLOSED after close, which is idempotent', async () => {
      const store = await makeStore();
      await store.close();
      await store.close();
      const err = await store.getHub('AbCdEfG').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('CLOSED');
      await expect(store.createHub(sampleHub())).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(store.updateHub('AbCdEfG', { name: 'x' })).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(store.listPublicHubs(1)).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(store.ping(100)).rejects.toMatchObject({ code: 'CLOSED' });
    });
  });
}
