import { describe, it, expect } from 'vitest';
import { isFlooding, newBucket, takeToken, type RateLimit } from '../../src/core/rate-limit.js';

const limit: RateLimit = { perSec: 10, burst: 5 };

function takeMany(n: number, bucket: ReturnType<typeof newBucket>, nowMs: number): boolean[] {
  return Array.from({ length: n }, () => takeToken(bucket, limit, nowMs));
}

describe('rate limit token bucket', () => {
  it('starts full', () => {
    expect(newBucket(limit, 1000)).toEqual({ tokens: 5, updatedAtMs: 1000, refusedInRow: 0 });
  });

  it('allows a burst, then refuses', () => {
    const bucket = newBucket(limit, 0);
    expect(takeMany(5, bucket, 0)).toEqual([true, true, true, true, true]);
    expect(takeToken(bucket, limit, 0)).toBe(false);
    expect(bucket.refusedInRow).toBe(1);
  });

  it('refills at perSec', () => {
    const bucket = newBucket(limit, 0);
    takeMany(5, bucket, 0);
    expect(takeToken(bucket, limit, 99)).toBe(false);
    // 10/s: by t=199 another ~1 token has accumulated since t=99.
    expect(takeToken(bucket, limit, 199)).toBe(true);
    expect(takeToken(bucket, limit, 199)).toBe(false);
  });

  it('accumulates fractional tokens across calls', () => {
    const bucket = newBucket(limit, 0);
    takeMany(5, bucket, 0);
    expect(takeToken(bucket, limit, 50)).toBe(false);
    expect(takeToken(bucket, limit, 100)).toBe(true);
  });

  it('refills no further than burst', () => {
    const bucket = newBucket(limit, 0);
    takeMany(5, bucket, 0);
    expect(takeMany(6, bucket, 60_000)).toEqual([true, true, true, true, true, false]);
  });

  it('gives nothing when the clock goes backwards', () => {
    const bucket = newBucket(limit, 10_000);
    takeMany(5, bucket, 10_000);
    expect(takeToken(bucket, limit, 5_000)).toBe(false);
  });

  it('does not hand out a second burst when the clock steps back and forward again', () => {
    const bucket = newBucket(limit, 10_000);
    takeMany(5, bucket, 10_000);
    expect(takeToken(bucket, limit, 5_000)).toBe(false);
    expect(takeMany(5, bucket, 10_000)).toEqual([false, false, false, false, false]);
  });

  it('is flooding after burst refusals in a row, not before', () => {
    const bucket = newBucket(limit, 0);
    takeMany(5, bucket, 0);
    takeMany(4, bucket, 0);
    expect(bucket.refusedInRow).toBe(4);
    expect(isFlooding(bucket, limit)).toBe(false);
    takeToken(bucket, limit, 0);
    expect(isFlooding(bucket, limit)).toBe(true);
  });

  it('a success resets refusedInRow', () => {
    const bucket = newBucket(limit, 0);
    takeMany(5, bucket, 0);
    takeMany(4, bucket, 0);
    expect(takeToken(bucket, limit, 100)).toBe(true);
    expect(bucket.refusedInRow).toBe(0);
    expect(isFlooding(bucket, limit)).toBe(false);
  });

  it('sustains perSec frames a second indefinitely', () => {
    const bucket = newBucket(limit, 0);
    takeMany(5, bucket, 0);
    for (let t = 100; t <= 10_000; t += 100) expect(takeToken(bucket, limit, t)).toBe(true);
    expect(bucket.refusedInRow).toBe(0);
  });
});
