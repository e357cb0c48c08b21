/**
 * `wanderer`: an NPC avatar the server owns, walking from one point of the
 * floor to the next, and stepping aside from people. It walks whether or not
 * anyone is in the room, so a newcomer finds it wherever it got to.
 *
 * The avatar is the room page's (`#hubmesh-avatar`: component `0` the
 * position of its feet, `1` the rotation `{x: pitch, y: yaw, z: 0}` in
 * radians), so the page draws it like a person. Settings
 * (`hubmesh_simulation_settings.wanderer`): `speed` (m/s, default 1.2),
 * `halfSize` (m, the floor it keeps to, default 10), `personalSpace` (m, how
 * far it keeps from people, default 1.5).
 */
import { clampNumber } from '../core/components.js';
import type { Payload } from '../protocol/frames.js';
import type { SimContext, SimEntity, Simulation, SimulationModule, SimulationOptions } from './simulation.js';
import { SERVER_OWNER } from './simulation.js';
// Seeded, so a snapshot resumes the same walk.
import { nextRandom } from '../core/random.js';

export const WANDERER_TEMPLATE = '#hubmesh-avatar';

const TICK_HZ = 10;
const ARRIVED_M = 0.3;

interface Walk {
  networkId: string | null;
  x: number;
  z: number;
  yaw: number;
  targetX: number;
  targetZ: number;
  seed: number;
}

function positionOf(entity: SimEntity): { x: number; z: number } | null {
  const p = entity.components['0'];
  if (typeof p !== 'object' || p === null) return null;
  const { x, z } = p as Record<string, unknown>;
  return typeof x === 'number' && typeof z === 'number' && Number.isFinite(x) && Number.isFinite(z) ? { x, z } : null;
}

class Wanderer implements Simulation {
  readonly tickHz = TICK_HZ;
  readonly #speed: number;
  readonly #halfSize: number;
  readonly #space: number;
  #walk: Walk;

  constructor(settings: Payload, seed: number) {
    this.#speed = clampNumber(settings['speed'], 1.2, 0.1, 10);
    this.#halfSize = clampNumber(settings['halfSize'], 10, 1, 1000);
    this.#space = clampNumber(settings['personalSpace'], 1.5, 0, 10);
    this.#walk = { networkId: null, x: 0, z: 0, yaw: 0, targetX: 0, targetZ: 0, seed };
  }

  get bodyCount(): number {
    return this.#walk.networkId === null ? 0 : 1;
  }

  owns(): boolean {
    return false;
  }

  init(ctx: SimContext): void {
    this.#pickTarget();
    this.#walk.networkId = ctx.spawn(WANDERER_TEMPLATE, this.#components());
  }

  restore(ctx: SimContext, snapshot: Payload): void {
    const w = snapshot as Partial<Record<keyof Walk, unknown>>;
    const h = this.#halfSize;
    this.#walk = {
      networkId: typeof w.networkId === 'string' ? w.networkId : null,
      x: clampNumber(w.x, 0, -h, h),
      z: clampNumber(w.z, 0, -h, h),
      yaw: clampNumber(w.yaw, 0, -1e6, 1e6),
      targetX: clampNumber(w.targetX, 0, -h, h),
      targetZ: clampNumber(w.targetZ, 0, -h, h),
      seed: clampNumber(w.seed, this.#walk.seed, 0, 2 ** 32 - 1) >>> 0,
    };
    const opts = this.#walk.networkId === null ? {} : { networkId: this.#walk.networkId };
    this.#walk.networkId = ctx.spawn(WANDERER_TEMPLATE, this.#components(), opts);
  }

  snapshot(): Payload {
    return { ...this.#walk };
  }

  onMessage(ctx: SimContext, event: Parameters<Simulation['onMessage']>[1]): void {
    // Nobody may remove the server's avatar but the server; if it went anyway (the room was cleared), walk on with a new one.
    if (event.type === 'removed' && event.networkId === this.#walk.networkId) this.#walk.networkId = ctx.spawn(WANDERER_TEMPLATE, this.#components());
  }

  tick(ctx: SimContext, dt: number): void {
    const w = this.#walk;
    if (w.networkId === null) return;
    const people = this.#people(ctx);
    const near = people.find((p) => Math.hypot(p.x - w.x, p.z - w.z) < this.#space);
    // Someone too close: walk away from them, to a point on the far side.
    if (near) {
      const away = Math.atan2(w.x - near.x, w.z - near.z);
      w.targetX = this.#clamp(w.x + Math.sin(away) * 3);
      w.targetZ = this.#clamp(w.z + Math.cos(away) * 3);
    } else if (Math.hypot(w.targetX - w.x, w.targetZ - w.z) < ARRIVED_M) {
      this.#pickTarget();
    }
    const dx = w.targetX - w.x;
    const dz = w.targetZ - w.z;
    const distance = Math.hypot(dx, dz);
    const step = Math.min(distance, this.#speed * dt);
    if (distance > 0) {
      w.x = this.#clamp(w.x + (dx / distance) * step);
      w.z = this.#clamp(w.z + (dz / distance) * step);
      // Yaw 0 looks down -z, as the page's camera and avatars do.
      w.yaw = Math.atan2(-dx, -dz);
    }
    ctx.update(w.networkId, this.#components());
  }

  #people(ctx: SimContext): { x: number; z: number }[] {
    const members = new Set(ctx.members());
    const out: { x: number; z: number }[] = [];
    for (const e of ctx.entities()) {
      if (!e.template.endsWith('-avatar') || e.owner === SERVER_OWNER || !members.has(e.owner)) continue;
      const p = positionOf(e);
      if (p) out.push(p);
    }
    return out;
  }

  #pickTarget(): void {
    const w = this.#walk;
    const [a, s1] = nextRandom(w.seed);
    const [b, s2] = nextRandom(s1);
    w.seed = s2;
    w.targetX = (a * 2 - 1) * this.#halfSize;
    w.targetZ = (b * 2 - 1) * this.#halfSize;
  }

  #clamp(v: number): number {
    return Math.max(-this.#halfSize, Math.min(this.#halfSize, v));
  }

  #components(): Record<string, unknown> {
    const r = (v: number) => Math.round(v * 1000) / 1000;
    return { '0': { x: r(this.#walk.x), y: 0, z: r(this.#walk.z) }, '1': { x: 0, y: r(this.#walk.yaw), z: 0 } };
  }
}

function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

export const wanderer: SimulationModule = {
  name: 'wanderer',
  create: (opts: SimulationOptions) => new Wanderer(opts.settings, seedOf(opts.hubSid)),
};
