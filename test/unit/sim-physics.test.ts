/** The `physics` simulation (src/sim/physics.ts) on a fake context: what it sends for a handed object, and when it stops. */
import { describe, expect, it } from 'vitest';
import { eulerToQuat, physics, quatToEuler } from '../../src/sim/physics.js';
import { SERVER_OWNER, type SimContext, type SimEntity } from '../../src/sim/simulation.js';

function fakeContext(entities: Map<string, SimEntity>) {
  const updates: { id: string; components: Record<string, unknown> }[] = [];
  const handed: { id: string; to: string }[] = [];
  const ctx: SimContext = {
    hubSid: 'AbCdEfG',
    now: () => 0,
    entities: () => entities.values(),
    entity: (id) => entities.get(id),
    members: () => [],
    spawn: () => 'x',
    update: (id, components) => {
      updates.push({ id, components });
      return true;
    },
    claim: () => true,
    handTo: (id, to) => {
      handed.push({ id, to });
      return true;
    },
    remove: () => true,
    log: { warn: () => undefined, info: () => undefined },
  };
  return { ctx, updates, handed };
}

const cube = (networkId: string, components: Record<string, unknown>): SimEntity => ({ networkId, template: '#hubmesh-cube-media', owner: SERVER_OWNER, creator: 'ada', lastOwnerTime: 1, persistent: false, components });

describe('physics simulation', () => {
  it('moves a handed object every tick until it rests, then sends its resting pose once and goes quiet', async () => {
    const sim = await physics.create({ hubSid: 'AbCdEfG', maxBodies: 10, settings: {} });
    const entities = new Map([['c1', cube('c1', { 0: { x: 0, y: 3, z: 0 }, 3: { x: 1, y: 0, z: 0 } })]]);
    const { ctx, updates } = fakeContext(entities);
    sim.init(ctx);
    expect(sim.owns(entities.get('c1')!)).toBe(true);
    expect(sim.owns({ ...entities.get('c1')!, template: '#x-avatar' })).toBe(false);
    sim.onMessage(ctx, { type: 'handed', entity: entities.get('c1')!, from: 'ada' });
    let ticks = 0;
    let quietSince = -1;
    while (ticks < 600) {
      const before = updates.length;
      sim.tick(ctx, 1 / 30);
      ticks++;
      if (updates.length === before && quietSince < 0) quietSince = ticks;
      if (updates.length !== before) quietSince = -1;
      if (quietSince > 0 && ticks - quietSince > 30) break;
    }
    expect(quietSince).toBeGreaterThan(0);
    const last = updates.at(-1)!.components['0'] as { x: number; y: number; z: number };
    expect(last.y).toBeCloseTo(0.25, 1);
    expect(last.x).toBeGreaterThan(0.5);
    expect(updates.length).toBeGreaterThan(20);
    expect(sim.bodyCount).toBe(1);
    // A client grabs it: the body goes.
    sim.onMessage(ctx, { type: 'taken', entity: { ...entities.get('c1')!, owner: 'bob' }, by: 'bob' });
    expect(sim.bodyCount).toBe(0);
    sim.close?.();
  });

  it('hands an object back over the body cap, and snapshots and restores its bodies', async () => {
    const sim = await physics.create({ hubSid: 'AbCdEfG', maxBodies: 1, settings: {} });
    const entities = new Map([
      ['c1', cube('c1', { 0: { x: 0, y: 2, z: 0 } })],
      ['c2', cube('c2', { 0: { x: 1, y: 2, z: 0 } })],
    ]);
    const { ctx, handed } = fakeContext(entities);
    sim.onMessage(ctx, { type: 'handed', entity: entities.get('c1')!, from: 'ada' });
    sim.onMessage(ctx, { type: 'handed', entity: entities.get('c2')!, from: 'bob' });
    expect(handed).toEqual([{ id: 'c2', to: 'bob' }]);
    sim.tick(ctx, 1 / 30);
    const snapshot = sim.snapshot(ctx);
    const again = await physics.create({ hubSid: 'AbCdEfG', maxBodies: 1, settings: {} });
    again.restore(ctx, JSON.parse(JSON.stringify(snapshot)));
    expect(again.bodyCount).toBe(1);
    expect(again.snapshot(ctx)).toEqual(snapshot);
    sim.close?.();
    again.close?.();
  });

  it('converts rotations both ways', () => {
    for (const e of [{ x: 0.3, y: -1.2, z: 2.1 }, { x: 0, y: 0, z: 0 }, { x: -2, y: 0.5, z: -0.4 }]) {
      const back = quatToEuler(eulerToQuat(e));
      expect(back.x).toBeCloseTo(e.x, 6);
      expect(back.y).toBeCloseTo(e.y, 6);
      expect(back.z).toBeCloseTo(e.z, 6);
    }
  });
});
