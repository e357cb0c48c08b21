/**
 * Which SFU processes are alive, and how loaded, as their announcements say
 * (parity 7.5; src/core/sfu-placement.ts). SFUs publish on
 * SFU_ANNOUNCE_SUBJECT every `announceMs`; an SFU in this process, which the
 * bus never loops back, is handed over with `saw()`. One not heard from for
 * three periods is forgotten and `gone` is emitted, so the rooms assigned to
 * it move; `up` is emitted when one is heard for the first time, so rooms
 * without an SFU get one.
 *
 * Close cascade: `close()` stops the timer and the subscription and drops
 * every listener.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { decodeSfuAnnouncement, formatSfuHost, isSfuAnnouncement, pickSfu, SFU_ANNOUNCE_SUBJECT, type SfuAnnouncement } from '../src/core/sfu-placement.js';
import type { Bus, BusSubscription } from '../src/ports/bus.js';
import type { Clock, Timer } from '../src/ports/clock.js';
import type { Metrics } from '../src/ports/metrics.js';

/** What a room needs to know of the SFUs (actors/hub/host.ts). */
export interface SfuHosts {
  /**
   * Whether an SFU answers at a recorded address (`name:port`): true when a
   * live one does; false when none does; undefined while the directory is
   * too young to know (it has not yet heard every live SFU announce).
   */
  isLive(host: string): boolean | undefined;
  /** An SFU for a room, by spare capacity (`pickSfu`); undefined when none takes rooms. */
  pick(): SfuAnnouncement | undefined;
}

export interface SfuDirectoryDeps {
  /** The cluster; without one only SFUs handed to `saw()` are known. */
  readonly bus?: Bus;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** How often SFUs announce (`sfuAnnounceMs`). */
  readonly announceMs: number;
  /** A number in [0, 1); Math.random unless a test needs the pick fixed. */
  readonly random?: () => number;
}

export interface SfuDirectoryEvents {
  up: [SfuAnnouncement];
  gone: [SfuAnnouncement];
}

/** Periods of silence after which an SFU is taken for gone. */
const GONE_PERIODS = 3;
/** Periods after start after which every live SFU has announced at least once. */
const SETTLE_PERIODS = 2;

export class SfuDirectory extends EventEmitter<SfuDirectoryEvents> implements SfuHosts {
  readonly #deps: SfuDirectoryDeps;
  readonly #startedAt: number;
  /** id -> the last announcement and when it came. */
  readonly #sfus = new Map<string, { a: SfuAnnouncement; at: number }>();
  #timer: Timer | undefined;
  #sub: BusSubscription | undefined;
  #closed = false;

  private constructor(deps: SfuDirectoryDeps) {
    super();
    this.#deps = deps;
    this.#startedAt = deps.clock.now();
  }

  /** Starts listening; resolves once the subscription is live. */
  static async start(deps: SfuDirectoryDeps): Promise<SfuDirectory> {
    if (!(Number.isInteger(deps.announceMs) && deps.announceMs > 0)) throw new TypeError('announceMs must be a positive integer');
    const directory = new SfuDirectory(deps);
    directory.#timer = deps.clock.setInterval(() => directory.#check(), deps.announceMs);
    try {
      directory.#sub = await deps.bus?.subscribe(SFU_ANNOUNCE_SUBJECT, (msg) => {
        const a = decodeSfuAnnouncement(msg.data);
        if (a) directory.#heard(a);
        else deps.metrics.inc('sfu_announcements_dropped_total');
      });
    } catch (err) {
      await directory.close();
      throw err;
    }
    return directory;
  }

  /** An SFU of this process announced itself. Throws TypeError for a malformed announcement. */
  saw(a: SfuAnnouncement): void {
    if (!isSfuAnnouncement(a)) throw new TypeError('not an SFU announcement');
    this.#heard(a);
  }

  /** The SFUs heard within the last three periods, by id. */
  get sfus(): SfuAnnouncement[] {
    const cutoff = this.#cutoff();
    return [...this.#sfus.values()].filter((e) => e.at >= cutoff).map((e) => e.a);
  }

  isLive(host: string): boolean | undefined {
    if (this.sfus.some((a) => formatSfuHost(a) === host)) return true;
    return this.#deps.clock.now() - this.#startedAt >= SETTLE_PERIODS * this.#deps.announceMs ? false : undefined;
  }

  pick(): SfuAnnouncement | undefined {
    return pickSfu(this.sfus, this.#deps.random ?? Math.random);
  }

  #heard(a: SfuAnnouncement): void {
    if (this.#closed) return;
    const isNew = !this.#sfus.has(a.id);
    this.#sfus.set(a.id, { a, at: this.#deps.clock.now() });
    if (!isNew) return;
    this.#deps.log.info({ sfuId: a.id, host: a.host, port: a.port }, 'sfu up');
    this.#emit('up', a);
  }

  #cutoff(): number {
    return this.#deps.clock.now() - GONE_PERIODS * this.#deps.announceMs;
  }

  #check(): void {
    const cutoff = this.#cutoff();
    for (const [id, { a, at }] of this.#sfus) {
      if (at >= cutoff) continue;
      this.#sfus.delete(id);
      this.#deps.metrics.inc('sfus_gone_total');
      this.#deps.log.warn({ sfuId: id, host: a.host, port: a.port }, 'sfu gone');
      this.#emit('gone', a);
    }
  }

  /** Emits without letting a listener's exception reach the bus or the timer. */
  #emit(event: keyof SfuDirectoryEvents, a: SfuAnnouncement): void {
    try {
      this.emit(event, a);
    } catch (err) {
      this.#deps.log.error({ err, event }, 'sfu directory listener failed');
    }
  }

  /** Stops listening and forgets every SFU. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer?.cancel();
    this.#sfus.clear();
    this.removeAllListeners();
    await this.#sub?.unsubscribe().catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
