/**
 * Rigid bodies for the `physics` simulation: boxes that clients throw or drop,
 * in a closed room (a floor and four walls), stepped at a fixed rate by the
 * simulation's tick. Units are metres, seconds, kilograms and radians; y is up.
 *
 * The engine is Rapier (`@dimforge/rapier3d-compat`, Rust compiled to WASM),
 * chosen over cannon-es by `ops/bench/physics-engines.mjs` on this project's
 * 2-core machine. Per simulated box-second it used about three quarters of
 * cannon-es's CPU at 100 boxes and a fifth at 500 (at 10 the two were within
 * run-to-run noise, under 0.1 ms a step); a room whose boxes all rest costs
 * about a tenth as much per step there (cannon-es still runs its broadphase
 * over sleeping bodies); boxes go to sleep with the engine's default
 * thresholds, where cannon-es needed hand-tuned thresholds and damping to
 * stop leaning boxes rocking forever; and thrown boxes stop at the walls,
 * where cannon-es let them sink up to a box's width into a wall for a step.
 * The price is paid once per process, not per world: about 0.1 s to compile
 * the WASM module on first use and some 100 MiB more RSS for V8's compiled
 * code. Nothing outside this file names the engine, so another can replace
 * it behind `PhysicsWorld`.
 *
 * Lifecycle: the simulation that creates a world owns it and must `close()`
 * it; WASM memory is not garbage collected, so a world dropped without
 * `close()` leaks until the process exits. No I/O and no timers here: time
 * advances only through `step()`.
 */
import { ColliderDesc, init, RigidBodyDesc, World, type RigidBody } from '@dimforge/rapier3d-compat';
import { AppError } from '../errors.js';

export interface Vec3 {
  readonly x: number;
  readonly y: number;
  readonly z: number;
}

/** A rotation as a unit quaternion; `addBox` normalises what it is given. */
export interface Quat {
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly w: number;
}

/** A body at the end of the last step, as plain values the caller may keep. */
export interface BodyState {
  readonly position: Vec3;
  readonly quaternion: Quat;
  /** m/s. */
  readonly velocity: Vec3;
  /** rad/s, about the world axes. */
  readonly angularVelocity: Vec3;
  /** Resting: the engine no longer moves it until something touches it, so there is nothing new to send. */
  readonly isSleeping: boolean;
}

export interface BoxOptions {
  /** Centre of the box. */
  readonly position: Vec3;
  /** Default: identity. */
  readonly quaternion?: Quat;
  /** Half the size along each local axis, each > 0 (a 0.5 m cube has 0.25). */
  readonly halfExtents: Vec3;
  /** kg, > 0. */
  readonly mass: number;
  /** Default: still. A box added with a velocity is awake, as is any box just added. */
  readonly velocity?: Vec3;
  readonly angularVelocity?: Vec3;
}

export interface WorldOptions {
  /** Downward acceleration in m/s², ≥ 0; default 9.81. */
  readonly gravity?: number;
  /** Height of the floor; default 0. */
  readonly floorY?: number;
  /** Walls stand at x = ±halfSize and z = ±halfSize, 1 km tall, > 0; default 12 (a 24 m square room). */
  readonly halfSize?: number;
}

/**
 * A room's rigid bodies, each under a caller-chosen id (the entity's network
 * id). Every method throws `TypeError` for a malformed argument (non-finite
 * numbers, non-positive sizes, mass or step) and `AppError('CLOSED')` once the
 * world is closed, except `close()` itself, which is idempotent.
 */
export interface PhysicsWorld {
  /** Adds a dynamic box, replacing any body that already has this id. */
  addBox(id: string, opts: BoxOptions): void;
  /** Removes the body; an unknown id is ignored, so removal is idempotent. */
  remove(id: string): void;
  has(id: string): boolean;
  /** Number of bodies (the floor and walls are not bodies). */
  readonly size: number;
  /** Advances the world by one fixed step of `dtSeconds` (> 0); call it at the tick rate with the same value. */
  step(dtSeconds: number): void;
  /** The body's state now, or `undefined` for an unknown id. */
  state(id: string): BodyState | undefined;
  /** Ids of bodies that are awake now (moving); sleeping bodies are not listed. Order is unspecified. */
  awake(): string[];
  /** Frees the engine's memory for this world. Idempotent. */
  close(): void;
}

// Surfaces grip like wood on wood and barely bounce, so thrown boxes slide to
// a stop instead of skating or bouncing for seconds before they can sleep.
const FRICTION = 0.5;
const RESTITUTION = 0.1;
const BOUND_THICKNESS = 10;
// Reaching 1 km takes a throw of 140 m/s under Earth's gravity.
const WALL_HEIGHT = 1000;

// The WASM module is instantiated once per process; every world shares it.
let engineReady: Promise<void> | undefined;

/**
 * Creates an empty world inside a closed room. The first call in a process
 * also instantiates the engine (about 0.1 s); later calls only wait for that.
 * Rejects with `TypeError` for malformed options.
 */
export async function createPhysicsWorld(opts: WorldOptions = {}): Promise<PhysicsWorld> {
  const gravity = opts.gravity ?? 9.81;
  const floorY = opts.floorY ?? 0;
  const halfSize = opts.halfSize ?? 12;
  if (!Number.isFinite(gravity) || gravity < 0) throw new TypeError(`gravity must be a finite number >= 0, got ${gravity}`);
  if (!Number.isFinite(floorY)) throw new TypeError(`floorY must be finite, got ${floorY}`);
  if (!Number.isFinite(halfSize) || halfSize <= 0) throw new TypeError(`halfSize must be a finite number > 0, got ${halfSize}`);
  engineReady ??= init();
  await engineReady;
  return new RapierPhysicsWorld(gravity, floorY, halfSize);
}

class RapierPhysicsWorld implements PhysicsWorld {
  #world: World | null;
  readonly #bodies = new Map<string, RigidBody>();

  constructor(gravity: number, floorY: number, halfSize: number) {
    this.#world = new World({ x: 0, y: -gravity, z: 0 });
    // Thick boxes, not half-spaces: the engine's CCD does not stop a fast body
    // at a half-space, which lets a hard throw poke through a wall for a tick.
    // The walls are tall enough that no throw a person makes clears them.
    const t = BOUND_THICKNESS / 2;
    const span = halfSize + BOUND_THICKNESS;
    const wallY = floorY + WALL_HEIGHT / 2;
    const bounds: Array<[centre: Vec3, halfExtents: Vec3]> = [
      [{ x: 0, y: floorY - t, z: 0 }, { x: span, y: t, z: span }],
      [{ x: -halfSize - t, y: wallY, z: 0 }, { x: t, y: WALL_HEIGHT / 2, z: span }],
      [{ x: halfSize + t, y: wallY, z: 0 }, { x: t, y: WALL_HEIGHT / 2, z: span }],
      [{ x: 0, y: wallY, z: -halfSize - t }, { x: span, y: WALL_HEIGHT / 2, z: t }],
      [{ x: 0, y: wallY, z: halfSize + t }, { x: span, y: WALL_HEIGHT / 2, z: t }],
    ];
    for (const [c, h] of bounds) {
      this.#world.createCollider(ColliderDesc.cuboid(h.x, h.y, h.z).setTranslation(c.x, c.y, c.z).setFriction(FRICTION).setRestitution(RESTITUTION));
    }
  }

  get size(): number {
    return this.#bodies.size;
  }

  addBox(id: string, opts: BoxOptions): void {
    const world = this.#open();
    const { position: p, halfExtents: h, mass } = opts;
    checkVec('position', p);
    checkVec('halfExtents', h);
    if (!(h.x > 0 && h.y > 0 && h.z > 0)) throw new TypeError('halfExtents must all be > 0');
    if (!Number.isFinite(mass) || mass <= 0) throw new TypeError(`mass must be a finite number > 0, got ${mass}`);
    const v = opts.velocity ?? ZERO;
    const w = opts.angularVelocity ?? ZERO;
    checkVec('velocity', v);
    checkVec('angularVelocity', w);
    const q = normalise(opts.quaternion ?? IDENTITY);
    this.remove(id);
    const desc = RigidBodyDesc.dynamic()
      .setTranslation(p.x, p.y, p.z)
      .setRotation(q)
      .setLinvel(v.x, v.y, v.z)
      .setAngvel({ x: w.x, y: w.y, z: w.z })
      // A throw can cover more than a box's size in one tick; CCD keeps fast
      // boxes from passing through each other and costs little for slow ones.
      .setCcdEnabled(true);
    const body = world.createRigidBody(desc);
    world.createCollider(ColliderDesc.cuboid(h.x, h.y, h.z).setMass(mass).setFriction(FRICTION).setRestitution(RESTITUTION), body);
    this.#bodies.set(id, body);
  }

  remove(id: string): void {
    const world = this.#open();
    const body = this.#bodies.get(id);
    if (!body) return;
    // Removes the body's colliders with it.
    world.removeRigidBody(body);
    this.#bodies.delete(id);
  }

  has(id: string): boolean {
    this.#open();
    return this.#bodies.has(id);
  }

  step(dtSeconds: number): void {
    const world = this.#open();
    if (!Number.isFinite(dtSeconds) || dtSeconds <= 0) throw new TypeError(`dtSeconds must be a finite number > 0, got ${dtSeconds}`);
    world.timestep = dtSeconds;
    world.step();
  }

  state(id: string): BodyState | undefined {
    this.#open();
    const body = this.#bodies.get(id);
    if (!body) return undefined;
    // Copies: the engine's vectors are its own objects and may be reused.
    const p = body.translation();
    const q = body.rotation();
    const v = body.linvel();
    const w = body.angvel();
    return {
      position: { x: p.x, y: p.y, z: p.z },
      quaternion: { x: q.x, y: q.y, z: q.z, w: q.w },
      velocity: { x: v.x, y: v.y, z: v.z },
      angularVelocity: { x: w.x, y: w.y, z: w.z },
      isSleeping: body.isSleeping(),
    };
  }

  awake(): string[] {
    this.#open();
    const ids: string[] = [];
    for (const [id, body] of this.#bodies) if (!body.isSleeping()) ids.push(id);
    return ids;
  }

  close(): void {
    if (!this.#world) return;
    // Frees every body and collider with the world.
    this.#world.free();
    this.#world = null;
    this.#bodies.clear();
  }

  #open(): World {
    if (!this.#world) throw new AppError('CLOSED', 'physics world is closed');
    return this.#world;
  }
}

const ZERO: Vec3 = { x: 0, y: 0, z: 0 };
const IDENTITY: Quat = { x: 0, y: 0, z: 0, w: 1 };

function checkVec(name: string, v: Vec3): void {
  if (!(Number.isFinite(v.x) && Number.isFinite(v.y) && Number.isFinite(v.z))) throw new TypeError(`${name} must have finite x, y and z`);
}

function normalise(q: Quat): Quat {
  const len = Math.hypot(q.x, q.y, q.z, q.w);
  if (!Number.isFinite(len) || len < 1e-9) throw new TypeError('quaternion must be finite and non-zero');
  return { x: q.x / len, y: q.y / len, z: q.z / len, w: q.w / len };
}
