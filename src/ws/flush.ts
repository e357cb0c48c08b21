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
 *
 * A socket's frames are joined into one buffer for its write (`join`), cut
 * from a slab the scheduler reuses pass after pass instead of allocating a
 * buffer per write. A write the kernel did not take at once keeps its bytes
 * referenced until it completes, so a pass with such a write (`pin`) leaves
 * its slab to the garbage collector and the next pass starts a fresh one.
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
const DEFAULT_FRAMES_PER_MS = 2;
const SLAB_BYTES = 256 * 1024;

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
  #slab = Buffer.allocUnsafe(SLAB_BYTES);
  #slabUsed = 0;
  #isSlabPinned = false;

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

  /**
   * `frames` joined into one buffer of `size` bytes, valid until the end of
   * the current pass unless pinned. The caller writes it at once.
   */
  join(frames: readonly Buffer[], size: number): Buffer {
    if (size > SLAB_BYTES) return Buffer.concat(frames, size);
    if (this.#slabUsed + size > SLAB_BYTES) this.#newSlab();
    const out = this.#slab.subarray(this.#slabUsed, this.#slabUsed + size);
    this.#slabUsed += size;
    let at = 0;
    for (const frame of frames) at += frame.copy(out, at);
    return out;
  }

  /** A buffer from `join` is still referenced by a write under way: its slab is not reused. */
  pin(): void {
    this.#isSlabPinned = true;
  }

  #newSlab(): void {
    this.#slab = Buffer.allocUnsafe(SLAB_BYTES);
    this.#slabUsed = 0;
    this.#isSlabPinned = false;
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
    // Every write of the pass handed its bytes to the kernel: the slab can be written over.
    if (this.#isSlabPinned) this.#newSlab();
    else this.#slabUsed = 0;
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
