/**
 * Writes queued frames once per event-loop turn: every socket that got frames
 * during this turn is corked, written and uncorked in one pass, so the frames
 * of a turn share one writev syscall per socket. The framing stays one
 * Phoenix message per websocket frame.
 */
export interface Flushable {
  flush(): void;
}

export class FlushScheduler {
  #dirty = new Set<Flushable>();
  #isScheduled = false;

  mark(target: Flushable): void {
    this.#dirty.add(target);
    if (this.#isScheduled) return;
    this.#isScheduled = true;
    setImmediate(this.#run);
  }

  #run = (): void => {
    this.#isScheduled = false;
    const dirty = this.#dirty;
    this.#dirty = new Set();
    for (const target of dirty) target.flush();
  };
}
