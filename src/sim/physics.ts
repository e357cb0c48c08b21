/**
 * `physics`: rigid bodies for objects clients throw or drop. A client hands
 * an object to the server by NAF's own rules: a full update naming the server
 * owner (`reticulum`) with a later `lastOwnerTime`, carrying the object's
 * velocity. From then on the server moves it, 30 times a second, until it
 * comes to rest, when it goes to sleep and nothing more is sent. A client
 * that grabs it claims it as it would from anyone, and the server lets go.
 *
 * Components (the room page's cube, `#hubmesh-cube-media`): `0` position of
 * the centre `{x, y, z}`, `1` rotation `{x, y, z}` (Euler XYZ, radians), `3`
 * linear velocity `{x, y, z}` (m/s), `4` angular velocity (rad/s). Settings
 * (`hubmesh_simulation_settings.physics`): `templates` (suffixes of the
 * templates it takes, default `["-media"]`), `halfSize` (half a box's edge,
 * m, default 0.25), `roomHalfSize` (the walls, m, default 12), `tickHz`
 * (default 30).
 *
 * Over the room's cap (`HUBMESH_SIM_MAX_BODIES`) an object handed over is
 * handed straight back to whoever gave it.
 */
import { clampNumber, isCoord, readVec3 } from '../core/components.js';
import type { Payload } from '../protocol/frames.js';
import type { BodyState, PhysicsWorld, Quat, Vec3 } from './physics-world.js';
import type { SimContext, SimEntity, SimEvent, Simulation, SimulationModule, SimulationOptions } from './simulation.js';
import { SERVER_OWNER } from './simulation.js';

const MASS = 1;

/** Euler XYZ (radians) to a quaternion, as three.js orders them. */
export function eulerToQuat(e: Vec3): Quat {
  const [c1, c2, c3] = [Math.cos(e.x / 2), Math.cos(e.y / 2), Math.cos(e.z / 2)];
  const [s1, s2, s3] = [Math.sin(e.x / 2), Math.sin(e.y / 2), Math.sin(e.z / 2)];
  return { x: s1 * c2 * c3 + c1 * s2 * s3, y: c1 * s2 * c3 - s1 * c2 * s3, z: c1 * c2 * s3 + s1 * s2 * c3, w: c1 * c2 * c3 - s1 * s2 * s3 };
}

/** A unit quaternion to Euler XYZ (radians), the inverse of `eulerToQuat`. */
export function quatToEuler(q: Quat): Vec3 {
  const m11 = 1 - 2 * (q.y * q.y + q.z * q.z);
  const m12 = 2 * (q.x * q.y - q.w * q.z);
  const m13 = 2 * (q.x * q.z + q.w * q.y);
  const m22 = 1 - 2 * (q.x * q.x + q.z * q.z);
  const m23 = 2 * (q.y * q.z - q.w * q.x);
  const m32 = 2 * (q.y * q.z + q.w * q.x);
  const m33 = 1 - 2 * (q.x * q.x + q.y * q.y);
  const y = Math.asin(Math.max(-1, Math.min(1, m13)));
  if (Math.abs(m13) < 0.9999999) return { x: Math.atan2(-m23, m33), y, z: Math.atan2(-m12, m11) };
  return { x: Math.atan2(m32, m22), y, z: 0 };
}

const round = (v: number): number => Math.round(v * 1000) / 1000;
const roundVec = (v: Vec3): Vec3 => ({ x: round(v.x), y: round(v.y), z: round(v.z) });

class Physics implements Simulation {
  readonly tickHz: number;
  readonly #world: PhysicsWorld;
  readonly #maxBodies: number;
  readonly #templates: readonly string[];
  readonly #half: number;
  /** Bodies awake after the last step: when one falls asleep, its resting pose is sent once more. */
  #wasAwake = new Set<string>();
  /** Every body in the world, awake or asleep (the world lists only the awake ones). */
  readonly #bodies = new Set<string>();

  constructor(world: PhysicsWorld, opts: SimulationOptions) {
    const s = opts.settings;
    this.#world = world;
    this.#maxBodies = opts.maxBodies;
    this.tickHz = clampNumber(s['tickHz'], 30, 5, 120);
    this.#half = clampNumber(s['halfSize'], 0.25, 0.01, 10);
    const templates = Array.isArray(s['templates']) ? s['templates'].filter((t): t is string => typeof t === 'string' && t !== '') : [];
    this.#templates = templates.length > 0 ? templates : ['-media'];
  }

  get bodyCount(): number {
    return this.#world.size;
  }

  owns(entity: SimEntity): boolean {
    return this.#templates.some((t) => entity.template.endsWith(t)) && readVec3(entity.components['0']) !== null;
  }

  init(): void {
    // Nothing to start with: bodies come when clients hand objects over.
  }

  onMessage(ctx: SimContext, event: SimEvent): void {
    switch (event.type) {
      case 'handed':
        return this.#take(ctx, event.entity, event.from);
      case 'taken':
        return this.#drop(event.entity.networkId);
      case 'removed':
        return this.#drop(event.networkId);
      default:
        return;
    }
  }

  tick(ctx: SimContext, dt: number): void {
    if (this.#world.size === 0) return;
    this.#world.step(dt);
    const awake = new Set(this.#world.awake());
    for (const id of new Set([...awake, ...this.#wasAwake])) {
      const state = this.#world.state(id);
      if (state) ctx.update(id, this.#components(state));
    }
    this.#wasAwake = awake;
  }

  snapshot(): Payload {
    const bodies: Payload[] = [];
    for (const id of this.#bodies) {
      const state = this.#world.state(id);
      if (state) bodies.push({ id, ...state });
    }
    return { bodies };
  }

  restore(ctx: SimContext, snapshot: Payload): void {
    const bodies = Array.isArray(snapshot['bodies']) ? snapshot['bodies'] : [];
    for (const raw of bodies) {
      if (typeof raw !== 'object' || raw === null) continue;
      const b = raw as Record<string, unknown>;
      const id = b['id'];
      // Only what the server still owns in the room: an object a client took meanwhile, or one gone with its creator, is not brought back.
      if (typeof id !== 'string' || ctx.entity(id)?.owner !== SERVER_OWNER || this.#world.size >= this.#maxBodies) continue;
      const position = readVec3(b['position']);
      const q = b['quaternion'] as Partial<Quat> | undefined;
      if (!position) continue;
      const quaternion = q && isCoord(q.x) && isCoord(q.y) && isCoord(q.z) && isCoord(q.w) ? (q as Quat) : undefined;
      const velocity = readVec3(b['velocity']) ?? undefined;
      const angularVelocity = readVec3(b['angularVelocity']) ?? undefined;
      this.#world.addBox(id, { position, halfExtents: this.#halfExtents(), mass: MASS, ...(quaternion ? { quaternion } : {}), ...(velocity ? { velocity } : {}), ...(angularVelocity ? { angularVelocity } : {}) });
      this.#bodies.add(id);
      ctx.claim(id);
      if (b['isSleeping'] !== true) this.#wasAwake.add(id);
    }
  }

  close(): void {
    this.#world.close();
  }

  #take(ctx: SimContext, entity: SimEntity, from: string): void {
    const position = readVec3(entity.components['0']);
    if (!position) return;
    if (this.#world.size >= this.#maxBodies && !this.#world.has(entity.networkId)) {
      ctx.log.warn({ networkId: entity.networkId, maxBodies: this.#maxBodies }, 'physics body cap reached: handing the object back');
      if (from !== '') ctx.handTo(entity.networkId, from);
      return;
    }
    const rotation = readVec3(entity.components['1']);
    const velocity = readVec3(entity.components['3']);
    const angularVelocity = readVec3(entity.components['4']);
    this.#world.addBox(entity.networkId, {
      position,
      halfExtents: this.#halfExtents(),
      mass: MASS,
      ...(rotation ? { quaternion: eulerToQuat(rotation) } : {}),
      ...(velocity ? { velocity } : {}),
      ...(angularVelocity ? { angularVelocity } : {}),
    });
    this.#bodies.add(entity.networkId);
    this.#wasAwake.add(entity.networkId);
  }

  #drop(networkId: string): void {
    this.#world.remove(networkId);
    this.#bodies.delete(networkId);
    this.#wasAwake.delete(networkId);
  }

  #halfExtents(): Vec3 {
    return { x: this.#half, y: this.#half, z: this.#half };
  }

  #components(state: BodyState): Record<string, unknown> {
    return { '0': roundVec(state.position), '1': roundVec(quatToEuler(state.quaternion)), '3': roundVec(state.velocity) };
  }
}

export const physics: SimulationModule = {
  name: 'physics',
  async create(opts: SimulationOptions): Promise<Simulation> {
    // The engine (WASM, tens of MB once compiled) loads with the first room that turns physics on, not with every node.
    const { createPhysicsWorld } = await import('./physics-world.js');
    const world = await createPhysicsWorld({ halfSize: clampNumber(opts.settings['roomHalfSize'], 12, 1, 1000) });
    return new Physics(world, opts);
  },
};
