/** Rigid bodies for the `physics` simulation (src/sim/physics-world.ts), on the real engine. */
import { describe, expect, it, onTestFinished } from 'vitest';
import { AppError } from '../../src/errors.js';
import { createPhysicsWorld, type BoxOptions, type PhysicsWorld, type WorldOptions } from '../../src/sim/physics-world.js';

const DT = 1 / 30;
const CUBE = { x: 0.25, y: 0.25, z: 0.25 };

async function makeWorld(opts?: WorldOptions): Promise<PhysicsWorld> {
  const world = await createPhysicsWorld(opts);
  onTestFinished(() => world.close());
  return world;
}

const box = (x: number, y: number, z: number, extra: Partial<BoxOptions> = {}): BoxOptions => ({ position: { x, y, z }, halfExtents: CUBE, mass: 1, ...extra });

/** Steps until every body sleeps; returns how many steps that took, or `limit + 1` if they never did. */
function stepUntilAsleep(world: PhysicsWorld, limit: number, each?: () => void): number {
  for (let s = 1; s <= limit; s++) {
    world.step(DT);
    each?.();
    if (world.awake().length === 0) return s;
  }
  return limit + 1;
}

describe('PhysicsWorld', () => {
  it('drops a box onto the floor, where it comes to rest and sleeps within three seconds', async () => {
    const world = await makeWorld();
    world.addBox('a', box(0, 3, 0));
    expect(world.awake()).toEqual(['a']);
    world.step(DT);
    expect(world.state('a')!.velocity.y).toBeLessThan(0);

    expect(stepUntilAsleep(world, 90)).toBeLessThanOrEqual(90);
    const rest = world.state('a')!;
    expect(rest.isSleeping).toBe(true);
    expect(rest.position.y).toBeCloseTo(0.25, 1);
    expect(Math.hypot(rest.velocity.x, rest.velocity.y, rest.velocity.z)).toBeLessThan(0.05);
    // A sleeping body stays put, so there is nothing new to send.
    world.step(DT);
    expect(world.state('a')).toEqual(rest);
  });

  it('rests on a floor and under a gravity of its own', async () => {
    const world = await makeWorld({ floorY: 2, gravity: 3.7, halfSize: 4 });
    world.addBox('a', box(1, 4, -1, { halfExtents: { x: 0.5, y: 0.1, z: 0.3 }, mass: 2 }));
    expect(stepUntilAsleep(world, 240)).toBeLessThanOrEqual(240);
    expect(world.state('a')!.position.y).toBeCloseTo(2.1, 1);
  });

  it('keeps a thrown box moving, then inside the walls until it sleeps', async () => {
    const world = await makeWorld({ halfSize: 3 });
    world.addBox('a', box(0, 1, 0, { velocity: { x: 25, y: 4, z: -18 }, angularVelocity: { x: 3, y: 1, z: -2 } }));
    expect(world.awake()).toEqual(['a']);
    world.step(DT);
    const first = world.state('a')!;
    expect(first.isSleeping).toBe(false);
    expect(first.position.x).toBeGreaterThan(0.5);

    // However it is turned, a cube's centre keeps at least its half extent from
    // a wall it touches; allow the engine's small contact penetration.
    const limit = 3 - 0.25 + 0.05;
    let maxAbs = 0;
    let minY = Infinity;
    const steps = stepUntilAsleep(world, 300, () => {
      const { position: p } = world.state('a')!;
      maxAbs = Math.max(maxAbs, Math.abs(p.x), Math.abs(p.z));
      minY = Math.min(minY, p.y);
    });
    expect(steps).toBeLessThanOrEqual(300);
    expect(maxAbs).toBeLessThan(limit);
    expect(minY).toBeGreaterThan(0.25 - 0.05);
  });

  it('lets a pile of boxes settle and every one sleep', async () => {
    const world = await makeWorld();
    for (let i = 0; i < 12; i++) world.addBox(`b${i}`, box((i % 3) * 0.3, 0.5 + i * 0.6, Math.floor(i / 3) * 0.2, { velocity: { x: i - 6, y: 0, z: 6 - i } }));
    expect(world.awake()).toHaveLength(12);
    expect(stepUntilAsleep(world, 300)).toBeLessThanOrEqual(300);
    for (let i = 0; i < 12; i++) expect(world.state(`b${i}`)!.position.y).toBeGreaterThan(0.2);
  });

  it('wakes a sleeping box when another lands on it', async () => {
    const world = await makeWorld();
    world.addBox('floor-box', box(0, 0.25, 0));
    stepUntilAsleep(world, 120);
    expect(world.state('floor-box')!.isSleeping).toBe(true);
    world.addBox('dropped', box(0, 2, 0));
    let wasWoken = false;
    stepUntilAsleep(world, 150, () => {
      wasWoken ||= !world.state('floor-box')!.isSleeping;
    });
    expect(wasWoken).toBe(true);
    expect(world.state('dropped')!.position.y).toBeCloseTo(0.75, 1);
  });

  it('tracks bodies by id: has, size and remove', async () => {
    const world = await makeWorld();
    expect(world.size).toBe(0);
    world.addBox('a', box(0, 1, 0));
    world.addBox('b', box(2, 1, 0));
    expect(world.size).toBe(2);
    expect(world.has('a')).toBe(true);
    world.remove('a');
    expect(world.has('a')).toBe(false);
    expect(world.state('a')).toBeUndefined();
    expect(world.size).toBe(1);
    world.remove('a');
    world.remove('never');
    expect(world.size).toBe(1);
    world.step(DT);
    expect(world.awake()).toEqual(['b']);
  });

  it('replaces the body when a box is added again under the same id', async () => {
    const world = await makeWorld();
    world.addBox('a', box(0, 1, 0));
    world.step(DT);
    world.addBox('a', box(5, 2, -5, { quaternion: { x: 0, y: 2, z: 0, w: 0 } }));
    expect(world.size).toBe(1);
    const s = world.state('a')!;
    expect(s.position).toEqual({ x: 5, y: 2, z: -5 });
    expect(s.velocity).toEqual({ x: 0, y: 0, z: 0 });
    // The quaternion given is normalised: a half turn about y.
    expect(s.quaternion.y).toBeCloseTo(1, 6);
    expect(s.quaternion.w).toBeCloseTo(0, 6);
    world.step(DT);
    expect(world.state('a')!.position.y).toBeLessThan(2);
  });

  it('answers undefined for the state of an unknown id', async () => {
    const world = await makeWorld();
    expect(world.state('nope')).toBeUndefined();
  });

  it('rejects malformed arguments with TypeError', async () => {
    await expect(createPhysicsWorld({ halfSize: 0 })).rejects.toThrow(TypeError);
    await expect(createPhysicsWorld({ gravity: Number.NaN })).rejects.toThrow(TypeError);
    const world = await makeWorld();
    expect(() => world.addBox('a', box(0, 1, 0, { mass: 0 }))).toThrow(TypeError);
    expect(() => world.addBox('a', box(0, 1, 0, { halfExtents: { x: 0.2, y: 0, z: 0.2 } }))).toThrow(TypeError);
    expect(() => world.addBox('a', box(0, Number.POSITIVE_INFINITY, 0))).toThrow(TypeError);
    expect(() => world.addBox('a', box(0, 1, 0, { quaternion: { x: 0, y: 0, z: 0, w: 0 } }))).toThrow(TypeError);
    expect(world.size).toBe(0);
    expect(() => world.step(0)).toThrow(TypeError);
  });

  it('closes idempotently, and refuses use after close with CLOSED', async () => {
    const world = await createPhysicsWorld();
    world.addBox('a', box(0, 1, 0));
    world.close();
    world.close();
    for (const use of [() => world.step(DT), () => world.addBox('b', box(0, 1, 0)), () => world.state('a'), () => world.awake()]) {
      expect(use).toThrow(AppError);
      try {
        use();
      } catch (err) {
        expect((err as AppError).code).toBe('CLOSED');
      }
    }
  });
});
