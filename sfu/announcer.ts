/**
 * Tells the placement side (parity 7.5) that this SFU exists and how loaded
 * it is: an `SfuAnnouncement` at start, every `everyMs` after, and a last
 * one with `accepting: false` when it closes, so no new room is sent here
 * while it drains. Where announcements go (the bus, the local relay's
 * directory) is the caller's `publish`.
 *
 * Close: `close()` cancels the timer and publishes the last announcement;
 * idempotent.
 */
import type { SfuAnnouncement } from '../src/core/sfu-placement.js';
import type { Clock, Timer } from '../src/ports/clock.js';
import type { SfuLoad } from './sfu-server.js';

export interface SfuAnnouncerDeps {
  readonly clock: Clock;
  readonly everyMs: number;
  /** Stable for the life of the process. */
  readonly id: string;
  /** Where clients reach the SFU's signaling websocket. */
  readonly host: string;
  readonly port: number;
  load(): SfuLoad;
  /** Hands an announcement on; a failure here is the callee's to log. */
  publish(announcement: SfuAnnouncement): void;
}

export class SfuAnnouncer {
  readonly #deps: SfuAnnouncerDeps;
  readonly #timer: Timer;
  #isClosed = false;

  /** Announces at once, then every `everyMs`. */
  constructor(deps: SfuAnnouncerDeps) {
    if (!Number.isInteger(deps.everyMs) || deps.everyMs <= 0) throw new TypeError('everyMs must be a positive integer');
    this.#deps = deps;
    this.#timer = deps.clock.setInterval(() => this.announce(), deps.everyMs);
    this.announce();
  }

  /** The announcement as of now. */
  current(accepting = true): SfuAnnouncement {
    const { id, host, port } = this.#deps;
    const load = this.#deps.load();
    return { id, host, port, peers: load.peers, consumers: load.consumers, maxConsumers: load.maxConsumers, rooms: load.rooms, accepting: accepting && load.accepting };
  }

  announce(): void {
    if (!this.#isClosed) this.#deps.publish(this.current());
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#timer.cancel();
    this.#deps.publish(this.current(false));
  }
}
