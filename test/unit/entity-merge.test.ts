import { describe, expect, it } from 'vitest';
import { mergeRemoteEntities } from '../../src/core/entity-lifecycle.js';
import { entityIn, makeEntity, tableWith } from '../support/builders.js';

/** An entity as another node's sync carries it: its table entry through JSON. */
const sent = (overrides: Parameters<typeof makeEntity>[0]) => JSON.parse(JSON.stringify(makeEntity(overrides))) as unknown;

describe('mergeRemoteEntities', () => {
  it('adds what the other node has and this one missed, for its members to be sent', () => {
    const table = tableWith(makeEntity({ networkId: 'a' }));
    const merge = mergeRemoteEntities(table, [sent({ networkId: 'a' }), sent({ networkId: 'b', owner: 'bob', creator: 'bob' })]);
    expect(merge).toEqual({ added: ['b'], claims: [] });
    expect(entityIn(table, 'b')).toMatchObject({ owner: 'bob', creator: 'bob', protocol: 'naf' });
  });

  it('takes the owner the NAF order picks, telling members of the change, and keeps its own otherwise', () => {
    const table = tableWith(makeEntity({ networkId: 'newer', owner: 'alice', lastOwnerTime: 100 }), makeEntity({ networkId: 'older', owner: 'alice', lastOwnerTime: 300 }));
    const merge = mergeRemoteEntities(table, [sent({ networkId: 'newer', owner: 'bob', lastOwnerTime: 200 }), sent({ networkId: 'older', owner: 'bob', lastOwnerTime: 200 })]);
    expect(merge.added).toEqual([]);
    expect(merge.claims).toEqual([{ from: 'bob', message: { dataType: 'u', data: expect.objectContaining({ networkId: 'newer', owner: 'bob', lastOwnerTime: 200, components: {} }) } }]);
    expect(entityIn(table, 'newer')).toMatchObject({ owner: 'bob', lastOwnerTime: 200 });
    expect(entityIn(table, 'older')).toMatchObject({ owner: 'alice', lastOwnerTime: 300 });
  });

  it('ends two nodes on the same owners whichever merges first', () => {
    const left = tableWith(makeEntity({ networkId: 'x', owner: 'alice', lastOwnerTime: 5 }), makeEntity({ networkId: 'y', owner: 'carol', lastOwnerTime: 9 }));
    const right = tableWith(makeEntity({ networkId: 'x', owner: 'bob', lastOwnerTime: 5 }), makeEntity({ networkId: 'y', owner: 'dave', lastOwnerTime: 8 }));
    const snapshot = (t: typeof left) => JSON.parse(JSON.stringify([...t.values()])) as unknown[];
    const [fromLeft, fromRight] = [snapshot(left), snapshot(right)];
    mergeRemoteEntities(left, fromRight);
    mergeRemoteEntities(right, fromLeft);
    const owners = (t: typeof left) => [...t.values()].map((e) => `${e.networkId}=${e.owner}@${e.lastOwnerTime}`);
    expect(owners(left)).toEqual(['x=bob@5', 'y=carol@9']);
    expect(owners(right)).toEqual(owners(left));
  });

  it('does not bring back what was removed here, and skips what is not a NAF entity', () => {
    const table = tableWith(makeEntity({ networkId: 'gone' }));
    table.delete('gone');
    const merge = mergeRemoteEntities(table, [sent({ networkId: 'gone' }), sent({ networkId: 'n', protocol: 'nn' }), { networkId: 'bad', protocol: 'naf' }, null, 'x']);
    expect(merge).toEqual({ added: [], claims: [] });
    expect(table.size).toBe(0);
  });
});
