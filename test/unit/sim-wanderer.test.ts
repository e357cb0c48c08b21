/** The `wanderer` simulation (src/sim/wanderer.ts) on a fake context: it walks, keeps clear of people, and resumes from a snapshot. */
import { describe, expect, it } from 'vitest';
import { SERVER_OWNER, type SimContext, type SimEntity } from '../../src/sim/simulation.js';
import { wanderer } from '../../src/sim/wanderer.js';

function fakeContext(people: SimEntity[]) {
  const spawned: { template: string; networkId: string }[] = [];
  let pose = { x: 0, z: 0 };
  const ctx: SimContext = {
    hubSid: 'AbCdEfG',
    now: () => 0,
    entities: () => people.values(),
    entity: (id) => people.find((p) => p.networkId === id),
    members: () => people.map((p) => p.owner),
    spawn: (template, components, opts) => {
      const networkId = opts?.networkId ?? `npc${spawned.length}`;
      spawned.push({ template, networkId });
      pose = components['0'] as { x: number; z: number };
      return networkId;
    },
    update: (_id, components) => {
      pose = components['0'] as { x: number; z: number };
      return true;
    },
    claim: () => true,
    handTo: () => true,
    remove: () => true,
    log: { warn: () => undefined, info: () => undefined },
  };
  return { ctx, spawned, pose: () => pose };
}

const avatar = (owner: string, x: number, z: number): SimEntity => ({ networkId: `a-${owner}`, template: '#hubmesh-avatar', owner, creator: owner, lastOwnerTime: -1, persistent: false, components: { 0: { x, y: 0, z } } });

describe('wanderer simulation', () => {
  it('walks at its speed and stays on the floor', async () => {
    const sim = await wanderer.create({ hubSid: 'AbCdEfG', maxBodies: 10, settings: { speed: 2, halfSize: 3 } });
    const { ctx, spawned, pose } = fakeContext([]);
    sim.init(ctx);
    expect(spawned).toEqual([{ template: '#hubmesh-avatar', networkId: 'npc0' }]);
    let travelled = 0;
    let last = pose();
    for (let i = 0; i < 300; i++) {
      sim.tick(ctx, 0.1);
      const now = pose();
      const step = Math.hypot(now.x - last.x, now.z - last.z);
      // Positions go out to the millimetre.
      expect(step).toBeLessThanOrEqual(0.2 + 0.002);
      expect(Math.abs(now.x)).toBeLessThanOrEqual(3);
      expect(Math.abs(now.z)).toBeLessThanOrEqual(3);
      travelled += step;
      last = now;
    }
    expect(travelled).toBeGreaterThan(30);
  });

  it('keeps clear of a person who comes close, moving away from them', async () => {
    const sim = await wanderer.create({ hubSid: 'AbCdEfG', maxBodies: 10, settings: { personalSpace: 1.5 } });
    const people: SimEntity[] = [];
    const { ctx, pose } = fakeContext(people);
    sim.init(ctx);
    for (let i = 0; i < 20; i++) sim.tick(ctx, 0.1);
    const here = pose();
    // Someone steps up to half a metre from it.
    people.push(avatar('ada', here.x + 0.5, here.z));
    sim.tick(ctx, 0.1);
    const moved = pose();
    expect(Math.hypot(moved.x - (here.x + 0.5), moved.z - here.z)).toBeGreaterThan(0.5);
    for (let i = 0; i < 20; i++) sim.tick(ctx, 0.1);
    expect(Math.hypot(pose().x - (here.x + 0.5), pose().z - here.z)).toBeGreaterThan(1.5);
    // Its own avatar is not a person to avoid.
    people.splice(0, 1, { ...avatar(SERVER_OWNER, pose().x, pose().z) });
    const before = pose();
    sim.tick(ctx, 0.1);
    expect(Math.hypot(pose().x - before.x, pose().z - before.z)).toBeGreaterThan(0);
  });

  it('resumes from its snapshot where it was, with the same entity', async () => {
    const sim = await wanderer.create({ hubSid: 'AbCdEfG', maxBodies: 10, settings: {} });
    const first = fakeContext([]);
    sim.init(first.ctx);
    for (let i = 0; i < 15; i++) sim.tick(first.ctx, 0.1);
    const snapshot = JSON.parse(JSON.stringify(sim.snapshot(first.ctx)));
    const again = await wanderer.create({ hubSid: 'AbCdEfG', maxBodies: 10, settings: {} });
    const second = fakeContext([]);
    again.restore(second.ctx, snapshot);
    expect(second.spawned).toEqual([{ template: '#hubmesh-avatar', networkId: 'npc0' }]);
    expect(second.pose()).toEqual(first.pose());
    // Both walk on the same way from there.
    sim.tick(first.ctx, 0.1);
    again.tick(second.ctx, 0.1);
    expect(second.pose()).toEqual(first.pose());
  });
});
