import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { EntityTable, nafAccepts, NN_SERVER_OWNER, type Entity, type OwnerClaim } from '../../src/core/entities.js';
import { resolveLeave, snapshotMessages, UNCLAIMED_OWNER, type EntityMessage } from '../../src/core/entity-lifecycle.js';
import type { Payload } from '../../src/protocol/frames.js';
import { entityIn, makeEntity, tableWith } from '../support/builders.js';

// --- helpers ---------------------------------------------------------------


const presentAmong =
  (...ids: string[]) =>
  (s: string): boolean =>
    ids.includes(s);

function nnEntity(networkId: string, overrides: Partial<Entity> = {}): Entity {
  return makeEntity({
    networkId,
    protocol: 'nn',
    owner: NN_SERVER_OWNER,
    creator: 'alice',
    lastOwnerTime: 0,
    template: 'media',
    createMessage: { version: 1, networkId, prefabName: 'media', initialData: {} },
    ...overrides,
  });
}

const dataOf = (m: EntityMessage): Payload => m.message['data'] as Payload;
const handoverEntries = (m: EntityMessage): Payload[] => dataOf(m)['d'] as Payload[];
const nafIds = (out: EntityMessage[]): unknown[] => out.filter((m) => m.message['dataType'] === 'u').map((m) => dataOf(m)['networkId']);

const NOW = 1_700_000_000_000;
const LEAD = 2_000;

// --- snapshotMessages --------------------------------------------------------

describe('snapshotMessages', () => {
  it('is empty for an empty table', () => {
    expect(snapshotMessages(new EntityTable(), () => true)).toEqual([]);
  });

  it('sends an entity whose owner never changed as one first-sync u with its full state', () => {
    const table = tableWith(
      makeEntity({
        networkId: 'e1',
        owner: 'bob',
        creator: 'alice',
        lastOwnerTime: -1,
        template: '#interactable-camera',
        persistent: true,
        parent: null,
        components: { 0: { x: 1 }, 3: 'three' },
      }),
    );
    expect(snapshotMessages(table, presentAmong('bob'))).toEqual([
      {
        from: 'bob',
        message: {
          dataType: 'u',
          data: {
            networkId: 'e1',
            owner: 'bob',
            creator: 'alice',
            lastOwnerTime: -1,
            template: '#interactable-camera',
            persistent: true,
            parent: null,
            components: { 0: { x: 1 }, 3: 'three' },
            isFirstSync: true,
          },
        },
      },
    ]);
  });

  it('sends an entity whose owner changed as an unclaimed first sync, then a u naming the real owner and time', () => {
    const table = tableWith(
      makeEntity({ networkId: 'e1', owner: 'bob', creator: 'alice', lastOwnerTime: 5_000, persistent: false, parent: 'p', components: { 0: { x: 1 } } }),
    );
    expect(snapshotMessages(table, presentAmong('bob'))).toEqual([
      {
        from: 'bob',
        message: {
          dataType: 'u',
          data: {
            networkId: 'e1',
            owner: UNCLAIMED_OWNER,
            creator: 'alice',
            lastOwnerTime: -1,
            template: '#interactable-media',
            persistent: false,
            parent: 'p',
            components: { 0: { x: 1 } },
            isFirstSync: true,
          },
        },
      },
      {
        from: 'bob',
        message: {
          dataType: 'u',
          data: { networkId: 'e1', owner: 'bob', creator: 'alice', lastOwnerTime: 5_000, template: '#interactable-media', persistent: false, parent: 'p', components: {} },
        },
      },
    ]);
  });

  it('sends an entity held by the unclaimed owner as one first sync', () => {
    const table = tableWith(makeEntity({ networkId: 'e1', owner: UNCLAIMED_OWNER, lastOwnerTime: 7 }));
    const out = snapshotMessages(table, () => true);
    expect(out).toHaveLength(1);
    expect(dataOf(out[0]!)).toMatchObject({ owner: UNCLAIMED_OWNER, lastOwnerTime: 7, isFirstSync: true });
  });

  it('brings a newcomer to the room owner and lastOwnerTime under the NAF rule', () => {
    // A receiving client creates the entity at -1 with the first sync's owner, then applies networkUpdate (parity 3.3).
    const table = tableWith(makeEntity({ networkId: 'e1', owner: 'bob', lastOwnerTime: 5_000 }));
    const [first, second] = snapshotMessages(table, () => true);
    let local = { owner: dataOf(first!)['owner'] as string, lastOwnerTime: -1 };
    const claim = { owner: dataOf(second!)['owner'] as string, lastOwnerTime: dataOf(second!)['lastOwnerTime'] as number };
    if (nafAccepts(local, claim) && claim.owner !== local.owner) local = claim;
    expect(local).toEqual({ owner: 'bob', lastOwnerTime: 5_000 });
  });

  it('sends only the entities named in `only`, skipping unknown ids', () => {
    const table = tableWith(makeEntity({ networkId: 'e1' }), makeEntity({ networkId: 'e2' }), nnEntity('n1'), nnEntity('n2'));
    const out = snapshotMessages(table, () => true, ['e2', 'ghost', 'n2']);
    expect(nafIds(out)).toEqual(['e2']);
    const nnOut = out.filter((m) => m.message['dataType'] === 'nn');
    expect(nnOut).toHaveLength(1);
    expect(dataOf(nnOut[0]!)['creates']).toEqual([entityIn(table, 'n2').createMessage]);
    expect(snapshotMessages(table, () => true, [])).toEqual([]);
  });

  it('copies the components, so a later change of the table does not leak into sent messages', () => {
    const entity = makeEntity({ networkId: 'e1', components: { 0: 'a' } });
    const [out] = snapshotMessages(tableWith(entity), () => true);
    const sent = dataOf(out!)['components'];
    expect(sent).not.toBe(entity.components);
    entity.components['0'] = 'b';
    expect(sent).toEqual({ 0: 'a' });
  });

  it('claims each message from the owner when present, else from the creator', () => {
    const table = tableWith(makeEntity({ networkId: 'here', owner: 'bob', creator: 'alice' }), makeEntity({ networkId: 'gone', owner: 'zed', creator: 'alice' }));
    const out = snapshotMessages(table, presentAmong('alice', 'bob'));
    expect(out.map((m) => [dataOf(m)['networkId'], m.from])).toEqual([
      ['here', 'bob'],
      ['gone', 'alice'],
    ]);
  });

  it('sends parents before their children, whatever the table order', () => {
    const table = tableWith(
      makeEntity({ networkId: 'grandchild', parent: 'child' }),
      makeEntity({ networkId: 'child', parent: 'root' }),
      makeEntity({ networkId: 'orphan', parent: 'not-in-table' }),
      makeEntity({ networkId: 'root' }),
    );
    const ids = nafIds(snapshotMessages(table, () => true));
    expect(ids).toHaveLength(4);
    expect(ids.indexOf('root')).toBeLessThan(ids.indexOf('child'));
    expect(ids.indexOf('child')).toBeLessThan(ids.indexOf('grandchild'));
  });

  it('sends parents before children for any forest', () => {
    // Entity i may have a parent among 0..i-1; the table is filled in a shuffled order.
    const forestArb = fc
      .array(fc.nat(), { minLength: 1, maxLength: 12 })
      .map((picks) => picks.map((p, i) => ({ id: `n${i}`, parent: i === 0 || p % 3 === 0 ? null : `n${p % i}` })));
    fc.assert(
      fc.property(forestArb.chain((nodes) => fc.shuffledSubarray(nodes, { minLength: nodes.length })), (nodes) => {
        const table = tableWith(...nodes.map((n) => makeEntity({ networkId: n.id, parent: n.parent })));
        const ids = nafIds(snapshotMessages(table, () => true));
        expect(ids).toHaveLength(nodes.length);
        for (const n of nodes) if (n.parent !== null) expect(ids.indexOf(n.parent)).toBeLessThan(ids.indexOf(n.id));
      }),
    );
  });

  it('terminates on a parent cycle and still sends every entity', () => {
    const table = tableWith(makeEntity({ networkId: 'a', parent: 'b' }), makeEntity({ networkId: 'b', parent: 'a' }), makeEntity({ networkId: 'self', parent: 'self' }));
    expect(nafIds(snapshotMessages(table, () => true)).sort()).toEqual(['a', 'b', 'self']);
  });

  it('sends one nn message per creator, with its stored creates and full updates of claimed entities', () => {
    const a1 = nnEntity('a1', { owner: 'bob', lastOwnerTime: 3_000, lastTimestamp: 3_500, components: { 0: 'zero', 7: { y: 2 } } });
    const a2 = nnEntity('a2');
    const b1 = nnEntity('b1', { creator: 'bob', owner: 'bob', lastOwnerTime: 10, lastTimestamp: 20, components: { 'networked-transform': 't' } });
    const table = tableWith(a1, b1, a2);
    const out = snapshotMessages(table, () => true);
    expect(out).toEqual([
      {
        from: 'alice',
        message: {
          dataType: 'nn',
          data: {
            creates: [a1.createMessage, a2.createMessage],
            updates: [{ nid: 'a1', lastOwnerTime: 3_000, timestamp: 3_500, owner: 'bob', componentIds: [0, 7], data: ['zero', { y: 2 }] }],
            deletes: [],
          },
        },
      },
      {
        from: 'bob',
        message: {
          dataType: 'nn',
          data: {
            creates: [b1.createMessage],
            updates: [{ nid: 'b1', lastOwnerTime: 10, timestamp: 20, owner: 'bob', componentIds: ['networked-transform'], data: ['t'] }],
            deletes: [],
          },
        },
      },
    ]);
    const creates = dataOf(out[0]!)['creates'] as unknown[];
    expect(creates[0]).toBe(a1.createMessage);
    expect(creates[1]).toBe(a2.createMessage);
  });

  it('sends nn messages from the creator even when the creator is absent', () => {
    const table = tableWith(nnEntity('a1', { owner: 'bob', lastOwnerTime: 1 }));
    expect(snapshotMessages(table, presentAmong('bob')).map((m) => m.from)).toEqual(['alice']);
  });

  it('leaves out creates that were never stored, and updates of entities still owned by reticulum', () => {
    const table = tableWith(nnEntity('a1', { createMessage: null }));
    expect(snapshotMessages(table, () => true)).toEqual([{ from: 'alice', message: { dataType: 'nn', data: { creates: [], updates: [], deletes: [] } } }]);
  });

  it('sends NAF first syncs before nn messages', () => {
    const table = tableWith(nnEntity('n1'), makeEntity({ networkId: 'e1' }));
    expect(snapshotMessages(table, () => true).map((m) => m.message['dataType'])).toEqual(['u', 'nn']);
  });

  it('does not change the table', () => {
    const entities = [makeEntity({ networkId: 'e1', parent: 'e2' }), makeEntity({ networkId: 'e2' }), nnEntity('n1', { owner: 'bob', lastOwnerTime: 1 })];
    const table = tableWith(...entities);
    const before = structuredClone([...table.values()]);
    snapshotMessages(table, () => false);
    expect([...table.values()]).toEqual(before);
    expect(table.size).toBe(3);
  });
});

// --- resolveLeave ------------------------------------------------------------

describe('resolveLeave (parity 3.5, 3.8, 3.9)', () => {
  it('removes the non-persistent NAF entities the leaver created, as r from the leaver', () => {
    const table = tableWith(
      makeEntity({ networkId: 'media', creator: 'alice', owner: 'alice' }),
      makeEntity({ networkId: 'avatar', creator: 'alice', owner: 'alice', template: '#remote-avatar' }),
      makeEntity({ networkId: 'lent', creator: 'alice', owner: 'bob' }),
      makeEntity({ networkId: 'bobs', creator: 'bob', owner: 'bob' }),
    );
    const { removals, handovers } = resolveLeave(table, 'alice', ['bob'], NOW, LEAD);
    expect(removals).toEqual([
      { from: 'alice', message: { dataType: 'r', data: { networkId: 'media', template: '#interactable-media' } } },
      { from: 'alice', message: { dataType: 'r', data: { networkId: 'avatar', template: '#remote-avatar' } } },
      { from: 'alice', message: { dataType: 'r', data: { networkId: 'lent', template: '#interactable-media' } } },
    ]);
    expect(handovers).toEqual([]);
    expect([...table.values()].map((e) => e.networkId)).toEqual(['bobs']);
    expect(table.countBy('alice')).toBe(0);
  });

  it('removes the leaver non-persistent entities even when nobody remains', () => {
    const table = tableWith(makeEntity({ networkId: 'media', creator: 'alice' }));
    expect(resolveLeave(table, 'alice', [], NOW, LEAD).removals).toHaveLength(1);
    expect(table.size).toBe(0);
  });

  it('hands persistent NAF entities the leaver owned to the greatest remaining id: unclaimed ahead of now, then claimed', () => {
    const table = tableWith(
      makeEntity({ networkId: 'pinned', creator: 'alice', owner: 'alice', persistent: true, lastOwnerTime: 5_000, parent: 'root', components: { 0: 'x' } }),
      makeEntity({ networkId: 'scene', creator: 'scene', owner: 'alice', persistent: true, lastOwnerTime: -1 }),
    );
    const { removals, handovers } = resolveLeave(table, 'alice', ['bob', 'dave', 'carol', 'Zed'], NOW, LEAD);
    expect(removals).toEqual([]);
    const base = { networkId: 'pinned', creator: 'alice', template: '#interactable-media', persistent: true, parent: 'root' };
    expect(handovers).toEqual([
      {
        from: 'dave',
        message: {
          dataType: 'um',
          data: {
            d: [
              { ...base, owner: UNCLAIMED_OWNER, lastOwnerTime: NOW + LEAD, components: {} },
              { ...base, owner: 'dave', lastOwnerTime: NOW + LEAD + 1, components: { 0: 'x' } },
            ],
          },
        },
      },
      expect.objectContaining({ from: 'dave' }),
    ]);
    for (const h of handovers) for (const e of handoverEntries(h)) expect(e).not.toHaveProperty('isFirstSync');
    expect(entityIn(table, 'pinned')).toMatchObject({ owner: 'dave', lastOwnerTime: NOW + LEAD + 1 });
    expect(entityIn(table, 'scene')).toMatchObject({ owner: 'dave', lastOwnerTime: NOW + LEAD + 1 });
  });

  it('unclaims at the old lastOwnerTime + 1 when that is later than now + lead', () => {
    const later = NOW + 60_000;
    const table = tableWith(makeEntity({ networkId: 'pinned', owner: 'alice', persistent: true, lastOwnerTime: later }));
    const { handovers } = resolveLeave(table, 'alice', ['bob'], NOW, LEAD);
    expect(handoverEntries(handovers[0]!).map((e) => [e['owner'], e['lastOwnerTime']])).toEqual([
      [UNCLAIMED_OWNER, later + 1],
      ['bob', later + 2],
    ]);
    expect(entityIn(table, 'pinned').lastOwnerTime).toBe(later + 2);
  });

  it('makes every client, whatever it last recorded, end at the heir with the new time', () => {
    // Any state a client may hold, up to now + lead: the two entries win in turn under the NAF rule (parity 3.3).
    const table = tableWith(makeEntity({ networkId: 'pinned', owner: 'alice', persistent: true, lastOwnerTime: 5_000 }));
    const [unclaimed, claimed] = handoverEntries(resolveLeave(table, 'alice', ['bob', 'carol'], NOW, LEAD).handovers[0]!);
    fc.assert(
      fc.property(fc.constantFrom('alice', 'bob', 'carol', UNCLAIMED_OWNER), fc.integer({ min: -1, max: NOW + LEAD - 1 }), (owner, lastOwnerTime) => {
        let local: OwnerClaim = { owner, lastOwnerTime };
        for (const e of [unclaimed!, claimed!]) {
          const msg = { owner: e['owner'] as string, lastOwnerTime: e['lastOwnerTime'] as number };
          expect(nafAccepts(local, msg)).toBe(true);
          if (msg.owner !== local.owner) local = msg;
        }
        expect(local).toEqual({ owner: 'carol', lastOwnerTime: NOW + LEAD + 1 });
      }),
    );
  });

  it('picks the heir by JS string order', () => {
    const table = tableWith(makeEntity({ networkId: 'p', owner: 'alice', persistent: true }));
    // 'a' > 'Z' and '9' > '10' by code unit.
    expect(resolveLeave(table, 'alice', ['Z', 'a', '10', '9'], NOW, LEAD).handovers[0]!.from).toBe('a');
  });

  it('leaves entities someone else created and the leaver owns, when not persistent', () => {
    const entity = makeEntity({ networkId: 'borrowed', creator: 'bob', owner: 'alice', lastOwnerTime: 5_000, components: { 0: 'x' } });
    const table = tableWith(entity);
    const before = structuredClone(entity);
    expect(resolveLeave(table, 'alice', ['bob', 'carol'], NOW, LEAD)).toEqual({ removals: [], handovers: [] });
    expect(table.get('borrowed')).toBe(entity);
    expect(entity).toEqual(before);
  });

  it('hands nothing over when nobody remains', () => {
    const entity = makeEntity({ networkId: 'pinned', owner: 'alice', persistent: true, lastOwnerTime: 5_000 });
    const table = tableWith(entity);
    expect(resolveLeave(table, 'alice', [], NOW, LEAD)).toEqual({ removals: [], handovers: [] });
    expect(entity).toMatchObject({ owner: 'alice', lastOwnerTime: 5_000 });
  });

  it('never picks the leaver, even when it is listed as remaining', () => {
    const table = tableWith(makeEntity({ networkId: 'pinned', owner: 'zzz', creator: 'zzz', persistent: true }), nnEntity('n1', { creator: 'bob', owner: 'aaa', lastOwnerTime: 4, lastTimestamp: 9 }));
    const naf = resolveLeave(table, 'zzz', ['zzz', 'bob'], NOW, LEAD);
    expect(naf.handovers.map((h) => h.from)).toEqual(['bob']);
    expect(entityIn(table, 'pinned').owner).toBe('bob');

    resolveLeave(table, 'aaa', ['aaa', 'carol'], NOW, LEAD);
    expect(entityIn(table, 'n1').owner).toBe('carol');
  });

  it('hands nothing over when only the leaver is listed', () => {
    const table = tableWith(makeEntity({ networkId: 'pinned', owner: 'alice', persistent: true }));
    expect(resolveLeave(table, 'alice', ['alice'], NOW, LEAD).handovers).toEqual([]);
    expect(entityIn(table, 'pinned').owner).toBe('alice');
  });

  it('deletes the nn entities the leaver created, without a message', () => {
    const table = tableWith(nnEntity('a1'), nnEntity('a2', { owner: 'bob', lastOwnerTime: 5 }), nnEntity('b1', { creator: 'bob' }));
    expect(resolveLeave(table, 'alice', ['bob'], NOW, LEAD)).toEqual({ removals: [], handovers: [] });
    expect([...table.values()].map((e) => e.networkId)).toEqual(['b1']);
    expect(table.countBy('alice')).toBe(0);
  });

  it('hands nn entities the leaver owned to the smallest remaining id at lastTimestamp + 1, without a message', () => {
    const table = tableWith(nnEntity('b1', { creator: 'bob', owner: 'alice', lastOwnerTime: 100, lastTimestamp: 4_321 }));
    expect(resolveLeave(table, 'alice', ['dave', 'carol', 'bob'], NOW, LEAD)).toEqual({ removals: [], handovers: [] });
    expect(entityIn(table, 'b1')).toMatchObject({ owner: 'bob', lastOwnerTime: 4_322 });
  });

  it('never hands nn entities to reticulum', () => {
    const table = tableWith(nnEntity('b1', { creator: 'bob', owner: 'alice', lastOwnerTime: 1, lastTimestamp: 1 }));
    resolveLeave(table, 'alice', [NN_SERVER_OWNER, 'zed'], NOW, LEAD);
    expect(entityIn(table, 'b1').owner).toBe('zed');
  });

  it('leaves nn entities the leaver owned when nobody remains', () => {
    const table = tableWith(nnEntity('b1', { creator: 'bob', owner: 'alice', lastOwnerTime: 1, lastTimestamp: 7 }));
    resolveLeave(table, 'alice', [], NOW, LEAD);
    expect(entityIn(table, 'b1')).toMatchObject({ owner: 'alice', lastOwnerTime: 1 });
  });

  it('leaves everything of other sessions alone', () => {
    const others = [
      makeEntity({ networkId: 'e1', creator: 'bob', owner: 'carol', persistent: true, lastOwnerTime: 3 }),
      makeEntity({ networkId: 'e2', creator: 'bob', owner: 'bob' }),
      nnEntity('n1', { creator: 'carol', owner: 'bob', lastOwnerTime: 4, lastTimestamp: 8 }),
    ];
    const table = tableWith(...others);
    const before = structuredClone(others);
    expect(resolveLeave(table, 'alice', ['bob', 'carol'], NOW, LEAD)).toEqual({ removals: [], handovers: [] });
    expect([...table.values()]).toEqual(before);
  });

  it('leaves nothing of the leaver behind that clients would drop or take over', () => {
    const ids = ['alice', 'bob', 'carol'] as const;
    const entityArb = fc.record({
      protocol: fc.constantFrom('naf' as const, 'nn' as const),
      creator: fc.constantFrom(...ids),
      owner: fc.constantFrom(...ids, NN_SERVER_OWNER),
      persistent: fc.boolean(),
      lastOwnerTime: fc.integer({ min: -1, max: 10 }),
      lastTimestamp: fc.integer({ min: 0, max: 10 }),
    });
    fc.assert(
      fc.property(fc.array(entityArb, { maxLength: 12 }), fc.constantFrom(...ids), fc.subarray([...ids]), (specs, leaver, remaining) => {
        const table = tableWith(...specs.map((s, i) => makeEntity({ networkId: `e${i}`, ...s, persistent: s.protocol === 'naf' && s.persistent })));
        const nafBefore = specs.filter((s) => s.protocol === 'naf').length;
        const { removals, handovers } = resolveLeave(table, leaver, remaining, NOW, LEAD);
        const others = remaining.filter((s) => s !== leaver);
        const after = [...table.values()];
        expect(after.filter((e) => e.protocol === 'nn' && e.creator === leaver)).toEqual([]);
        expect(after.filter((e) => e.protocol === 'naf' && e.creator === leaver && !e.persistent)).toEqual([]);
        expect(removals.length).toBe(nafBefore - after.filter((e) => e.protocol === 'naf').length);
        for (const r of removals) expect(r.from).toBe(leaver);
        if (others.length > 0) {
          expect(after.filter((e) => e.owner === leaver && (e.protocol === 'nn' || e.persistent))).toEqual([]);
          const heir = [...others].sort().at(-1);
          for (const h of handovers) expect(h.from).toBe(heir);
        } else {
          expect(handovers).toEqual([]);
        }
        for (const h of handovers) expect(entityIn(table, handoverEntries(h)[1]!['networkId'] as string).owner).toBe(h.from);
      }),
    );
  });
});
