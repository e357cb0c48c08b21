/**
 * Time, injected so actors and sockets can be driven by a test clock.
 * Synchronous by nature: a Promise per `now()` would be the wrong trade.
 */
export interface Timer {
  /** Cancels the timer; idempotent. */
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms`. The timer does not keep the process alive. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Runs `fn` every `ms` until cancelled. The timer does not keep the process alive. */
  setInterval(fn: () => void, ms: number): Timer;
}
