import { describe, expect, it } from 'vitest';
import { nextRandom, seededRandom } from '../../src/core/random.js';

describe('mulberry32', () => {
  it('gives the same sequence as before on every machine (snapshots and replays depend on it)', () => {
    const random = seededRandom(20261121);
    expect([random(), random(), random()]).toEqual([0.6913962827529758, 0.3520768517628312, 0.5383691973984241]);
  });

  it('walks the same sequence one step at a time, returning the seed to go on from', () => {
    const random = seededRandom(7);
    let seed = 7;
    for (let i = 0; i < 100; i++) {
      const [value, next] = nextRandom(seed);
      expect(value).toBe(random());
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
      seed = next;
    }
  });
});
