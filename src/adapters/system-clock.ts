import type { Clock, Timer } from '../ports/clock.js';

/** The real clock: Date.now and Node timers, unref'd so they never hold the process open. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  }

  setInterval(fn: () => void, ms: number): Timer {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  }
}
