/**
 * What the room page's networked entities carry, as NAF components (schema
 * index -> value, parity 3.1). Values from others are untrusted: anything
 * not of the right shape reads as null and is ignored.
 *
 * - An avatar (`#hubmesh-avatar`): `0` position `{x, y, z}` of the feet,
 *   `1` rotation `{x: pitch, y: yaw, z: 0}` in radians.
 * - A cube (`#hubmesh-cube-media`, so spawning it needs
 *   `spawn_and_move_media`): `0` position, `1` rotation, `2` `{held}`.
 */
import { readVec3 } from '../../src/core/components.js';

export type { Vec3 } from '../../src/core/components.js';
export const AVATAR_TEMPLATE = '#hubmesh-avatar';
export const CUBE_TEMPLATE = '#hubmesh-cube-media';

/** How far anyone may walk from the middle of the floor, in metres. */
export const FLOOR_HALF_SIZE = 12;
export const CUBE_SIZE = 0.5;

export interface Pose {
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly yaw: number;
  readonly pitch: number;
}

/** What the scene shows, for the page's tests and for anyone curious in the console. */
export interface SceneSnapshot {
  readonly isRendering: boolean;
  readonly self: Pose;
  readonly avatars: readonly { readonly sessionId: string; readonly name: string; readonly shown: Pose; readonly latest: Pose | null; readonly isSpeaking: boolean }[];
  readonly cubes: readonly { readonly networkId: string; readonly owner: string; readonly ownerName: string; readonly creator: string; readonly isHeld: boolean; readonly isMine: boolean; readonly shown: Pose }[];
  readonly frames: number;
}


const round = (v: number): number => Math.round(v * 1000) / 1000;

/** A pose as components `0` and `1`, to millimetres and milliradians (what NAF's 0.001 threshold would send). */
export function poseComponents(pose: Pose): Record<string, unknown> {
  return { '0': { x: round(pose.x), y: round(pose.y), z: round(pose.z) }, '1': { x: round(pose.pitch), y: round(pose.yaw), z: 0 } };
}

/** The pose in an entity's components; null when they do not hold one. */
export function readPose(components: Readonly<Record<string, unknown>>): Pose | null {
  const position = readVec3(components['0']);
  const rotation = readVec3(components['1']);
  if (!position) return null;
  return { ...position, yaw: rotation?.y ?? 0, pitch: rotation?.x ?? 0 };
}

export function readHeld(components: Readonly<Record<string, unknown>>): boolean {
  const value = components['2'];
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)['held'] === true;
}

/** Keeps a point on the floor. */
export function clampToFloor(v: number): number {
  return Math.max(-FLOOR_HALF_SIZE, Math.min(FLOOR_HALF_SIZE, v));
}

/** A stable colour per session, as an HSL hue in degrees. */
export function hueOf(sessionId: string): number {
  let h = 0;
  for (let i = 0; i < sessionId.length; i++) h = (h * 31 + sessionId.charCodeAt(i)) >>> 0;
  return h % 360;
}

/** Where a session first stands: on a circle round the middle, facing it, so people see each other on entering. */
export function spawnPose(sessionId: string): Pose {
  const angle = (hueOf(sessionId) / 360) * 2 * Math.PI;
  const x = Math.sin(angle) * 3;
  const z = Math.cos(angle) * 3;
  // Yaw 0 looks down -z (three.js cameras); facing the origin from (x, z) is atan2(x, z).
  return { x, y: 0, z, yaw: Math.atan2(x, z), pitch: 0 };
}
