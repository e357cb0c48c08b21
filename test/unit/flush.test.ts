/** Batched writes (src/ws/flush.ts): a quiet node writes every turn; a busy one waits longer, up to the cap, so each write carries more frames. */
import { describe, expect, it } from 'vitest';
import { FlushScheduler, type Flushable } from '../../src/ws/flush.js';

/** A socket with `frames` queued each time it is marked. */
function socket(frames: number): Flushable & { flushes: number } {
  return {
    flushes: 0,
    flush() {
      this.flushes++;
      return frames;
    },
  };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('FlushScheduler', () => {
  it('writes on the next turn while quiet, each marked socket once', async () => {
    const scheduler = new FlushScheduler({ maxDelayMs: 20 });
    const a = socket(1);
    const b = socket(1);
    scheduler.mark(a);
    scheduler.mark(b);
    scheduler.mark(a);
    expect(scheduler.delayMs).toBe(0);
    await turn();
    expect([a.flushes, b.flushes]).toEqual([1, 1]);
  });

  it('waits longer as the rate of frames rises, up to its cap, and again not at all once quiet', () => {
    let now = 0;
    const scheduler = new FlushScheduler({ maxDelayMs: 20, framesPerMs: 4, now: () => now });
    const busy = socket(4000);
    // 4 000 frames in a window: 4 a millisecond, one millisecond of wait.
    scheduler.mark(busy);
    scheduler.flushAll();
    expect(scheduler.delayMs).toBe(1);
    for (let i = 0; i < 9; i++) {
      scheduler.mark(busy);
      scheduler.flushAll();
    }
    // 40 000 frames: 10 ms.
    expect(scheduler.delayMs).toBe(10);
    for (let i = 0; i < 30; i++) {
      scheduler.mark(busy);
      scheduler.flushAll();
    }
    expect(scheduler.delayMs).toBe(20);
    // The next window still remembers the last; two quiet windows later it is quiet again.
    now = 1000;
    scheduler.mark(socket(0));
    scheduler.flushAll();
    expect(scheduler.delayMs).toBe(20);
    now = 3500;
    scheduler.mark(socket(0));
    scheduler.flushAll();
    expect(scheduler.delayMs).toBe(0);
  });

  it('never waits with a cap of 0', () => {
    const scheduler = new FlushScheduler({ maxDelayMs: 0 });
    for (let i = 0; i < 100; i++) {
      scheduler.mark(socket(100_000));
      scheduler.flushAll();
    }
    expect(scheduler.delayMs).toBe(0);
  });

  describe('joining a socket\'s frames', () => {
    const frames = (...texts: string[]) => texts.map((t) => Buffer.from(t));
    /** A socket whose flush joins its frames, as a connection does, and keeps what it got. */
    function joiner(scheduler: FlushScheduler, texts: string[], isPending = false): Flushable & { out: Buffer[] } {
      return {
        out: [],
        flush() {
          const queue = frames(...texts);
          this.out.push(scheduler.join(queue, queue.reduce((n, b) => n + b.length, 0)));
          if (isPending) scheduler.pin();
          return queue.length;
        },
      };
    }

    it('gives each socket its frames in order, in buffers that do not overlap within a pass', () => {
      const scheduler = new FlushScheduler({ maxDelayMs: 0 });
      const a = joiner(scheduler, ['ab', 'cd']);
      const b = joiner(scheduler, ['ef', 'g']);
      scheduler.mark(a);
      scheduler.mark(b);
      scheduler.flushAll();
      expect([a.out[0]!.toString(), b.out[0]!.toString()]).toEqual(['abcd', 'efg']);
      expect(a.out[0]!.buffer).toBe(b.out[0]!.buffer);
      expect(b.out[0]!.byteOffset).toBe(a.out[0]!.byteOffset + 4);
    });

    it('reuses the slab in the next pass, unless a write of the pass was left pending', () => {
      const scheduler = new FlushScheduler({ maxDelayMs: 0 });
      const done = joiner(scheduler, ['xy']);
      scheduler.mark(done);
      scheduler.flushAll();
      scheduler.mark(done);
      scheduler.flushAll();
      expect(done.out[1]!.buffer).toBe(done.out[0]!.buffer);
      expect(done.out[1]!.byteOffset).toBe(done.out[0]!.byteOffset);

      const pending = joiner(scheduler, ['kept'], true);
      scheduler.mark(pending);
      scheduler.flushAll();
      scheduler.mark(done);
      scheduler.flushAll();
      expect(done.out[2]!.buffer).not.toBe(pending.out[0]!.buffer);
      expect(pending.out[0]!.toString()).toBe('kept');
    });

    it('joins more than a slab holds into a buffer of its own', () => {
      const scheduler = new FlushScheduler({ maxDelayMs: 0 });
      const big = 'z'.repeat(200 * 1024);
      const a = joiner(scheduler, [big, big]);
      scheduler.mark(a);
      scheduler.flushAll();
      expect(a.out[0]!.length).toBe(400 * 1024);
      expect(a.out[0]!.toString()).toBe(big + big);
    });
  });
});
