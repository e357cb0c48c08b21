import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { arbitrate, type ArbiterContext, type Arbitration, type DropReason } from '../../src/core/arbiter.js';
import { EntityTable, NN_SERVER_OWNER, type Entity } from '../../src/core/entities.js';
import { resolveLeave } from '../../src/core/entity-lifecycle.js';
import type { Payload } from '../../src/protocol/frames.js';
import { entityIn, makeEntity, tableWith } from '../support/builders.js';

// --- helpers ---------------------------------------------------------------

function ctxFor(sender: string, opts: { present?: readonly string[]; max?: number } = {}): ArbiterContext {
  const present = new Set(opts.present ?? [sender]);
  return { sender, isPresent: (s) => present.has(s), maxEntitiesPerSession: opts.max ?? 100 };
}

/** Nothing is relayed, for these reasons. */
function expectCut(result: Arbitration, drops: readonly DropReason[]): void {
  expect(result.message).toBeNull();
  expect(result.drops).toEqual(drops);
}


/** A NAF first sync `u`, as Reticulum relays it after the owner/creator rewrite. */
function firstSync(networkId: string, owner: string, data: Payload = {}): Payload {
  return {
    dataType: 'u',
    data: {
      networkId,
      owner,
      creator: owner,
      lastOwnerTime: 1_000,
      template: '#interactable-media',
      persistent: false,
      parent: null,
      components: { 0: { x: 1 } },
      isFirstSync: true,
      ...data,
    },
  };
}

/** A full `u` without isFirstSync (NAF takeOwnership / syncAll). */
function fullSync(networkId: string, owner: string, lastOwnerTime: number, components: Payload = {}): Payload {
  return { dataType: 'u', data: { networkId, owner, creator: 'alice', lastOwnerTime, template: '#interactable-media', persistent: false, parent: null, components } };
}

/** One `um` entry: dirty components only. */
function entry(networkId: string, owner: string, lastOwnerTime: number, components: Payload = { 0: 'moved' }): Payload {
  return { networkId, owner, creator: 'alice', lastOwnerTime, template: '#interactable-media', persistent: false, parent: null, components };
}

function um(...entries: unknown[]): Payload {
  return { dataType: 'um', data: { d: entries } };
}

function remove(networkId: string, template = '#interactable-media'): Payload {
  return { dataType: 'r', data: { networkId, template } };
}

function nnCreate(networkId: string, prefabName = 'media'): Payload {
  return { version: 1, networkId, prefabName, initialData: { src: 'https://example.org/a.png' } };
}

function nnUpdate(nid: string, owner: string, lastOwnerTime: number, componentIds: unknown[] = [], data: unknown = []): Payload {
  return { nid, lastOwnerTime, timestamp: lastOwnerTime + 50, owner, componentIds, data };
}

function nn(data: Payload): Payload {
  return { dataType: 'nn', data };
}

function nnEntity(networkId: string, overrides: Partial<Entity> = {}): Entity {
  return makeEntity({ networkId, protocol: 'nn', owner: NN_SERVER_OWNER, creator: 'alice', lastOwnerTime: 0, template: 'media', ...overrides });
}

// --- u ---------------------------------------------------------------------

describe('arbitrate u (parity 3.2, 3.3)', () => {
  it('creates the entity on a first sync, at lastOwnerTime -1, and relays the very message', () => {
    const table = new EntityTable();
    const msg = firstSync('ent1', 'alice', {
      creator: 'carol',
      lastOwnerTime: 12_345,
      template: '#interactable-camera',
      persistent: true,
      parent: 'root1',
      components: { 0: { x: 1 }, 1: null, 3: 'three' },
    });
    const result = arbitrate(table, msg, ctxFor('alice'));
    expect(result.message).toBe(msg);
    expect(result.drops).toEqual([]);
    expect(table.get('ent1')).toEqual({
      networkId: 'ent1',
      protocol: 'naf',
      owner: 'alice',
      creator: 'carol',
      lastOwnerTime: -1,
      template: '#interactable-camera',
      persistent: true,
      parent: 'root1',
      components: { 0: { x: 1 }, 3: 'three' },
      lastTimestamp: 0,
      createMessage: null,
    });
    // Counted against the sender, not the creator a persistent first sync names.
    expect(table.countBy('alice')).toBe(1);
    expect(table.countBy('carol')).toBe(0);
  });

  it('takes the owner as creator when the first sync has none, and defaults the rest', () => {
    const table = new EntityTable();
    const msg: Payload = { dataType: 'u', data: { networkId: 'ent1', owner: 'alice', lastOwnerTime: 1, isFirstSync: true } };
    arbitrate(table, msg, ctxFor('alice'));
    expect(table.get('ent1')).toMatchObject({ owner: 'alice', creator: 'alice', template: '', persistent: false, parent: null, components: {} });
  });

  it('does not keep a reference to the message components', () => {
    const table = new EntityTable();
    const components = { 0: 'a' };
    arbitrate(table, firstSync('ent1', 'alice', { components }), ctxFor('alice'));
    arbitrate(table, fullSync('ent1', 'alice', 2_000, { 0: 'b' }), ctxFor('alice'));
    expect(components).toEqual({ 0: 'a' });
  });

  it('hands the entity to a newer (lastOwnerTime, owner) and takes its lastOwnerTime', () => {
    const table = new EntityTable();
    arbitrate(table, firstSync('ent1', 'alice', { components: { 0: 'a', 1: 'b' } }), ctxFor('alice'));
    const msg = fullSync('ent1', 'bob', 5_000, { 0: 'A', 1: null });
    const result = arbitrate(table, msg, ctxFor('bob'));
    expect(result).toEqual({ message: msg, drops: [] });
    expect(result.message).toBe(msg);
    expect(entityIn(table, 'ent1')).toMatchObject({ owner: 'bob', lastOwnerTime: 5_000, components: { 0: 'A', 1: 'b' } });
  });

  it('keeps lastOwnerTime when the owner sends again with a newer time (it only moves on an owner change)', () => {
    const table = tableWith(makeEntity({ networkId: 'ent1', owner: 'bob', lastOwnerTime: 5_000 }));
    const result = arbitrate(table, fullSync('ent1', 'bob', 9_000, { 0: 'new' }), ctxFor('bob'));
    expect(result.drops).toEqual([]);
    expect(entityIn(table, 'ent1')).toMatchObject({ owner: 'bob', lastOwnerTime: 5_000, components: { 0: 'new' } });
  });

  it('drops an outdated u and leaves the entity as it was', () => {
    const table = tableWith(makeEntity({ networkId: 'ent1', owner: 'bob', lastOwnerTime: 5_000, components: { 0: 'kept' } }));
    const result = arbitrate(table, fullSync('ent1', 'zed', 4_999, { 0: 'lost' }), ctxFor('zed'));
    expectCut(result, ['outdated']);
    expect(entityIn(table, 'ent1')).toMatchObject({ owner: 'bob', lastOwnerTime: 5_000, components: { 0: 'kept' } });
  });

  it('on an equal time, a smaller owner id is outdated and a greater one wins', () => {
    const table = tableWith(makeEntity({ networkId: 'ent1', owner: 'mmm', lastOwnerTime: 5_000 }));
    expectCut(arbitrate(table, fullSync('ent1', 'aaa', 5_000), ctxFor('aaa')), ['outdated']);
    expect(entityIn(table, 'ent1').owner).toBe('mmm');

    const msg = fullSync('ent1', 'zzz', 5_000);
    expect(arbitrate(table, msg, ctxFor('zzz')).message).toBe(msg);
    expect(entityIn(table, 'ent1')).toMatchObject({ owner: 'zzz', lastOwnerTime: 5_000 });
  });

  it('accepts the current owner at an equal time', () => {
    const table = tableWith(makeEntity({ networkId: 'ent1', owner: 'mmm', lastOwnerTime: 5_000 }));
    const msg = fullSync('ent1', 'mmm', 5_000, { 2: 'two' });
    expect(arbitrate(table, msg, ctxFor('mmm'))).toEqual({ message: msg, drops: [] });
    expect(entityIn(table, 'ent1').components).toEqual({ 2: 'two' });
  });

  it('arbitrates a first sync for a known entity like any update, without re-creating it', () => {
    const existing = makeEntity({ networkId: 'ent1', owner: 'bob', lastOwnerTime: 5_000 });
    const table = tableWith(existing);
    expectCut(arbitrate(table, firstSync('ent1', 'alice', { lastOwnerTime: 4_000 }), ctxFor('alice')), ['outdated']);
    expect(table.get('ent1')).toBe(existing);
    expect(table.size).toBe(1);
  });

  it('updates persistent and parent from an accepted u', () => {
    const table = tableWith(makeEntity({ networkId: 'ent1', persistent: false, parent: 'p' }));
    arbitrate(table, { dataType: 'u', data: { networkId: 'ent1', owner: 'alice', lastOwnerTime: 1, persistent: true, parent: null } }, ctxFor('alice'));
    expect(entityIn(table, 'ent1')).toMatchObject({ persistent: true, parent: null });
  });

  it('relays a non-first-sync u for an unknown entity untouched and creates nothing', () => {
    const table = new EntityTable();
    const msg = fullSync('ghost', 'bob', 5_000);
    const result = arbitrate(table, msg, ctxFor('carol'));
    expect(result.message).toBe(msg);
    expect(result.drops).toEqual([]);
    expect(table.size).toBe(0);
    expect(table.get('ghost')).toBeUndefined();
  });

  it.each([
    ['no networkId', { owner: 'alice', lastOwnerTime: 1 }],
    ['an empty networkId', { networkId: '', owner: 'alice', lastOwnerTime: 1 }],
    ['a numeric networkId', { networkId: 7, owner: 'alice', lastOwnerTime: 1 }],
    ['a networkId over 128 characters', { networkId: 'n'.repeat(129), owner: 'alice', lastOwnerTime: 1 }],
    ['no owner', { networkId: 'ent1', lastOwnerTime: 1 }],
    ['an empty owner', { networkId: 'ent1', owner: '', lastOwnerTime: 1 }],
    ['a null owner', { networkId: 'ent1', owner: null, lastOwnerTime: 1 }],
    ['no lastOwnerTime', { networkId: 'ent1', owner: 'alice' }],
    ['a string lastOwnerTime', { networkId: 'ent1', owner: 'alice', lastOwnerTime: '1' }],
    ['a NaN lastOwnerTime', { networkId: 'ent1', owner: 'alice', lastOwnerTime: Number.NaN }],
    ['an infinite lastOwnerTime', { networkId: 'ent1', owner: 'alice', lastOwnerTime: Number.POSITIVE_INFINITY }],
  ])('drops a u with %s as invalid', (_name, data) => {
    const table = new EntityTable();
    const result = arbitrate(table, { dataType: 'u', data: { ...data, isFirstSync: true } }, ctxFor('alice'));
    expectCut(result, ['invalid']);
    expect(table.size).toBe(0);
  });

  it.each([[null], [[]], ['text'], [undefined]])('drops a u whose data is %j as invalid', (data) => {
    expectCut(arbitrate(new EntityTable(), { dataType: 'u', data }, ctxFor('alice')), ['invalid']);
  });

  it('drops a u about an nn entity as invalid', () => {
    const table = tableWith(nnEntity('nid1'));
    expectCut(arbitrate(table, fullSync('nid1', 'alice', 5_000), ctxFor('alice')), ['invalid']);
    expect(entityIn(table, 'nid1').owner).toBe(NN_SERVER_OWNER);
  });

  it('ends with the greatest (lastOwnerTime, owner) claim in whatever order the claims arrive', () => {
    const claimArb = fc.record({ owner: fc.string({ minLength: 1, maxLength: 5 }), lastOwnerTime: fc.integer({ min: 0, max: 3 }) });
    const claimsArb = fc
      .uniqueArray(claimArb, { minLength: 1, maxLength: 8, selector: (c) => c.owner })
      .filter((claims) => claims.every((c) => c.owner !== 'initial'));
    fc.assert(
      fc.property(
        claimsArb.chain((claims) => fc.tuple(fc.constant(claims), fc.shuffledSubarray(claims, { minLength: claims.length }))),
        ([claims, shuffled]) => {
          const best = claims.reduce((a, b) => (b.lastOwnerTime > a.lastOwnerTime || (b.lastOwnerTime === a.lastOwnerTime && b.owner > a.owner) ? b : a));
          for (const order of [claims, shuffled]) {
            const table = tableWith(makeEntity({ networkId: 'ent1', owner: 'initial' }));
            for (const c of order) arbitrate(table, fullSync('ent1', c.owner, c.lastOwnerTime), ctxFor(c.owner));
            expect(entityIn(table, 'ent1')).toMatchObject(best);
          }
        },
      ),
    );
  });
});

// --- um --------------------------------------------------------------------

describe('arbitrate um (parity 3.5, 3.9)', () => {
  const three = (): EntityTable =>
    tableWith(makeEntity({ networkId: 'e1' }), makeEntity({ networkId: 'e2' }), makeEntity({ networkId: 'e3', owner: 'bob', lastOwnerTime: 5_000 }));

  it('returns the very same message when every entry is accepted', () => {
    const table = three();
    const msg = um(entry('e1', 'alice', 100, { 0: 'one' }), entry('e2', 'alice', 100, { 0: 'two' }));
    const result = arbitrate(table, msg, ctxFor('alice'));
    expect(result.message).toBe(msg);
    expect(result.drops).toEqual([]);
    expect(entityIn(table, 'e1').components).toEqual({ 0: 'one' });
    expect(entityIn(table, 'e2').components).toEqual({ 0: 'two' });
  });

  it('cuts the failing entries, keeps the rest in order, and lists the drops', () => {
    const table = three();
    const kept1 = entry('e1', 'alice', 100);
    const notOwned = entry('e3', 'bob', 5_000);
    const kept2 = entry('e2', 'alice', 100);
    const invalid = { networkId: 'e2' };
    const kept3 = entry('unknown', 'alice', 100);
    const msg: Payload = { ...um(kept1, notOwned, kept2, invalid, kept3), clientId: 'carol' };
    const result = arbitrate(table, msg, ctxFor('alice', { present: ['alice', 'bob'] }));
    expect(result.message).not.toBe(msg);
    expect(result.message).toEqual({ dataType: 'um', clientId: 'carol', data: { d: [kept1, kept2, kept3] } });
    const kept = (result.message!['data'] as Payload)['d'] as unknown[];
    expect(kept[0]).toBe(kept1);
    expect(kept[1]).toBe(kept2);
    expect(result.drops).toEqual(['not_owner', 'invalid']);
    // The input is left as it came.
    expect((msg['data'] as Payload)['d']).toEqual([kept1, notOwned, kept2, invalid, kept3]);
  });

  it('returns null when every entry is cut', () => {
    const table = three();
    const msg = um(entry('e3', 'alice', 1), entry('e3', 'bob', 5_000), 'junk');
    expectCut(arbitrate(table, msg, ctxFor('alice', { present: ['alice', 'bob'] })), ['outdated', 'not_owner', 'invalid']);
  });

  it('drops an entry whose owner is not the sender, without applying it', () => {
    const table = tableWith(makeEntity({ networkId: 'e1', owner: 'alice', creator: 'alice', components: { 0: 'kept' } }));
    const result = arbitrate(table, um(entry('e1', 'alice', 1, { 0: 'spoofed' })), ctxFor('bob', { present: ['alice', 'bob'] }));
    expectCut(result, ['not_owner']);
    expect(entityIn(table, 'e1').components).toEqual({ 0: 'kept' });
  });

  it('accepts an entry by which the sender claims a newer ownership, and moves the owner', () => {
    const table = tableWith(makeEntity({ networkId: 'e1', owner: 'alice', lastOwnerTime: 100 }));
    const msg = um(entry('e1', 'bob', 200));
    expect(arbitrate(table, msg, ctxFor('bob', { present: ['alice', 'bob'] })).message).toBe(msg);
    expect(entityIn(table, 'e1')).toMatchObject({ owner: 'bob', lastOwnerTime: 200 });
  });

  describe('NAF canSync: the creator may update while the owner is away', () => {
    const owned = (): EntityTable => tableWith(makeEntity({ networkId: 'e1', creator: 'carol', owner: 'alice', lastOwnerTime: 100 }));

    it('accepts the creator sending as the absent current owner', () => {
      const table = owned();
      const msg = um(entry('e1', 'alice', 100, { 0: 'by-creator' }));
      const result = arbitrate(table, msg, ctxFor('carol', { present: ['carol'] }));
      expect(result).toEqual({ message: msg, drops: [] });
      expect(result.message).toBe(msg);
      expect(entityIn(table, 'e1')).toMatchObject({ owner: 'alice', components: { 0: 'by-creator' } });
    });

    it('refuses the creator while the owner is present', () => {
      const table = owned();
      expectCut(arbitrate(table, um(entry('e1', 'alice', 100)), ctxFor('carol', { present: ['carol', 'alice'] })), ['not_owner']);
    });

    it('refuses someone who is not the creator, even with the owner away', () => {
      const table = owned();
      expectCut(arbitrate(table, um(entry('e1', 'alice', 100)), ctxFor('dave', { present: ['dave', 'carol'] })), ['not_owner']);
    });

    it('refuses the creator claiming an owner other than the current one', () => {
      const table = owned();
      expectCut(arbitrate(table, um(entry('e1', 'zed', 200)), ctxFor('carol', { present: ['carol'] })), ['not_owner']);
      expect(entityIn(table, 'e1').owner).toBe('alice');
    });
  });

  it.each([
    ['no data', { dataType: 'um' }],
    ['data without d', { dataType: 'um', data: {} }],
    ['a d that is not an array', { dataType: 'um', data: { d: { 0: {} } } }],
  ])('drops a um with %s as invalid', (_name, msg) => {
    expectCut(arbitrate(new EntityTable(), msg, ctxFor('alice')), ['invalid']);
  });

  it('relays an empty um untouched', () => {
    const msg = um();
    expect(arbitrate(new EntityTable(), msg, ctxFor('alice')).message).toBe(msg);
  });

  it('keeps an order-preserving subset of the entries and one drop per cut entry', () => {
    const entryArb = fc.record({
      networkId: fc.constantFrom('e1', 'e2', 'e3', 'unknown'),
      owner: fc.constantFrom('alice', 'bob', 'carol', ''),
      lastOwnerTime: fc.integer({ min: -1, max: 6_000 }),
    });
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 10 }), fc.constantFrom('alice', 'bob', 'carol'), (entries, sender) => {
        const msg = um(...entries);
        const result = arbitrate(three(), msg, ctxFor(sender, { present: ['alice', 'bob', 'carol'] }));
        const kept = result.message === null ? [] : ((result.message['data'] as Payload)['d'] as unknown[]);
        expect(kept.length + result.drops.length).toBe(entries.length);
        if (result.drops.length === 0) expect(result.message).toBe(msg);
        let i = 0;
        for (const k of kept) {
          while (i < entries.length && entries[i] !== k) i++;
          expect(i).toBeLessThan(entries.length);
          i++;
        }
        for (const k of kept) if ((k as Payload)['networkId'] !== 'unknown') expect((k as Payload)['owner']).toBe(sender);
      }),
    );
  });
});

// --- r ---------------------------------------------------------------------

describe('arbitrate r (parity 3.5, 3.7)', () => {
  const table = (): EntityTable => tableWith(makeEntity({ networkId: 'e1', creator: 'carol', owner: 'alice' }));

  it.each([['the owner', 'alice'], ['the creator', 'carol']])('removes the entity when %s sends it', (_who, sender) => {
    const t = table();
    const msg = remove('e1');
    const result = arbitrate(t, msg, ctxFor(sender));
    expect(result.message).toBe(msg);
    expect(result.drops).toEqual([]);
    // The sender gets its own r back: a resent first sync may have brought the entity back there.
    expect(result.isEcho).toBe(true);
    expect(t.get('e1')).toBeUndefined();
    expect(t.size).toBe(0);
    expect(t.countBy('carol')).toBe(0);
  });

  it('drops a removal by anyone else, keeps the entity, and asks to restore it at the sender', () => {
    const t = table();
    const result = arbitrate(t, remove('e1'), ctxFor('mallory'));
    expectCut(result, ['not_owner']);
    expect(result.restore).toEqual(['e1']);
    expect(t.get('e1')).toBeDefined();
  });

  it('lets only the creator remove an avatar, not an owner who did not create it', () => {
    const avatar = (): EntityTable => tableWith(makeEntity({ networkId: 'av1', template: '#remote-avatar', creator: 'carol', owner: 'alice' }));
    const t1 = avatar();
    expectCut(arbitrate(t1, remove('av1', '#remote-avatar'), ctxFor('alice')), ['not_owner']);
    expect(t1.get('av1')).toBeDefined();
    const t2 = avatar();
    expect(arbitrate(t2, remove('av1', '#remote-avatar'), ctxFor('carol')).drops).toEqual([]);
    expect(t2.get('av1')).toBeUndefined();
  });

  it('judges the template stored in the table, not the one the r names', () => {
    const t = tableWith(makeEntity({ networkId: 'av1', template: '#remote-avatar', creator: 'carol', owner: 'alice' }));
    expect(arbitrate(t, remove('av1', '#interactable-media'), ctxFor('alice')).drops).toEqual(['not_owner']);
  });

  it('relays the removal of an unknown entity untouched', () => {
    const t = table();
    const msg = remove('ghost');
    const result = arbitrate(t, msg, ctxFor('mallory'));
    expect(result.message).toBe(msg);
    expect(result.drops).toEqual([]);
    expect(result.isEcho).toBe(false);
    expect(t.size).toBe(1);
  });

  it.each([[{}], [{ networkId: '' }], [{ networkId: 42 }], [null]])('drops r with data %j as invalid', (data) => {
    const t = table();
    const result = arbitrate(t, { dataType: 'r', data }, ctxFor('alice'));
    expectCut(result, ['invalid']);
    expect(result.restore ?? []).toEqual([]);
    expect(t.size).toBe(1);
  });
});

// --- per-session limit -----------------------------------------------------

describe('arbitrate: per-session entity limit', () => {
  it('refuses the third first sync by the same creator when the limit is 2', () => {
    const table = new EntityTable();
    const ctx = ctxFor('alice', { max: 2 });
    expect(arbitrate(table, firstSync('e1', 'alice'), ctx).drops).toEqual([]);
    expect(arbitrate(table, firstSync('e2', 'alice'), ctx).drops).toEqual([]);
    expectCut(arbitrate(table, firstSync('e3', 'alice'), ctx), ['entity_limit']);
    expect(table.get('e3')).toBeUndefined();
    expect(table.size).toBe(2);
    expect(table.countBy('alice')).toBe(2);
  });

  it('counts per creator: another session still has its own allowance', () => {
    const table = new EntityTable();
    arbitrate(table, firstSync('e1', 'alice'), ctxFor('alice', { max: 2 }));
    arbitrate(table, firstSync('e2', 'alice'), ctxFor('alice', { max: 2 }));
    expect(arbitrate(table, firstSync('b1', 'bob'), ctxFor('bob', { max: 2 })).drops).toEqual([]);
    expect(table.get('b1')).toBeDefined();
  });

  it('frees a slot when an entity is removed', () => {
    const table = new EntityTable();
    const ctx = ctxFor('alice', { max: 2 });
    arbitrate(table, firstSync('e1', 'alice'), ctx);
    arbitrate(table, firstSync('e2', 'alice'), ctx);
    arbitrate(table, remove('e1'), ctx);
    expect(arbitrate(table, firstSync('e3', 'alice'), ctx).drops).toEqual([]);
    expect(table.get('e3')).toBeDefined();
  });

  it('does not count updates of existing entities', () => {
    const table = new EntityTable();
    const ctx = ctxFor('alice', { max: 1 });
    arbitrate(table, firstSync('e1', 'alice'), ctx);
    expect(arbitrate(table, firstSync('e1', 'alice'), ctx).drops).toEqual([]);
    expect(arbitrate(table, um(entry('e1', 'alice', 1)), ctx).drops).toEqual([]);
  });
});

// --- nn --------------------------------------------------------------------

describe('arbitrate nn (parity 3.8)', () => {
  it('adds created entities owned by reticulum at lastOwnerTime 0, created by the sender', () => {
    const table = new EntityTable();
    const c1 = nnCreate('nid1', 'media');
    const c2 = nnCreate('nid2', 'camera');
    const msg = nn({ creates: [c1, c2], updates: [], deletes: [] });
    const result = arbitrate(table, msg, ctxFor('alice'));
    expect(result.message).toBe(msg);
    expect(result.drops).toEqual([]);
    expect(table.get('nid1')).toEqual({
      networkId: 'nid1',
      protocol: 'nn',
      owner: NN_SERVER_OWNER,
      creator: 'alice',
      lastOwnerTime: 0,
      template: 'media',
      persistent: false,
      parent: null,
      components: {},
      lastTimestamp: 0,
      createMessage: c1,
    });
    expect(entityIn(table, 'nid1').createMessage).toBe(c1);
    expect(entityIn(table, 'nid2')).toMatchObject({ template: 'camera', creator: 'alice' });
    expect(table.countBy('alice')).toBe(2);
  });

  it('ignores a create for an existing entity and relays it', () => {
    const existing = nnEntity('nid1', { creator: 'bob' });
    const table = tableWith(existing);
    const msg = nn({ creates: [nnCreate('nid1')] });
    expect(arbitrate(table, msg, ctxFor('alice')).message).toBe(msg);
    expect(table.get('nid1')).toBe(existing);
    expect(table.countBy('alice')).toBe(0);
  });

  it('cuts creates over the per-session limit', () => {
    const table = new EntityTable();
    const [c1, c2, c3] = [nnCreate('n1'), nnCreate('n2'), nnCreate('n3')];
    const result = arbitrate(table, nn({ creates: [c1, c2, c3] }), ctxFor('alice', { max: 2 }));
    expect(result.drops).toEqual(['entity_limit']);
    expect(result.message).toEqual(nn({ creates: [c1, c2] }));
    expect(table.get('n3')).toBeUndefined();
  });

  it('accepts an update from its owner and applies owner, lastOwnerTime, timestamp and components', () => {
    const table = tableWith(nnEntity('nid1'));
    const msg = nn({ updates: [nnUpdate('nid1', 'alice', 1_000, [0, 3], [{ p: 1 }, 'three'])] });
    expect(arbitrate(table, msg, ctxFor('alice'))).toEqual({ message: msg, drops: [] });
    expect(entityIn(table, 'nid1')).toMatchObject({ owner: 'alice', lastOwnerTime: 1_000, lastTimestamp: 1_050, components: { 0: { p: 1 }, 3: 'three' } });
  });

  it('merges componentIds/data into the known components, skipping null and undefined data', () => {
    const table = tableWith(nnEntity('nid1', { owner: 'alice', lastOwnerTime: 10, components: { 0: 'a', 1: 'b', 2: 'c' } }));
    arbitrate(table, nn({ updates: [nnUpdate('nid1', 'alice', 10, [0, 1, 5], ['A', null])] }), ctxFor('alice'));
    expect(entityIn(table, 'nid1').components).toEqual({ 0: 'A', 1: 'b', 2: 'c' });
  });

  it('merges the storable form, data keyed by component name', () => {
    const table = tableWith(nnEntity('nid1', { owner: 'alice', lastOwnerTime: 10, components: { 'networked-transform': 'old' } }));
    const update: Payload = { nid: 'nid1', lastOwnerTime: 10, timestamp: 20, owner: 'alice', data: { 'networked-transform': 'new', 'media-frame': null } };
    arbitrate(table, nn({ updates: [update] }), ctxFor('alice'));
    expect(entityIn(table, 'nid1').components).toEqual({ 'networked-transform': 'new' });
  });

  it('keeps lastTimestamp when the update has no numeric timestamp', () => {
    const table = tableWith(nnEntity('nid1', { owner: 'alice', lastOwnerTime: 10, lastTimestamp: 77 }));
    arbitrate(table, nn({ updates: [{ nid: 'nid1', owner: 'alice', lastOwnerTime: 10, timestamp: 'soon' }] }), ctxFor('alice'));
    expect(entityIn(table, 'nid1').lastTimestamp).toBe(77);
  });

  it('drops an update whose owner is not the sender', () => {
    const table = tableWith(nnEntity('nid1'));
    expectCut(arbitrate(table, nn({ updates: [nnUpdate('nid1', 'bob', 1_000, [0], ['x'])] }), ctxFor('alice')), ['not_owner']);
    expect(entityIn(table, 'nid1')).toMatchObject({ owner: NN_SERVER_OWNER, lastOwnerTime: 0, components: {} });
  });

  it.each([
    ['an older time', 'carol', 1_999, false],
    ['a newer time', 'carol', 2_001, true],
    ['an equal time and a smaller id', 'alice', 2_000, true],
    ['an equal time and a greater id', 'carol', 2_000, false],
    ['an equal time from the owner', 'bob', 2_000, true],
  ])('judges %s with nnAccepts (accepted: %s)', (_name, owner, time, accepted) => {
    const table = tableWith(nnEntity('nid1', { owner: 'bob', lastOwnerTime: 2_000 }));
    const result = arbitrate(table, nn({ updates: [nnUpdate('nid1', owner, time)] }), ctxFor(owner));
    expect(result.drops).toEqual(accepted ? [] : ['outdated']);
    expect(entityIn(table, 'nid1').owner).toBe(accepted ? owner : 'bob');
  });

  it('lets anyone take an entity from reticulum at an equal time, and reticulum never wins a tie', () => {
    const table = tableWith(nnEntity('nid1'));
    expect(arbitrate(table, nn({ updates: [nnUpdate('nid1', 'zzz', 0)] }), ctxFor('zzz')).drops).toEqual([]);
    expect(entityIn(table, 'nid1').owner).toBe('zzz');
    expect(arbitrate(table, nn({ updates: [nnUpdate('nid1', NN_SERVER_OWNER, 0)] }), ctxFor(NN_SERVER_OWNER)).drops).toEqual(['outdated']);
  });

  it('relays updates for unknown nids untouched', () => {
    const msg = nn({ updates: [nnUpdate('ghost', 'bob', 5)] });
    const table = new EntityTable();
    expect(arbitrate(table, msg, ctxFor('alice')).message).toBe(msg);
    expect(table.size).toBe(0);
  });

  it.each([
    ['no nid', { owner: 'alice', lastOwnerTime: 1 }],
    ['no owner', { nid: 'nid1', lastOwnerTime: 1 }],
    ['a string lastOwnerTime', { nid: 'nid1', owner: 'alice', lastOwnerTime: '1' }],
  ])('drops an update with %s as invalid', (_name, update) => {
    const table = tableWith(nnEntity('nid1'));
    expectCut(arbitrate(table, nn({ updates: [update] }), ctxFor('alice')), ['invalid']);
  });

  it('drops an nn update about a NAF entity as invalid', () => {
    const table = tableWith(makeEntity({ networkId: 'e1' }));
    expect(arbitrate(table, nn({ updates: [nnUpdate('e1', 'alice', 5)] }), ctxFor('alice')).drops).toEqual(['invalid']);
  });

  it.each([['the creator', 'alice'], ['the owner', 'bob']])('removes on a delete by %s', (_who, sender) => {
    const table = tableWith(nnEntity('nid1', { creator: 'alice', owner: 'bob', lastOwnerTime: 5 }));
    const msg = nn({ deletes: ['nid1'] });
    expect(arbitrate(table, msg, ctxFor(sender)).message).toBe(msg);
    expect(table.get('nid1')).toBeUndefined();
    expect(table.countBy('alice')).toBe(0);
  });

  it('drops a delete by anyone else, and asks to restore the entity at the sender', () => {
    const table = tableWith(nnEntity('nid1', { creator: 'alice', owner: 'bob', lastOwnerTime: 5 }));
    const result = arbitrate(table, nn({ deletes: ['nid1'] }), ctxFor('mallory'));
    expectCut(result, ['not_owner']);
    expect(result.restore).toEqual(['nid1']);
    expect(table.get('nid1')).toBeDefined();
  });

  it('asks to restore only refused deletes, not refused updates', () => {
    const table = tableWith(nnEntity('nid1', { creator: 'alice', owner: 'bob', lastOwnerTime: 5 }), nnEntity('nid2', { creator: 'bob', owner: 'bob', lastOwnerTime: 5 }));
    const result = arbitrate(table, nn({ updates: [nnUpdate('nid2', 'bob', 5)], deletes: ['nid1'] }), ctxFor('mallory'));
    expect(result.drops).toEqual(['not_owner', 'not_owner']);
    expect(result.restore).toEqual(['nid1']);
  });

  it('relays deletes of unknown nids, and drops non-id deletes as invalid', () => {
    const table = new EntityTable();
    const msg = nn({ deletes: ['ghost'] });
    expect(arbitrate(table, msg, ctxFor('alice')).message).toBe(msg);
    expectCut(arbitrate(table, nn({ deletes: [42] }), ctxFor('alice')), ['invalid']);
  });

  it('rebuilds a message with the kept items of each part, keeping other fields', () => {
    const table = tableWith(nnEntity('mine', { owner: 'alice', lastOwnerTime: 10 }), nnEntity('theirs', { creator: 'bob', owner: 'bob', lastOwnerTime: 10 }));
    const create = nnCreate('fresh');
    const goodUpdate = nnUpdate('mine', 'alice', 10, [1], ['x']);
    const badUpdate = nnUpdate('theirs', 'bob', 10, [1], ['y']);
    const msg: Payload = { dataType: 'nn', clientId: 'carol', data: { creates: [create], updates: [badUpdate, goodUpdate], deletes: ['theirs'], extra: 1 } };
    const result = arbitrate(table, msg, ctxFor('alice'));
    expect(result.message).toEqual({ dataType: 'nn', clientId: 'carol', data: { creates: [create], updates: [goodUpdate], deletes: [], extra: 1 } });
    expect(result.drops).toEqual(['not_owner', 'not_owner']);
    expect(table.get('fresh')).toBeDefined();
    expect(table.get('theirs')).toBeDefined();
    // The input is left as it came.
    expect((msg['data'] as Payload)['updates']).toEqual([badUpdate, goodUpdate]);
    expect((msg['data'] as Payload)['deletes']).toEqual(['theirs']);
  });

  it('returns null when every part ends empty after cutting', () => {
    const table = tableWith(nnEntity('theirs', { creator: 'bob', owner: 'bob', lastOwnerTime: 10 }));
    const msg = nn({ creates: [], updates: [nnUpdate('theirs', 'bob', 10)], deletes: ['theirs'] });
    expectCut(arbitrate(table, msg, ctxFor('alice')), ['not_owner', 'not_owner']);
  });

  it('relays a message with only empty parts untouched', () => {
    const msg = nn({ creates: [], updates: [], deletes: [] });
    expect(arbitrate(new EntityTable(), msg, ctxFor('alice')).message).toBe(msg);
  });

  it.each([
    ['data that is not an object', { dataType: 'nn', data: 'x' }],
    ['a part that is not an array', nn({ updates: 'x' })],
  ])('drops a message with %s as invalid', (_name, msg) => {
    expectCut(arbitrate(new EntityTable(), msg, ctxFor('alice')), ['invalid']);
  });
});

// --- removed ids ---------------------------------------------------------------

describe('arbitrate: messages about removed entities', () => {
  const removedNaf = (): EntityTable => {
    const table = new EntityTable();
    arbitrate(table, firstSync('e1', 'alice'), ctxFor('alice'));
    arbitrate(table, remove('e1'), ctxFor('alice'));
    return table;
  };

  it('drops a first sync that would bring a removed entity back', () => {
    const table = removedNaf();
    expectCut(arbitrate(table, firstSync('e1', 'bob'), ctxFor('bob')), ['removed']);
    expect(table.get('e1')).toBeUndefined();
  });

  it('drops u and um entries about a removed entity', () => {
    const table = removedNaf();
    expectCut(arbitrate(table, fullSync('e1', 'alice', 9_000), ctxFor('alice')), ['removed']);
    const kept = entry('other', 'alice', 1);
    const result = arbitrate(table, um(entry('e1', 'alice', 9_000), kept), ctxFor('alice'));
    expect(result.message).toEqual(um(kept));
    expect(result.drops).toEqual(['removed']);
  });

  it('relays a second r of a removed entity, without echo', () => {
    const table = removedNaf();
    const msg = remove('e1');
    const result = arbitrate(table, msg, ctxFor('alice'));
    expect(result.message).toBe(msg);
    expect(result.drops).toEqual([]);
    expect(result.isEcho).toBe(false);
  });

  it('drops nn creates and updates of a deleted nid', () => {
    const table = new EntityTable();
    arbitrate(table, nn({ creates: [nnCreate('nid1')] }), ctxFor('alice'));
    arbitrate(table, nn({ deletes: ['nid1'] }), ctxFor('alice'));
    expectCut(arbitrate(table, nn({ creates: [nnCreate('nid1')] }), ctxFor('alice')), ['removed']);
    expectCut(arbitrate(table, nn({ updates: [nnUpdate('nid1', 'alice', 5)] }), ctxFor('alice')), ['removed']);
    expect(table.get('nid1')).toBeUndefined();
  });

  it('still relays messages about ids it never saw', () => {
    const table = removedNaf();
    const msg = fullSync('never-seen', 'bob', 1);
    expect(arbitrate(table, msg, ctxFor('bob')).message).toBe(msg);
  });
});

// --- first syncs as claimed -------------------------------------------------------

describe('arbitrate u with the claimed (pre-rewrite) first sync', () => {
  /** What Reticulum's rules make of bob's first sync of an entity: owner and creator rewritten to bob. */
  const rewritten = (claimed: Payload, sender: string): Payload => ({
    ...claimed,
    data: { ...(claimed['data'] as Payload), owner: sender, creator: sender },
    from_session_id: sender,
  });

  it('judges a first sync of an existing entity by the owner it names, and relays it with the known creator', () => {
    const table = tableWith(makeEntity({ networkId: 'e1', creator: 'alice', owner: 'bob', lastOwnerTime: 5_000 }));
    const claimed = firstSync('e1', 'bob', { creator: 'alice', lastOwnerTime: 5_000, components: { 0: 'resent' } });
    const result = arbitrate(table, rewritten(claimed, 'bob'), ctxFor('bob', { present: ['alice', 'bob'] }), claimed);
    expect(result.drops).toEqual([]);
    expect(result.message).toEqual({ ...rewritten(claimed, 'bob'), data: { ...(claimed['data'] as Payload), creator: 'alice' } });
    expect(entityIn(table, 'e1')).toMatchObject({ owner: 'bob', creator: 'alice', lastOwnerTime: 5_000, components: { 0: 'resent' } });
  });

  it('lets the creator resend for an absent owner (NAF canSync)', () => {
    const table = tableWith(makeEntity({ networkId: 'e1', creator: 'alice', owner: 'bob', lastOwnerTime: 5_000 }));
    const claimed = firstSync('e1', 'bob', { creator: 'alice', lastOwnerTime: 5_000 });
    const result = arbitrate(table, rewritten(claimed, 'alice'), ctxFor('alice', { present: ['alice'] }), claimed);
    expect(result.drops).toEqual([]);
    expect((result.message!['data'] as Payload)['owner']).toBe('bob');
    expect(entityIn(table, 'e1').owner).toBe('bob');
  });

  it('drops a resent first sync naming an owner other than the sender', () => {
    const table = tableWith(makeEntity({ networkId: 'e1', creator: 'alice', owner: 'bob', lastOwnerTime: 5_000 }));
    const claimed = firstSync('e1', 'bob', { creator: 'alice', lastOwnerTime: 5_000 });
    expectCut(arbitrate(table, rewritten(claimed, 'carol'), ctxFor('carol', { present: ['alice', 'bob', 'carol'] }), claimed), ['not_owner']);
    expect(entityIn(table, 'e1').owner).toBe('bob');
  });

  it('drops a resent first sync with an outdated claim', () => {
    const table = tableWith(makeEntity({ networkId: 'e1', creator: 'alice', owner: 'bob', lastOwnerTime: 5_000 }));
    const claimed = firstSync('e1', 'alice', { lastOwnerTime: 4_000 });
    expectCut(arbitrate(table, rewritten(claimed, 'alice'), ctxFor('alice', { present: ['alice', 'bob'] }), claimed), ['outdated']);
  });

  it('creates an unknown entity from the rewritten message, not the claimed one', () => {
    const table = new EntityTable();
    const claimed = firstSync('e1', 'mallory', { creator: 'victim' });
    const msg = rewritten(claimed, 'alice');
    const result = arbitrate(table, msg, ctxFor('alice'), claimed);
    expect(result.message).toBe(msg);
    expect(entityIn(table, 'e1')).toMatchObject({ owner: 'alice', creator: 'alice' });
  });
});

// --- other types -------------------------------------------------------------

describe('arbitrate other dataTypes', () => {
  it.each([['drawing-abc'], ['custom'], [undefined], [42]])('relays %j untouched', (dataType) => {
    const table = tableWith(makeEntity({ networkId: 'e1' }));
    const msg: Payload = { dataType, data: { networkId: 'e1', owner: 'mallory', lastOwnerTime: 1e15 } };
    const result = arbitrate(table, msg, ctxFor('mallory'));
    expect(result.message).toBe(msg);
    expect(result.drops).toEqual([]);
    expect(entityIn(table, 'e1').owner).toBe('alice');
  });
});

// --- regressions -------------------------------------------------------------

describe('arbitrate: regressions', () => {
  it('lets a creator that reconnects with its session id bring back what leaving removed, and nobody else', () => {
    const table = new EntityTable();
    const avatar = firstSync('av1', 'alice', { template: '#remote-avatar', persistent: false });
    expect(arbitrate(table, avatar, ctxFor('alice')).message).toBe(avatar);
    resolveLeave(table, 'alice', ['bob'], 1000, 2000);
    expect(table.get('av1')).toBeUndefined();
    expectCut(arbitrate(table, firstSync('av1', 'bob', { template: '#remote-avatar', persistent: false }), ctxFor('bob')), ['removed']);
    expect(arbitrate(table, avatar, ctxFor('alice')).message).toBe(avatar);
    expect(table.get('av1')?.owner).toBe('alice');
  });

  it('keeps an entity removed by r removed, even for its creator', () => {
    const table = tableWith(makeEntity({ networkId: 'e1' }));
    expect(arbitrate(table, remove('e1'), ctxFor('alice')).message).not.toBeNull();
    expectCut(arbitrate(table, firstSync('e1', 'alice'), ctxFor('alice')), ['removed']);
  });

  it('counts entities against the sender, whatever creator a persistent first sync names', () => {
    const table = new EntityTable();
    const ctx = ctxFor('mallory', { max: 2 });
    for (const id of ['p1', 'p2']) arbitrate(table, firstSync(id, 'victim', { creator: 'victim', persistent: true }), ctx);
    expect(table.countBy('mallory')).toBe(2);
    expect(table.countBy('victim')).toBe(0);
    expectCut(arbitrate(table, firstSync('p3', 'fake', { creator: 'fake', persistent: true }), ctx), ['entity_limit']);
    expect(arbitrate(table, firstSync('v1', 'victim', { persistent: false }), ctxFor('victim', { max: 2 })).drops).toEqual([]);
  });

  it('does not let r remove a bitECS entity, nor an nn delete a NAF entity', () => {
    const table = tableWith(makeEntity({ networkId: 'naf1' }), nnEntity('nn1', { creator: 'alice', owner: 'alice' }));
    expectCut(arbitrate(table, remove('nn1'), ctxFor('alice')), ['invalid']);
    expectCut(arbitrate(table, nn({ deletes: ['naf1'] }), ctxFor('alice')), ['invalid']);
    expect(table.get('nn1')).toBeDefined();
    expect(table.get('naf1')).toBeDefined();
  });

  it('leaves the table untouched when an nn message is refused whole for its shape', () => {
    const table = new EntityTable();
    expectCut(arbitrate(table, nn({ creates: [nnCreate('n1')], deletes: 'x' }), ctxFor('alice')), ['invalid']);
    expect(table.get('n1')).toBeUndefined();
  });
});
