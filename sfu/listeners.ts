/**
 * Typed listener sets for the media engines' `on(event, listener)`. Listeners
 * run synchronously in registration order; a listener that throws does not
 * stop the others and does not reach the engine (src/ports/media-engine.ts).
 */
import type { Unsubscribe } from '../src/ports/media-engine.js';

type EventMap = Record<string, readonly unknown[]>;

export class Listeners<E extends EventMap> {
  readonly #sets = new Map<keyof E, Set<(...args: E[keyof E]) => void>>();

  /** Registers `listener`; the returned function removes it (and is idempotent). */
  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): Unsubscribe {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    let set = this.#sets.get(event);
    if (!set) this.#sets.set(event, (set = new Set()));
    // A wrapper per registration, so the same function added twice runs twice and is removed once per unsubscribe.
    const entry = (...args: E[keyof E]) => listener(...(args as E[K]));
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  /** Calls every listener of `event` with `args`, swallowing what they throw. */
  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#sets.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch {
        // The listener's bug, not the engine's (ports/media-engine.ts).
      }
    }
  }

  /** Drops every listener: a closed object emits nothing more. */
  clear(): void {
    this.#sets.clear();
  }
}
