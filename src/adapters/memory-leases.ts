/**
 * Leases in process: one MemoryLeaseBoard shared by the nodes of a process
 * (tests run clusters this way), each node with its own handle. Semantics:
 * src/ports/leases.ts.
 */
import { AppError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { Leases } from '../ports/leases.js';

export class MemoryLeaseBoard {
  readonly #held = new Map<string, { holder: string; until: number }>();

  constructor(
    readonly clock: Clock,
    readonly ttlMs: number,
  ) {}

  /** A handle for one node. */
  leases(): Leases {
    let isClosed = false;
    const check = () => {
      if (isClosed) throw new AppError('CLOSED', 'leases are closed');
    };
    const live = (key: string) => {
      const lease = this.#held.get(key);
      return lease && lease.until > this.clock.now() ? lease : undefined;
    };
    return {
      claim: async (key, holder) => {
        check();
        const lease = live(key);
        if (lease) return lease.holder;
        this.#held.set(key, { holder, until: this.clock.now() + this.ttlMs });
        return holder;
      },
      renew: async (key, holder) => {
        check();
        const lease = live(key);
        if (lease?.holder !== holder) return false;
        lease.until = this.clock.now() + this.ttlMs;
        return true;
      },
      release: async (key, holder) => {
        check();
        if (this.#held.get(key)?.holder === holder) this.#held.delete(key);
      },
      close: async () => {
        isClosed = true;
      },
    };
  }
}
