/**
 * A token bucket per socket: `burst` frames at once, refilled at `perSec`.
 * The caller passes the time, so this stays pure.
 */
export interface RateBucket {
  tokens: number;
  updatedAtMs: number;
  /** Frames refused since the last one allowed; a socket that keeps flooding is closed. */
  refusedInRow: number;
}

export interface RateLimit {
  readonly perSec: number;
  readonly burst: number;
}

export function newBucket(limit: RateLimit, nowMs: number): RateBucket {
  return { tokens: limit.burst, updatedAtMs: nowMs, refusedInRow: 0 };
}

/** Takes one token if there is one. Mutates the bucket (it is per socket and hot). */
export function takeToken(bucket: RateBucket, limit: RateLimit, nowMs: number): boolean {
  const elapsedMs = Math.max(0, nowMs - bucket.updatedAtMs);
  bucket.tokens = Math.min(limit.burst, bucket.tokens + (elapsedMs * limit.perSec) / 1000);
  // Never move backwards: a wall clock that steps back must not hand out a second burst.
  bucket.updatedAtMs = Math.max(bucket.updatedAtMs, nowMs);
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    bucket.refusedInRow = 0;
    return true;
  }
  bucket.refusedInRow += 1;
  return false;
}

/** A socket that has had a whole burst refused in a row is flooding, not bursting. */
export function isFlooding(bucket: RateBucket, limit: RateLimit): boolean {
  return bucket.refusedInRow >= limit.burst;
}
