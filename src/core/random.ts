/**
 * mulberry32: a small seeded generator of numbers in [0, 1), the same
 * sequence on every machine. Used where a run must be repeatable: the
 * wanderer's walk (its seed is in its snapshot), the chaos suite's traffic
 * and the benchmarks' scenes.
 */

/** The next number of the sequence at `seed`, and the seed after it. */
export function nextRandom(seed: number): [value: number, seed: number] {
  const s = (seed + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, s];
}

/** A generator that walks the sequence from `seed`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    const [value, next] = nextRandom(state);
    state = next;
    return value;
  };
}
