/**
 * A typed listener map for the client, usable in the browser (no
 * `node:events`). A listener that throws does not stop the others or the
 * client: its error goes to the `onListenerError` hook.
 */
export type Listener<A extends readonly unknown[]> = (...args: A) => void;

export class TypedEmitter<E extends { [K in keyof E]: readonly unknown[] }> {
  readonly #listeners = new Map<keyof E, Set<Listener<never[]>>>();
  readonly #onListenerError: (err: unknown) => void;

  constructor(onListenerError: (err: unknown) => void = () => undefined) {
    this.#onListenerError = onListenerError;
  }

  /** Adds `listener` for `event`; returns the function that removes it. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    const stored = listener as unknown as Listener<never[]>;
    set.add(stored);
    return () => void set.delete(stored);
  }

  /** Calls every listener of `event` with `args`; one that throws is reported and skipped. */
  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as unknown as Listener<E[K]>)(...args);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}

/**
 * A reporter of errors to `error` listeners (`emit`) that drops an error
 * raised while one is being reported, so a listener that throws cannot loop.
 */
export function errorReporter(emit: (err: unknown) => void): (err: unknown) => void {
  let isReporting = false;
  return (err) => {
    if (isReporting) return;
    isReporting = true;
    try {
      emit(err);
    } finally {
      isReporting = false;
    }
  };
}
