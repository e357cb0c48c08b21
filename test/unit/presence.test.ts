import fc from 'fast-check';
import { describe, it, expect } from 'vitest';
import { Presence as PhoenixPresence } from 'phoenix';
import { countPresences, mergeDiffs, Presence, type PresenceDiff, type PresenceEntries } from '../../src/core/presence.js';

const lobbyMeta = { presence: 'lobby', profile: { displayName: 'A' }, context: { mobile: false } };
const roomMeta = { presence: 'room', profile: { displayName: 'A' }, context: { mobile: false, hmd: true } };

/** Plain-JSON copy with each key's metas sorted by phx_ref, so states compare regardless of meta order. */
function normalize(state: object): PresenceEntries {
  const plain = JSON.parse(JSON.stringify(state)) as PresenceEntries;
  for (const entry of Object.values(plain)) entry.metas.sort((a, b) => a.phx_ref.localeCompare(b.phx_ref));
  return plain;
}

describe('Presence (parity 1.5)', () => {
  it('track returns a join of the meta with its phx_ref', () => {
    const presence = new Presence();
    expect(presence.track('s1', 'ref1', lobbyMeta)).toEqual({
      joins: { s1: { metas: [{ ...lobbyMeta, phx_ref: 'ref1' }] } },
      leaves: {},
    });
    expect(presence.list()).toEqual({ s1: { metas: [{ ...lobbyMeta, phx_ref: 'ref1' }] } });
    expect(presence.size).toBe(1);
  });

  it('does not mutate the meta it is given', () => {
    const meta = { presence: 'lobby' };
    new Presence().track('s1', 'ref1', meta);
    expect(meta).toEqual({ presence: 'lobby' });
  });

  it('keeps several metas per key, in order', () => {
    const presence = new Presence();
    presence.track('s1', 'ref1', lobbyMeta);
    const diff = presence.track('s1', 'ref2', roomMeta);
    expect(diff).toEqual({ joins: { s1: { metas: [{ ...roomMeta, phx_ref: 'ref2' }] } }, leaves: {} });
    presence.track('s2', 'ref3', lobbyMeta);
    expect(presence.list()).toEqual({
      s1: { metas: [{ ...lobbyMeta, phx_ref: 'ref1' }, { ...roomMeta, phx_ref: 'ref2' }] },
      s2: { metas: [{ ...lobbyMeta, phx_ref: 'ref3' }] },
    });
    expect(presence.size).toBe(2);
  });

  it('update is a leave of the old meta plus a join of the new one carrying phx_ref_prev', () => {
    const presence = new Presence();
    presence.track('s1', 'ref1', lobbyMeta);
    expect(presence.update('s1', 'ref1', 'ref2', roomMeta)).toEqual({
      joins: { s1: { metas: [{ ...roomMeta, phx_ref: 'ref2', phx_ref_prev: 'ref1' }] } },
      leaves: { s1: { metas: [{ ...lobbyMeta, phx_ref: 'ref1' }] } },
    });
    expect(presence.list()).toEqual({ s1: { metas: [{ ...roomMeta, phx_ref: 'ref2', phx_ref_prev: 'ref1' }] } });
  });

  it('update replaces only the meta under that ref', () => {
    const presence = new Presence();
    presence.track('s1', 'ref1', lobbyMeta);
    presence.track('s1', 'ref2', lobbyMeta);
    presence.update('s1', 'ref2', 'ref3', roomMeta);
    expect(presence.list()['s1']!.metas.map((m) => m.phx_ref)).toEqual(['ref1', 'ref3']);
  });

  it('update of an unknown key or ref is null and changes nothing', () => {
    const presence = new Presence();
    presence.track('s1', 'ref1', lobbyMeta);
    expect(presence.update('s2', 'ref1', 'ref2', roomMeta)).toBeNull();
    expect(presence.update('s1', 'nope', 'ref2', roomMeta)).toBeNull();
    expect(presence.list()).toEqual({ s1: { metas: [{ ...lobbyMeta, phx_ref: 'ref1' }] } });
  });

  it('untrack returns a leave and drops the key with its last meta', () => {
    const presence = new Presence();
    presence.track('s1', 'ref1', lobbyMeta);
    presence.track('s1', 'ref2', roomMeta);
    expect(presence.untrack('s1', 'ref1')).toEqual({ joins: {}, leaves: { s1: { metas: [{ ...lobbyMeta, phx_ref: 'ref1' }] } } });
    expect(presence.list()).toEqual({ s1: { metas: [{ ...roomMeta, phx_ref: 'ref2' }] } });
    expect(presence.untrack('s1', 'ref2')).toEqual({ joins: {}, leaves: { s1: { metas: [{ ...roomMeta, phx_ref: 'ref2' }] } } });
    expect(presence.list()).toEqual({});
    expect(presence.size).toBe(0);
  });

  it('untrack of an unknown key or ref is null', () => {
    const presence = new Presence();
    expect(presence.untrack('s1', 'ref1')).toBeNull();
    presence.track('s1', 'ref1', lobbyMeta);
    expect(presence.untrack('s1', 'ref9')).toBeNull();
    expect(presence.untrack('s1', 'ref1')).not.toBeNull();
    expect(presence.untrack('s1', 'ref1')).toBeNull();
  });

  it('list returns copies of the meta lists', () => {
    const presence = new Presence();
    presence.track('s1', 'ref1', lobbyMeta);
    presence.list()['s1']!.metas.length = 0;
    expect(presence.list()['s1']!.metas).toHaveLength(1);
  });

  it('its diffs, applied by the phoenix.js client, reproduce list()', () => {
    const presence = new Presence();
    let client: object = PhoenixPresence.syncState({}, presence.list());
    const apply = (diff: PresenceDiff | null): void => {
      expect(diff).not.toBeNull();
      client = PhoenixPresence.syncDiff(client, diff!);
      expect(normalize(client)).toEqual(normalize(presence.list()));
    };
    apply(presence.track('s1', 'ref1', lobbyMeta));
    apply(presence.track('s2', 'ref2', lobbyMeta));
    apply(presence.track('s1', 'ref3', lobbyMeta));
    apply(presence.update('s1', 'ref1', 'ref4', roomMeta));
    apply(presence.update('s2', 'ref2', 'ref5', roomMeta));
    apply(presence.untrack('s1', 'ref3'));
    apply(presence.untrack('s2', 'ref5'));
    expect(Object.keys(normalize(client))).toEqual(['s1']);
  });

  it('an update looks to Hubs like a change, not a leave (parity 1.5, denoisePresence)', () => {
    const presence = new Presence();
    const client = PhoenixPresence.syncState({}, presence.list());
    PhoenixPresence.syncDiff(client, presence.track('s1', 'ref1', lobbyMeta));
    const joins: unknown[] = [];
    const leftMetaCounts: number[] = [];
    PhoenixPresence.syncDiff(
      client,
      presence.update('s1', 'ref1', 'ref2', roomMeta)!,
      (_key, current) => {
        joins.push(current);
      },
      (_key, current: { metas: unknown[] }) => {
        leftMetaCounts.push(current.metas.length);
      },
    );
    expect(joins).toHaveLength(1);
    expect(joins[0]).toBeDefined(); // a previous entry: "change", not "joined"
    expect(leftMetaCounts).toEqual([1]); // metas remain: not "left"
  });
});

describe('countPresences (parity 2.5 member_count / lobby_count)', () => {
  it('counts an empty presence as zero', () => {
    expect(countPresences(new Presence())).toEqual({ memberCount: 0, lobbyCount: 0 });
  });

  it('counts room and lobby metas, skipping Discord bridge bots', () => {
    const presence = new Presence();
    presence.track('a', 'r1', { presence: 'room', context: {} });
    presence.track('b', 'r2', { presence: 'room', context: { discord: false } });
    presence.track('c', 'r3', { presence: 'lobby', context: { mobile: true } });
    presence.track('d', 'r4', { presence: 'lobby' });
    presence.track('e', 'r5', { presence: 'room', context: { discord: true } });
    presence.track('f', 'r6', { presence: 'lobby', context: { discord: true } });
    presence.track('g', 'r7', { presence: 'elsewhere', context: {} });
    presence.track('h', 'r8', { context: {} });
    presence.track('i', 'r9', { presence: 'room', context: null });
    expect(countPresences(presence)).toEqual({ memberCount: 3, lobbyCount: 2 });
  });

  it('counts every meta of a key', () => {
    const presence = new Presence();
    presence.track('a', 'r1', { presence: 'room', context: {} });
    presence.track('a', 'r2', { presence: 'lobby', context: {} });
    expect(countPresences(presence)).toEqual({ memberCount: 1, lobbyCount: 1 });
  });

  it('follows updates and untracks', () => {
    const presence = new Presence();
    presence.track('a', 'r1', { presence: 'lobby', context: {} });
    presence.update('a', 'r1', 'r2', { presence: 'room', context: {} });
    expect(countPresences(presence)).toEqual({ memberCount: 1, lobbyCount: 0 });
    presence.untrack('a', 'r2');
    expect(countPresences(presence)).toEqual({ memberCount: 0, lobbyCount: 0 });
  });
});

describe('mergeDiffs', () => {
  type Op = { readonly kind: 'track' | 'update' | 'untrack'; readonly key: number; readonly pick: number };
  const op = fc.record({ kind: fc.constantFrom<Op['kind']>('track', 'update', 'untrack'), key: fc.integer({ min: 0, max: 3 }), pick: fc.nat(9) });

  /** Runs `ops` on `presence`, returning the diffs it made; `next` hands out fresh refs. */
  function run(presence: Presence, ops: readonly Op[], next: () => string): PresenceDiff[] {
    const diffs: PresenceDiff[] = [];
    for (const { kind, key, pick } of ops) {
      const k = `s${key}`;
      const metas = presence.list()[k]?.metas ?? [];
      const ref = metas.length > 0 ? metas[pick % metas.length]!.phx_ref : undefined;
      const diff =
        kind === 'track' || ref === undefined
          ? presence.track(k, next(), pick % 2 === 0 ? lobbyMeta : roomMeta)
          : kind === 'update'
            ? presence.update(k, ref, next(), roomMeta)
            : presence.untrack(k, ref);
      if (diff) diffs.push(diff);
    }
    return diffs;
  }

  it('gives the phoenix.js client the same state as the diffs one by one', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), fc.array(op, { minLength: 1, maxLength: 12 }), (before, during) => {
        let n = 0;
        const next = () => `ref${++n}`;
        const presence = new Presence();
        run(presence, before, next);
        const start = PhoenixPresence.syncState({}, presence.list());
        const diffs = run(presence, during, next);
        if (diffs.length === 0) return;
        const merged = diffs.reduce(mergeDiffs);
        const client = PhoenixPresence.syncDiff(PhoenixPresence.syncState({}, start), merged);
        expect(normalize(client)).toEqual(normalize(presence.list()));
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it('leaves out a member who came and went within the merged diffs', () => {
    const presence = new Presence();
    const merged = mergeDiffs(presence.track('a', 'r1', lobbyMeta), presence.untrack('a', 'r1')!);
    expect(merged).toEqual({ joins: {}, leaves: {} });
  });
});
