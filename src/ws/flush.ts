/**
 * Writes queued frames in batches: every socket that got frames since the
 * last flush is corked, written and uncorked in one pass, so its frames share
 * one writev syscall. The framing stays one Phoenix message per websocket
 * frame.
 *
 * When the node is quiet a flush runs on the next event-loop turn, so a lone
 * message waits for nothing. As the rate of frames rises, the flush waits
 * longer, up to `maxDelayMs`, so each syscall carries more frames: the
 * per-write cost (the syscall and the stream's bookkeeping), which dominates
 * a relay, is shared by more deliveries at the price of that much latency.
 * The wait grows by one millisecond per `framesPerMs` frames a millisecond
 * the node wrote over the last second.
 */
export interface Flushable {
  /** Writes what is queued; returns how many frames went out. */
  flush(): number;
}

export interface FlushOptions {
  /** The longest a frame waits for its flush, in milliseconds; 0 flushes every turn. */
  readonly maxDelayMs: number;
  /** Frames per millisecond (over the last second) that add one millisecond of wait. */
  readonly framesPerMs?: number;
  readonly now?: () => number;
}

const WINDOW_MS = 1000;
const DEFAULT_FRAMES_PER_MS = 4;

export class FlushScheduler {
  #dirty = new Set<Flushable>();
  #isScheduled = false;
  readonly #maxDelayMs: number;
  readonly #framesPerMs: number;
  readonly #now: () => number;
  /** Frames written in the current and the previous window, for the rate. */
  #windowStart = 0;
  #windowFrames = 0;
  #lastWindowFrames = 0;

  constructor(opts: FlushOptions = { maxDelayMs: 0 }) {
    this.#maxDelayMs = Math.max(0, opts.maxDelayMs);
    this.#framesPerMs = opts.framesPerMs ?? DEFAULT_FRAMES_PER_MS;
    this.#now = opts.now ?? Date.now;
  }

  /** How long the next flush waits now, in milliseconds. */
  get delayMs(): number {
    if (this.#maxDelayMs === 0) return 0;
    const perMs = Math.max(this.#lastWindowFrames, this.#windowFrames) / WINDOW_MS;
    return Math.min(this.#maxDelayMs, Math.floor(perMs / this.#framesPerMs));
  }

  mark(target: Flushable): void {
    this.#dirty.add(target);
    if (this.#isScheduled) return;
    this.#isScheduled = true;
    const delay = this.delayMs;
    if (delay === 0) setImmediate(this.#run);
    else setTimeout(this.#run, delay).unref();
  }

  /** Writes everything queued now (shutdown, or a socket closing). */
  flushAll(): void {
    this.#run();
  }

  #run = (): void => {
    this.#isScheduled = false;
    const dirty = this.#dirty;
    this.#dirty = new Set();
    let frames = 0;
    for (const target of dirty) frames += target.flush();
    this.#count(frames);
  };

  #count(frames: number): void {
    const now = this.#now();
    if (now - this.#windowStart >= WINDOW_MS) {
      // A window with nothing in between counts as quiet.
      this.#lastWindowFrames = now - this.#windowStart >= 2 * WINDOW_MS ? 0 : this.#windowFrames;
      this.#windowFrames = 0;
      this.#windowStart = now;
    }
    this.#windowFrames += frames;
  }
}
