/**
 * Smooths another person's avatar or object between the poses its owner
 * sends at 15 Hz: it is drawn `delayMs` behind the newest pose (NAF's 0.1 s
 * buffer), interpolated between the two poses around that time, and held at
 * the newest one when nothing newer has come. Yaw takes the short way round.
 */
import type { Pose } from './schema.js';

interface Sample {
  readonly at: number;
  readonly pose: Pose;
}

const MAX_SAMPLES = 16;

export const INTERPOLATION_DELAY_MS = 100;

/** The angle from `a` to `b` the short way round, in (-PI, PI]. */
export function angleDelta(a: number, b: number): number {
  const d = (b - a) % (2 * Math.PI);
  if (d > Math.PI) return d - 2 * Math.PI;
  if (d <= -Math.PI) return d + 2 * Math.PI;
  return d;
}

const lerp = (a: number, b: number, t: number): number => a + (b - a) * t;

export class PoseBuffer {
  readonly #samples: Sample[] = [];
  readonly #delayMs: number;

  constructor(delayMs = INTERPOLATION_DELAY_MS) {
    this.#delayMs = delayMs;
  }

  /** The newest pose received; null before any. */
  get latest(): Pose | null {
    return this.#samples.at(-1)?.pose ?? null;
  }

  /** Adds the pose received at `at` (ms, a monotonic clock). Out-of-order times are clamped to the newest. */
  push(at: number, pose: Pose): void {
    const last = this.#samples.at(-1);
    this.#samples.push({ at: last && at < last.at ? last.at : at, pose });
    if (this.#samples.length > MAX_SAMPLES) this.#samples.shift();
  }

  /** Whether the pose drawn at `now` can still change (the newest pose is not reached yet). */
  isMoving(now: number): boolean {
    const last = this.#samples.at(-1);
    return last !== undefined && this.#samples.length > 1 && now - this.#delayMs < last.at;
  }

  /** The pose to draw at `now`; null before any pose. */
  sample(now: number): Pose | null {
    const samples = this.#samples;
    const first = samples[0];
    if (!first) return null;
    const t = now - this.#delayMs;
    if (t <= first.at) return first.pose;
    for (let i = samples.length - 1; i > 0; i--) {
      const a = samples[i - 1]!;
      const b = samples[i]!;
      if (t < a.at) continue;
      if (t >= b.at) return b.pose;
      const f = b.at === a.at ? 1 : (t - a.at) / (b.at - a.at);
      return {
        x: lerp(a.pose.x, b.pose.x, f),
        y: lerp(a.pose.y, b.pose.y, f),
        z: lerp(a.pose.z, b.pose.z, f),
        yaw: a.pose.yaw + angleDelta(a.pose.yaw, b.pose.yaw) * f,
        pitch: lerp(a.pose.pitch, b.pose.pitch, f),
      };
    }
    return samples.at(-1)!.pose;
  }
}
