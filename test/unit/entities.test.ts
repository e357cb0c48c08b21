import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { EntityTable, mergeComponents, nafAccepts, nnAccepts, nnTieWinner, NN_SERVER_OWNER, REMOVED_IDS_KEPT, type OwnerClaim } from '../../src/core/entities.js';
import { makeEntity } from '../support/builders.js';

const claim = (owner: string, lastOwnerTime: number): OwnerClaim => ({ owner, lastOwnerTime });

/** The NAF total order (parity 3.3): lastOwnerTime first, then the owner id as JS strings (code units). */
function compareNaf(a: OwnerClaim, b: OwnerClaim): number {
  if (a.lastOwnerTime !== b.lastOwnerTime) return a.lastOwnerTime < b.lastOwnerTime ? -1 : 1;
  if (a.owner === b.owner) return 0;
  return a.owner < b.owner ? -1 : 1;
}

const ownerArb = fc.string({ minLength: 1, maxLength: 6 });
// Few distinct times, so that ties are common.
const timeArb = fc.integer({ min: -1, max: 4 });
const claimArb = fc.record({ owner: ownerArb, lastOwnerTime: timeArb });

describe('nafAccepts (parity 3.3)', () => {
  it.each([
    ['a newer time from anyone', claim('zed', 10), claim('amy', 11), true],
    ['an older time, even from a greater id', claim('amy', 10), claim('zed', 9), false],
    ['an older time from the current owner', claim('amy', 10), claim('amy', 9), false],
    ['an equal time from a greater id', claim('bob', 10), claim('carol', 10), true],
    ['an equal time from a smaller id', claim('carol', 10), claim('bob', 10), false],
    ['an equal time from the current owner', claim('bob', 10), claim('bob', 10), true],
    ['any claim against a fresh entity at -1', claim('zzz', -1), claim('aaa', 0), true],
    ['an equal -1 time from a smaller id', claim('zzz', -1), claim('aaa', -1), false],
  ])('%s -> %s', (_name, local, msg, accepted) => {
    expect(nafAccepts(local, msg)).toBe(accepted);
  });

  it.each([
    // Upper case sorts before lower case by code unit.
    ['a', 'Z', false],
    ['Z', 'a', true],
    // Strings, not numbers: "10" < "9".
    ['9', '10', false],
    ['10', '9', true],
    // A prefix is smaller than its extensions.
    ['abc', 'ab', false],
    ['ab', 'abc', true],
    // Code units, not locale order: 'é' (U+00E9) is greater than 'f'.
    ['f', 'é', true],
    // Code units, not code points: a surrogate pair (0xD83D...) is smaller than U+FFFF.
    ['\uFFFF', '\u{1F600}', false],
  ])('on equal time, compares %j and %j as JS strings (accepted: %s)', (localOwner, msgOwner, accepted) => {
    expect(nafAccepts(claim(localOwner, 5), claim(msgOwner, 5))).toBe(accepted);
  });

  it('accepts exactly the claims that are not below the local one in the (time, id) order', () => {
    fc.assert(
      fc.property(claimArb, claimArb, (local, msg) => {
        expect(nafAccepts(local, msg)).toBe(compareNaf(msg, local) >= 0);
      }),
    );
  });

  it('of two different claims, exactly one accepts the other', () => {
    fc.assert(
      fc.property(claimArb, claimArb, (a, b) => {
        fc.pre(compareNaf(a, b) !== 0);
        expect(nafAccepts(a, b)).not.toBe(nafAccepts(b, a));
      }),
    );
  });

  it('is transitive', () => {
    fc.assert(
      fc.property(claimArb, claimArb, claimArb, (a, b, c) => {
        fc.pre(nafAccepts(a, b) && nafAccepts(b, c));
        expect(nafAccepts(a, c)).toBe(true);
      }),
    );
  });
});

describe('nnTieWinner (parity 3.8)', () => {
  it.each([
    ['alice', 'bob', 'alice'],
    ['bob', 'alice', 'alice'],
    ['Zed', 'amy', 'Zed'],
    ['10', '9', '10'],
    ['same', 'same', 'same'],
    [NN_SERVER_OWNER, 'zzz', 'zzz'],
    ['zzz', NN_SERVER_OWNER, 'zzz'],
    // 'a' < 'reticulum' < 'z', and reticulum still loses both ways.
    [NN_SERVER_OWNER, 'a', 'a'],
    [NN_SERVER_OWNER, NN_SERVER_OWNER, NN_SERVER_OWNER],
  ])('between %j and %j, %j wins', (a, b, winner) => {
    expect(nnTieWinner(a, b)).toBe(winner);
  });

  it('is the smaller id, whatever the argument order, and never reticulum against someone else', () => {
    const idArb = fc.oneof(ownerArb, fc.constant(NN_SERVER_OWNER));
    fc.assert(
      fc.property(idArb, idArb, (a, b) => {
        const winner = nnTieWinner(a, b);
        expect(nnTieWinner(b, a)).toBe(winner);
        expect([a, b]).toContain(winner);
        if (a !== NN_SERVER_OWNER && b !== NN_SERVER_OWNER) expect(winner).toBe(a < b ? a : b);
        if (a !== NN_SERVER_OWNER || b !== NN_SERVER_OWNER) expect(winner).not.toBe(NN_SERVER_OWNER);
      }),
    );
  });
});

describe('nnAccepts (parity 3.8)', () => {
  it.each([
    ['anything, when the local entity has no owner', claim('', 100), claim('zed', 1), true],
    ['an older time', claim('bob', 10), claim('alice', 9), false],
    ['a newer time, even from reticulum', claim('alice', 10), claim(NN_SERVER_OWNER, 11), true],
    ['an equal time from a smaller id', claim('bob', 10), claim('alice', 10), true],
    ['an equal time from a greater id', claim('bob', 10), claim('carol', 10), false],
    ['an equal time from the current owner', claim('bob', 10), claim('bob', 10), true],
    ['an equal time against reticulum', claim(NN_SERVER_OWNER, 0), claim('zzz', 0), true],
    ['an equal time from reticulum', claim('zzz', 0), claim(NN_SERVER_OWNER, 0), false],
  ])('%s -> %s', (_name, local, msg, accepted) => {
    expect(nnAccepts(local, msg)).toBe(accepted);
  });

  it('breaks ties the opposite way to NAF for two ordinary ids', () => {
    fc.assert(
      fc.property(ownerArb, ownerArb, timeArb, (a, b, t) => {
        fc.pre(a !== b && a !== NN_SERVER_OWNER && b !== NN_SERVER_OWNER);
        expect(nnAccepts(claim(a, t), claim(b, t))).toBe(!nafAccepts(claim(a, t), claim(b, t)));
      }),
    );
  });

  it('agrees with NAF when the times differ', () => {
    fc.assert(
      fc.property(ownerArb, ownerArb, timeArb, timeArb, (a, b, ta, tb) => {
        fc.pre(ta !== tb);
        expect(nnAccepts(claim(a, ta), claim(b, tb))).toBe(nafAccepts(claim(a, ta), claim(b, tb)));
      }),
    );
  });
});

describe('mergeComponents', () => {
  it('copies values into the target, overwriting, and keeps the keys it is not given', () => {
    const into: Record<string, unknown> = { 0: 'old', 5: 'kept' };
    mergeComponents(into, { 0: 'new', 1: { x: 1 } });
    expect(into).toEqual({ 0: 'new', 1: { x: 1 }, 5: 'kept' });
  });

  it('skips null and undefined values, as clients skip those indices', () => {
    const into: Record<string, unknown> = { 0: 'a', 1: 'b' };
    mergeComponents(into, { 0: null, 1: undefined, 2: 'c' });
    expect(into).toEqual({ 0: 'a', 1: 'b', 2: 'c' });
    expect(Object.keys(into)).toEqual(['0', '1', '2']);
  });

  it('keeps falsy values that are not null or undefined', () => {
    const into: Record<string, unknown> = { 0: 'x', 1: 'x', 2: 'x' };
    mergeComponents(into, { 0: 0, 1: false, 2: '' });
    expect(into).toEqual({ 0: 0, 1: false, 2: '' });
  });

  it('takes an array as index -> value, skipping nulls and holes', () => {
    const into: Record<string, unknown> = { 1: 'kept' };
    const sparse: unknown[] = ['zero', null, 'two'];
    sparse[5] = 'five';
    mergeComponents(into, sparse);
    expect(into).toEqual({ 0: 'zero', 1: 'kept', 2: 'two', 5: 'five' });
    expect(Object.keys(into)).toEqual(['0', '1', '2', '5']);
  });

  it.each([[null], [undefined], [42], ['text'], [true]])('ignores %j', (components) => {
    const into: Record<string, unknown> = { 0: 'a' };
    mergeComponents(into, components);
    expect(into).toEqual({ 0: 'a' });
  });

  it('leaves the source untouched', () => {
    const source = { 0: 'a', 1: null };
    mergeComponents({}, source);
    expect(source).toEqual({ 0: 'a', 1: null });
  });
});

describe('EntityTable', () => {
  it('starts empty', () => {
    const table = new EntityTable();
    expect(table.size).toBe(0);
    expect(table.get('x')).toBeUndefined();
    expect(table.countBy('alice')).toBe(0);
    expect([...table.values()]).toEqual([]);
  });

  it('adds and gets entities by networkId, the very objects given', () => {
    const table = new EntityTable();
    const a = makeEntity({ networkId: 'a' });
    const b = makeEntity({ networkId: 'b', creator: 'bob' });
    table.add(a);
    table.add(b);
    expect(table.get('a')).toBe(a);
    expect(table.get('b')).toBe(b);
    expect(table.size).toBe(2);
    expect([...table.values()]).toEqual([a, b]);
  });

  it('counts live entities per creator, not per owner', () => {
    const table = new EntityTable();
    table.add(makeEntity({ networkId: 'a1', creator: 'alice', owner: 'bob' }));
    table.add(makeEntity({ networkId: 'a2', creator: 'alice' }));
    table.add(makeEntity({ networkId: 'b1', creator: 'bob' }));
    expect(table.countBy('alice')).toBe(2);
    expect(table.countBy('bob')).toBe(1);
    expect(table.countBy('carol')).toBe(0);
  });

  it('throws a TypeError when the networkId exists, and changes nothing', () => {
    const table = new EntityTable();
    const first = makeEntity({ networkId: 'dup', creator: 'alice' });
    table.add(first);
    expect(() => table.add(makeEntity({ networkId: 'dup', creator: 'bob' }))).toThrow(TypeError);
    expect(table.get('dup')).toBe(first);
    expect(table.size).toBe(1);
    expect(table.countBy('alice')).toBe(1);
    expect(table.countBy('bob')).toBe(0);
  });

  it('deletes an entity, returns it, and lowers its creator count', () => {
    const table = new EntityTable();
    const a1 = makeEntity({ networkId: 'a1' });
    table.add(a1);
    table.add(makeEntity({ networkId: 'a2' }));
    expect(table.delete('a1')).toBe(a1);
    expect(table.get('a1')).toBeUndefined();
    expect(table.size).toBe(1);
    expect(table.countBy('alice')).toBe(1);
    table.delete('a2');
    expect(table.countBy('alice')).toBe(0);
    expect(table.size).toBe(0);
  });

  it('returns undefined when deleting an unknown id, and changes nothing', () => {
    const table = new EntityTable();
    table.add(makeEntity({ networkId: 'a' }));
    expect(table.delete('nope')).toBeUndefined();
    expect(table.delete('a')).toBeDefined();
    expect(table.delete('a')).toBeUndefined();
    expect(table.countBy('alice')).toBe(0);
  });

  it('lets an id be added again after its delete', () => {
    const table = new EntityTable();
    table.add(makeEntity({ networkId: 'a' }));
    table.delete('a');
    const again = makeEntity({ networkId: 'a', creator: 'bob' });
    table.add(again);
    expect(table.get('a')).toBe(again);
    expect(table.countBy('alice')).toBe(0);
    expect(table.countBy('bob')).toBe(1);
  });

  it('remembers the ids it deleted, and only those', () => {
    const table = new EntityTable();
    table.add(makeEntity({ networkId: 'a' }));
    table.add(makeEntity({ networkId: 'b' }));
    expect(table.wasRemoved('a')).toBe(false);
    table.delete('a');
    table.delete('never-added');
    expect(table.wasRemoved('a')).toBe(true);
    expect(table.wasRemoved('b')).toBe(false);
    expect(table.wasRemoved('never-added')).toBe(false);
  });

  it(`forgets the oldest removed id beyond ${REMOVED_IDS_KEPT}`, () => {
    const table = new EntityTable();
    for (let i = 0; i <= REMOVED_IDS_KEPT; i++) {
      table.add(makeEntity({ networkId: `n${i}` }));
      table.delete(`n${i}`);
    }
    expect(table.wasRemoved('n0')).toBe(false);
    expect(table.wasRemoved('n1')).toBe(true);
    expect(table.wasRemoved(`n${REMOVED_IDS_KEPT}`)).toBe(true);
    expect(table.countBy('alice')).toBe(0);
  });

  it('keeps size and counts consistent with its contents under any add/delete sequence', () => {
    const op = fc.record({ isAdd: fc.boolean(), id: fc.constantFrom('a', 'b', 'c', 'd'), creator: fc.constantFrom('alice', 'bob') });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const table = new EntityTable();
        const model = new Map<string, string>();
        for (const { isAdd, id, creator } of ops) {
          if (isAdd) {
            if (model.has(id)) {
              expect(() => table.add(makeEntity({ networkId: id, creator }))).toThrow(TypeError);
            } else {
              table.add(makeEntity({ networkId: id, creator }));
              model.set(id, creator);
            }
          } else {
            expect(table.delete(id)?.creator).toBe(model.get(id));
            model.delete(id);
          }
        }
        expect(table.size).toBe(model.size);
        for (const creator of ['alice', 'bob']) {
          expect(table.countBy(creator)).toBe([...model.values()].filter((c) => c === creator).length);
        }
        expect([...table.values()].map((e) => e.networkId).sort()).toEqual([...model.keys()].sort());
      }),
    );
  });
});
