/**
 * The Store port's contract (src/ports/store.ts), run against every adapter.
 */
import { describe, expect, it } from 'vitest';
import type { Hub } from '../../src/core/hub.js';
import { AppError } from '../../src/errors.js';
import type { AuditEntry, ChatMessage, EntityState, EntityUpdate, NewBan, RoomObject, Store, StoredFile } from '../../src/ports/store.js';
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

/** A fresh account's id, for the foreign keys of the SQL stores. */
async function account(store: Store, name: string): Promise<number> {
  return (await store.createAccount({ email: `${name}@example.org` })).accountId;
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
      // Operators see every room.
      expect((await store.listHubs(10)).map((h) => h.hubSid)).toEqual(['PubDddd', 'PubCccc', 'PrvBbbb', 'PubAaaa']);
      expect((await store.listHubs(3)).map((h) => h.hubSid)).toEqual(['PubDddd', 'PubCccc', 'PrvBbbb']);
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
      await expect(store.setHubHost('AbCdEfG', 'sfu.test:4443', null)).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(store.ping(100)).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(store.createAccount({})).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(store.listBans('AbCdEfG', new Date())).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(store.saveEntityState('AbCdEfG', { nid: 'n1', createMessage: {}, updates: [], accountId: null })).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(store.appendAudit({ hubSid: null, actorAccountId: null, actorSessionId: null, action: 'x', target: null, details: null })).rejects.toMatchObject({ code: 'CLOSED' });
    });

    it('round-trips embedded and the creator account', async () => {
      const store = await makeStore();
      const creator = await account(store, 'creator');
      const hub = sampleHub({ embedded: true, createdByAccountId: creator });
      await store.createHub(hub);
      expect(await store.getHub(hub.hubSid)).toEqual(hub);
      expect(await store.updateHub(hub.hubSid, { embedded: false })).toEqual({ ...hub, embedded: false });
    });

    it('records the room host only over the host it expects, and resolves to the host stored', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      expect((await store.getHub('AbCdEfG'))?.host).toBeNull();
      expect(await store.setHubHost('AbCdEfG', 'sfu-a.test:4443', null)).toBe('sfu-a.test:4443');
      expect(await store.setHubHost('AbCdEfG', 'sfu-b.test:4443', null)).toBe('sfu-a.test:4443');
      expect(await store.setHubHost('AbCdEfG', 'sfu-b.test:4443', 'sfu-c.test:4443')).toBe('sfu-a.test:4443');
      expect((await store.getHub('AbCdEfG'))?.host).toBe('sfu-a.test:4443');
      expect(await store.setHubHost('AbCdEfG', '[::1]:4443', 'sfu-a.test:4443')).toBe('[::1]:4443');
      expect(await store.updateHub('AbCdEfG', { name: 'Renamed' })).toMatchObject({ name: 'Renamed', host: '[::1]:4443' });
      expect(await store.setHubHost('AbCdEfG', null, '[::1]:4443')).toBeNull();
      expect((await store.getHub('AbCdEfG'))?.host).toBeNull();
      expect(await store.setHubHost('NoSuchH', 'sfu-a.test:4443', null)).toBeUndefined();
    });

    it('round-trips a hub created with a host', async () => {
      const store = await makeStore();
      const hub = sampleHub({ host: 'sfu-a.test:4443' });
      await store.createHub(hub);
      expect(await store.getHub(hub.hubSid)).toEqual(hub);
    });

    it('lets exactly one of several writers expecting the same host record its own', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      const hosts = ['sfu-a.test:1', 'sfu-b.test:2', 'sfu-c.test:3', 'sfu-d.test:4'];
      const outcomes = await Promise.all(hosts.map((host) => store.setHubHost('AbCdEfG', host, null)));
      const stored = (await store.getHub('AbCdEfG'))?.host;
      expect(hosts).toContain(stored);
      expect(outcomes).toEqual(hosts.map(() => stored));
    });

    it('marks a promoted file active or inactive, and leaves an expiring one expiring', async () => {
      const store = await makeStore();
      await store.createFile(file(uuid(1), new Date('2026-01-01T00:00:00Z')));
      await store.createFile(file(uuid(2), new Date('2026-01-01T00:00:00Z')));
      await store.promoteFile(uuid(1));
      expect(await store.setFileActive(uuid(1), false)).toBe(true);
      expect((await store.getFile(uuid(1)))?.state).toBe('inactive');
      expect(await store.setFileActive(uuid(1), true)).toBe(true);
      expect((await store.getFile(uuid(1)))?.state).toBe('active');
      expect(await store.setFileActive(uuid(2), false)).toBe(true);
      expect((await store.getFile(uuid(2)))?.state).toBe('expiring');
      expect(await store.setFileActive(uuid(9), true)).toBe(false);
    });
  });

  describe(`Store contract: ${name}: accounts and moderation`, () => {
    it('creates accounts with ids it assigns and finds them by id and OIDC identity', async () => {
      const store = await makeStore();
      const a = await store.createAccount({ email: 'a@example.org', displayName: 'A', oidcIssuer: 'https://idp.example', oidcSubject: 'sub-1' });
      const b = await store.createAccount({ isAdmin: true });
      expect(a).toEqual({
        accountId: expect.any(Number),
        email: 'a@example.org',
        displayName: 'A',
        isAdmin: false,
        state: 'enabled',
        oidcIssuer: 'https://idp.example',
        oidcSubject: 'sub-1',
        createdAt: expect.any(Date),
      });
      expect(Number.isInteger(a.accountId) && a.accountId > 0).toBe(true);
      expect(b).toMatchObject({ email: null, displayName: null, isAdmin: true, oidcIssuer: null, oidcSubject: null });
      expect(b.accountId).not.toBe(a.accountId);
      expect(await store.getAccount(a.accountId)).toEqual(a);
      expect(await store.getAccount(b.accountId + 1000)).toBeUndefined();
      expect(await store.findOidcAccount('https://idp.example', 'sub-1')).toEqual(a);
      expect(await store.findOidcAccount('https://idp.example', 'sub-2')).toBeUndefined();
    });

    it('rejects a taken email or OIDC identity, but not accounts that have neither', async () => {
      const store = await makeStore();
      await store.createAccount({ email: 'a@example.org', oidcIssuer: 'https://idp.example', oidcSubject: 'sub-1' });
      await expect(store.createAccount({ email: 'a@example.org' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(store.createAccount({ oidcIssuer: 'https://idp.example', oidcSubject: 'sub-1' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await store.createAccount({ oidcIssuer: 'https://idp.example', oidcSubject: 'sub-2' });
      await store.createAccount({});
      await store.createAccount({});
    });

    it('updates only the account fields given', async () => {
      const store = await makeStore();
      const a = await store.createAccount({ email: 'a@example.org', displayName: 'A' });
      expect(await store.updateAccount(a.accountId, { isAdmin: true, displayName: undefined })).toEqual({ ...a, isAdmin: true });
      expect(await store.updateAccount(a.accountId, { state: 'disabled', displayName: null })).toEqual({ ...a, isAdmin: true, state: 'disabled', displayName: null });
      expect(await store.updateAccount(a.accountId, {})).toEqual(await store.getAccount(a.accountId));
      expect(await store.updateAccount(a.accountId + 1000, { isAdmin: true })).toBeUndefined();
    });

    it('keeps owners idempotently, ascending, and refuses a missing room or account', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      const a = await account(store, 'a');
      const b = await account(store, 'b');
      expect(await store.addOwner('AbCdEfG', b)).toBe(true);
      expect(await store.addOwner('AbCdEfG', a)).toBe(true);
      expect(await store.addOwner('AbCdEfG', a)).toBe(true);
      expect(await store.listOwners('AbCdEfG')).toEqual([a, b]);
      expect(await store.addOwner('NoSuchH', a)).toBe(false);
      expect(await store.addOwner('AbCdEfG', b + 1000)).toBe(false);
      expect(await store.removeOwner('AbCdEfG', a)).toBe(true);
      expect(await store.removeOwner('AbCdEfG', a)).toBe(true);
      expect(await store.removeOwner('NoSuchH', b)).toBe(false);
      expect(await store.listOwners('AbCdEfG')).toEqual([b]);
      expect(await store.listOwners('NoSuchH')).toEqual([]);
    });

    it('lets only the right assignment token claim the creator, and only once', async () => {
      const store = await makeStore();
      const hub = sampleHub();
      await store.createHub(hub);
      const a = await account(store, 'a');
      const b = await account(store, 'b');
      expect(await store.claimCreator(hub.hubSid, a, 'wrong-token')).toBe(false);
      expect((await store.getHub(hub.hubSid))?.createdByAccountId).toBeNull();
      expect(await store.claimCreator(hub.hubSid, a, hub.creatorAssignmentToken)).toBe(true);
      expect(await store.claimCreator(hub.hubSid, b, hub.creatorAssignmentToken)).toBe(false);
      expect(await store.claimCreator(hub.hubSid, b, '')).toBe(false);
      expect(await store.getHub(hub.hubSid)).toMatchObject({ createdByAccountId: a, creatorAssignmentToken: '' });
      expect(await store.claimCreator('NoSuchH', a, hub.creatorAssignmentToken)).toBe(false);
      expect(await store.listOwners(hub.hubSid)).toEqual([]);
    });

    it('lists the bans of a room in force at now, oldest first', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      await store.createHub(sampleHub({ hubSid: 'HgIjKlM' }));
      const mod = await account(store, 'mod');
      const target = await account(store, 'target');
      const t = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m));
      const ban = (hubSid: string, fields: Partial<NewBan>): NewBan => ({ hubSid, sessionId: null, accountId: null, reason: null, bannedByAccountId: mod, expiresAt: null, ...fields });
      const forever = await store.createBan(ban('AbCdEfG', { sessionId: 's1', reason: 'spam' }));
      expect(forever).toEqual({ ...ban('AbCdEfG', { sessionId: 's1', reason: 'spam' }), banId: expect.any(Number), createdAt: expect.any(Date) });
      const short = await store.createBan(ban('AbCdEfG', { sessionId: 's2', expiresAt: t(10) }));
      const long = await store.createBan(ban('AbCdEfG', { accountId: target, expiresAt: t(30) }));
      await store.createBan(ban('HgIjKlM', { sessionId: 's1' }));
      expect(await store.listBans('AbCdEfG', t(5))).toEqual([forever, short, long]);
      expect(await store.listBans('AbCdEfG', t(10))).toEqual([forever, long]);
      expect(await store.listBans('AbCdEfG', t(40))).toEqual([forever]);
      expect(await store.listBans('NoSuchH', t(5))).toEqual([]);
      await expect(store.createBan(ban('NoSuchH', { sessionId: 's1' }))).rejects.toMatchObject({ code: 'HUB_NOT_FOUND' });
    });

    it('deletes a ban only through its own room', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      await store.createHub(sampleHub({ hubSid: 'HgIjKlM' }));
      const { banId } = await store.createBan({ hubSid: 'HgIjKlM', sessionId: 's1', accountId: null, reason: null, bannedByAccountId: null, expiresAt: null });
      expect(await store.deleteBan('AbCdEfG', banId)).toBe(false);
      expect(await store.listBans('HgIjKlM', new Date())).toHaveLength(1);
      expect(await store.deleteBan('HgIjKlM', banId)).toBe(true);
      expect(await store.deleteBan('HgIjKlM', banId)).toBe(false);
      expect(await store.listBans('HgIjKlM', new Date())).toEqual([]);
    });

    it('keeps at most one active invite per room', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      await store.createHub(sampleHub({ hubSid: 'HgIjKlM' }));
      expect(await store.activeInvite('AbCdEfG')).toBeUndefined();
      await store.createInvite('AbCdEfG', 'InvAaaa');
      await store.createInvite('HgIjKlM', 'InvBbbb');
      expect(await store.activeInvite('AbCdEfG')).toBe('InvAaaa');
      await store.createInvite('AbCdEfG', 'InvCccc');
      expect(await store.activeInvite('AbCdEfG')).toBe('InvCccc');
      expect(await store.revokeInvite('AbCdEfG', 'InvAaaa')).toBe(false);
      expect(await store.revokeInvite('AbCdEfG', 'InvBbbb')).toBe(false);
      expect(await store.activeInvite('HgIjKlM')).toBe('InvBbbb');
      expect(await store.revokeInvite('AbCdEfG', 'InvCccc')).toBe(true);
      expect(await store.revokeInvite('AbCdEfG', 'InvCccc')).toBe(false);
      expect(await store.activeInvite('AbCdEfG')).toBeUndefined();
    });

    it('returns the newest audit entries of a room first, up to the limit', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      await store.createHub(sampleHub({ hubSid: 'HgIjKlM' }));
      const actor = await account(store, 'actor');
      const entry = (hubSid: string | null, action: string): AuditEntry => ({ hubSid, actorAccountId: actor, actorSessionId: 'sess', action, target: 'victim', details: { list: [1, 'two'] } });
      for (const [hubSid, action] of [['AbCdEfG', 'kick'], ['HgIjKlM', 'ban'], ['AbCdEfG', 'mute'], [null, 'boot'], ['AbCdEfG', 'close_hub']] as const) {
        await store.appendAudit(entry(hubSid, action));
      }
      expect(await store.listAudit('AbCdEfG', 2)).toEqual([
        { ...entry('AbCdEfG', 'close_hub'), at: expect.any(Date) },
        { ...entry('AbCdEfG', 'mute'), at: expect.any(Date) },
      ]);
      expect((await store.listAudit('AbCdEfG', 10)).map((e) => e.action)).toEqual(['close_hub', 'mute', 'kick']);
      expect((await store.listAudit('HgIjKlM', 10)).map((e) => e.action)).toEqual(['ban']);
      expect(await store.listAudit('NoSuchH', 10)).toEqual([]);
    });

    it('keeps the newest `keep` chat messages of each room and lists them oldest first', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      await store.createHub(sampleHub({ hubSid: 'HgIjKlM' }));
      const msg = (i: number): ChatMessage => ({ sessionId: `s${i}`, accountId: null, type: i === 2 ? 'photo' : 'chat', body: i === 2 ? { src: 'https://x/y.png' } : `hello ${i}` });
      for (let i = 0; i < 5; i++) await store.appendChat('AbCdEfG', msg(i), 3);
      await store.appendChat('HgIjKlM', msg(9), 3);
      const kept = await store.listChat('AbCdEfG', 10);
      expect(kept).toEqual([2, 3, 4].map((i) => ({ ...msg(i), createdAt: expect.any(Date) })));
      expect((await store.listChat('AbCdEfG', 2)).map((m) => m.sessionId)).toEqual(['s3', 's4']);
      expect((await store.listChat('HgIjKlM', 10)).map((m) => m.body)).toEqual(['hello 9']);
      expect(await store.listChat('NoSuchH', 10)).toEqual([]);
      await expect(store.appendChat('NoSuchH', msg(1), 3)).rejects.toMatchObject({ code: 'HUB_NOT_FOUND' });
    });
  });

  describe(`Store contract: ${name}: pinned objects and entity states`, () => {
    const object = (objectId: string, n: number, accountId: number | null): RoomObject => ({
      objectId,
      gltfNode: { name: objectId, extras: { gltfExtensions: { HUBS_components: { n } } } },
      entity: { networkId: objectId, template: '#interactable-media', components: { n } },
      accountId,
    });
    const entity = (nid: string, accountId: number | null, updates: string[] = []): EntityState => ({
      nid,
      createMessage: { version: 1, networkId: nid, prefabName: 'media', initialData: { src: 'x' } },
      updates: updates.map((u, i) => ({ nid: u, rootNid: nid, updateMessage: { nid: u, data: [i, { k: 'v' }] } })),
      accountId,
    });

    it('pins objects, replacing by id and keeping the order they were first pinned', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      const a = await account(store, 'a');
      await store.upsertRoomObject('AbCdEfG', object('objB', 1, a));
      await store.upsertRoomObject('AbCdEfG', object('objA', 1, a));
      await store.upsertRoomObject('AbCdEfG', { ...object('objB', 2, null), entity: null });
      expect(await store.listRoomObjects('AbCdEfG')).toEqual([{ ...object('objB', 2, null), entity: null }, object('objA', 1, a)]);
      expect(await store.deleteRoomObject('AbCdEfG', 'objB')).toBe(true);
      expect(await store.deleteRoomObject('AbCdEfG', 'objB')).toBe(false);
      expect(await store.deleteRoomObject('NoSuchH', 'objA')).toBe(false);
      await store.upsertRoomObject('AbCdEfG', object('objB', 3, a));
      expect(await store.listRoomObjects('AbCdEfG')).toEqual([object('objA', 1, a), object('objB', 3, a)]);
      expect(await store.listRoomObjects('NoSuchH')).toEqual([]);
      await expect(store.upsertRoomObject('NoSuchH', object('objA', 1, a))).rejects.toMatchObject({ code: 'HUB_NOT_FOUND' });
    });

    it('keeps one snapshot per simulation of a room, replaced by each save, in name order', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      const before = Date.now() - 1000;
      await store.saveSimState('AbCdEfG', 'wanderer', { x: 1, path: [{ t: 0 }] });
      await store.saveSimState('AbCdEfG', 'physics', { bodies: [] });
      await store.saveSimState('AbCdEfG', 'wanderer', { x: 2, path: [] });
      const states = await store.listSimStates('AbCdEfG');
      expect(states.map((s) => [s.name, s.state])).toEqual([
        ['physics', { bodies: [] }],
        ['wanderer', { x: 2, path: [] }],
      ]);
      expect(states.every((s) => s.updatedAt instanceof Date && s.updatedAt.getTime() >= before)).toBe(true);
      expect(await store.deleteSimState('AbCdEfG', 'physics')).toBe(true);
      expect(await store.deleteSimState('AbCdEfG', 'physics')).toBe(false);
      expect((await store.listSimStates('AbCdEfG')).map((s) => s.name)).toEqual(['wanderer']);
      expect(await store.listSimStates('NoSuchH')).toEqual([]);
      expect(await store.deleteSimState('NoSuchH', 'wanderer')).toBe(false);
      await expect(store.saveSimState('NoSuchH', 'wanderer', {})).rejects.toMatchObject({ code: 'HUB_NOT_FOUND' });
    });

    it('saves entities with their updates in order, and rejects a taken nid with ENTITY_EXISTS, writing nothing', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      await store.createHub(sampleHub({ hubSid: 'HgIjKlM' }));
      const a = await account(store, 'a');
      await store.saveEntityState('AbCdEfG', entity('n2', a, ['n2.b', 'n2.a']));
      await store.saveEntityState('AbCdEfG', entity('n1', null));
      await expect(store.saveEntityState('AbCdEfG', entity('n2', null, ['n2.c']))).rejects.toMatchObject({ code: 'ENTITY_EXISTS' });
      await store.saveEntityState('HgIjKlM', entity('n2', null));
      expect(await store.listEntityStates('AbCdEfG')).toEqual([entity('n2', a, ['n2.b', 'n2.a']), entity('n1', null)]);
      expect(await store.listEntityStates('HgIjKlM')).toEqual([entity('n2', null)]);
      expect(await store.listEntityStates('NoSuchH')).toEqual([]);
    });

    it('upserts an update only under an existing root entity, keeping its first place', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      await store.saveEntityState('AbCdEfG', entity('n1', null, ['n1.a']));
      const update = (nid: string, v: number): EntityUpdate => ({ nid, rootNid: 'n1', updateMessage: { nid, v } });
      expect(await store.updateEntityState('AbCdEfG', update('n1.b', 1))).toBe(true);
      expect(await store.updateEntityState('AbCdEfG', update('n1.a', 2))).toBe(true);
      expect(await store.updateEntityState('AbCdEfG', { nid: 'x', rootNid: 'missing', updateMessage: {} })).toBe(false);
      expect(await store.updateEntityState('NoSuchH', update('n1.c', 1))).toBe(false);
      expect(await store.listEntityStates('AbCdEfG')).toEqual([{ ...entity('n1', null), updates: [update('n1.a', 2), update('n1.b', 1)] }]);
    });

    it('deletes an entity with its updates and the pinned object of the same id', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      await store.saveEntityState('AbCdEfG', entity('n1', null, ['n1.a']));
      await store.saveEntityState('AbCdEfG', entity('n2', null));
      await store.upsertRoomObject('AbCdEfG', object('n1', 1, null));
      await store.upsertRoomObject('AbCdEfG', object('other', 1, null));
      expect(await store.deleteEntityState('AbCdEfG', 'n1')).toBe(true);
      expect(await store.deleteEntityState('AbCdEfG', 'n1')).toBe(false);
      expect(await store.deleteEntityState('NoSuchH', 'n2')).toBe(false);
      expect(await store.listRoomObjects('AbCdEfG')).toEqual([object('other', 1, null)]);
      await store.saveEntityState('AbCdEfG', entity('n1', null));
      expect(await store.listEntityStates('AbCdEfG')).toEqual([entity('n2', null), entity('n1', null)]);
    });

    it('hands out copies of pinned objects, entities, bans and audit entries', async () => {
      const store = await makeStore();
      await store.createHub(sampleHub());
      await store.upsertRoomObject('AbCdEfG', object('objA', 1, null));
      await store.saveEntityState('AbCdEfG', entity('n1', null, ['n1.a']));
      await store.appendAudit({ hubSid: 'AbCdEfG', actorAccountId: null, actorSessionId: null, action: 'kick', target: null, details: { k: 1 } });
      const ban = await store.createBan({ hubSid: 'AbCdEfG', sessionId: 's1', accountId: null, reason: null, bannedByAccountId: null, expiresAt: null });
      (await store.listRoomObjects('AbCdEfG'))[0]!.gltfNode['name'] = 'changed';
      (await store.listEntityStates('AbCdEfG'))[0]!.updates[0]!.updateMessage['nid'] = 'changed';
      (await store.listAudit('AbCdEfG', 1))[0]!.details!['k'] = 'changed';
      ban.createdAt.setTime(0);
      expect(await store.listRoomObjects('AbCdEfG')).toEqual([object('objA', 1, null)]);
      expect(await store.listEntityStates('AbCdEfG')).toEqual([entity('n1', null, ['n1.a'])]);
      expect((await store.listAudit('AbCdEfG', 1))[0]?.details).toEqual({ k: 1 });
      expect((await store.listBans('AbCdEfG', new Date()))[0]?.createdAt.getTime()).not.toBe(0);
    });
  });
}
