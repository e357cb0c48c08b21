/**
 * Reading values that arrive in NAF components, room settings or snapshots:
 * untrusted, so anything not of the right shape reads as null or as the
 * fallback, never as a crash or a NaN inside a simulation or a scene.
 */

export interface Vec3 {
  readonly x: number;
  readonly y: number;
  readonly z: number;
}

/** No coordinate a room uses comes near this; anything past it is garbage. */
const LIMIT = 1e4;

/** A finite number within ±10 km. */
export const isCoord = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < LIMIT;

/** `{x, y, z}` of coordinates, or null when `value` is not one. */
export function readVec3(value: unknown): Vec3 | null {
  if (typeof value !== 'object' || value === null) return null;
  const { x, y, z } = value as Record<string, unknown>;
  return isCoord(x) && isCoord(y) && isCoord(z) ? { x, y, z } : null;
}

/** A finite number clamped to [min, max], or `fallback` when `value` is not a finite number. */
export function clampNumber(value: unknown, fallback: number, min: number, max: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}
