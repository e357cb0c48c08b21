/**
 * A room's home: the node holding the room's lease admits every join, so the
 * room size holds across the cluster however many nodes are joining people
 * at once (Reticulum leaves the cap to the client, parity 4.8). The home
 * counts the members it knows of on every node plus the sessions it admitted
 * that have not shown up in presence yet. A node that cannot reach the home
 * tries to become it (the lease may have run out because the home died);
 * failing that it decides on what it knows, and says so in the log.
 *
 * Close cascade: `close()` stops renewing, stops answering and releases the
 * lease, so another node can take over at once.
 */
import type { Logger } from 'pino';
import { AppError } from '../../src/errors.js';
import type { Bus, BusSubscription } from '../../src/ports/bus.js';
import type { Clock, Timer } from '../../src/ports/clock.js';
import type { Leases } from '../../src/ports/leases.js';
import type { Metrics } from '../../src/ports/metrics.js';
import type { Room } from './room.js';

export interface HomeDeps {
  readonly bus: Bus;
  readonly leases: Leases;
  readonly nodeId: string;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly leaseTtlMs: number;
}

/** How long an admitted session holds its place before it shows up in presence. */
const RESERVE_MS = 10_000;
const ADMIT_TIMEOUT_MS = 1000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class RoomHome {
  readonly #room: Room;
  readonly #deps: HomeDeps;
  readonly #reservations = new Map<string, number>();
  #isMine = false;
  #renewal: Timer | undefined;
  #answering: BusSubscription | undefined;
  #claiming: Promise<boolean> | undefined;
  #retry: Timer | undefined;
  #closed = false;
  /** Told when this node becomes the home or stops being it (the room's simulations follow the home). */
  onChange: ((isMine: boolean) => void) | undefined;

  constructor(room: Room, deps: HomeDeps) {
    this.#room = room;
    this.#deps = deps;
  }

  get #key(): string {
    return `hub.${this.#room.hub.hubSid}`;
  }

  get isMine(): boolean {
    return this.#isMine;
  }

  /** Takes the lease if it is free; resolves to whether this node is the home now. Concurrent calls share one attempt. */
  claim(): Promise<boolean> {
    this.#claiming ??= this.#claim().finally(() => {
      this.#claiming = undefined;
    });
    return this.#claiming;
  }

  async #claim(): Promise<boolean> {
    if (this.#isMine || this.#closed) return this.#isMine;
    const holder = await this.#deps.leases.claim(this.#key, this.#deps.nodeId);
    if (holder !== this.#deps.nodeId || this.#closed) return false;
    this.#isMine = true;
    this.#answering = await this.#deps.bus.subscribe(`${this.#key}.admit`, (msg) => msg.respond?.(encoder.encode(this.decide(decoder.decode(msg.data)) ? '1' : '0')));
    const renewMs = Math.max(100, Math.floor(this.#deps.leaseTtlMs / 3));
    this.#renewal = this.#deps.clock.setInterval(() => void this.#renew(), renewMs);
    this.#deps.log.info({ hubSid: this.#room.hub.hubSid }, 'home of room');
    this.onChange?.(true);
    return true;
  }

  /**
   * While `wants()` holds, a node that is not the home tries to become it
   * once per lease period, so work only the home does (simulations) moves to
   * a live node when the home dies, not at the next join.
   */
  keepTrying(wants: () => boolean): void {
    if (this.#retry || this.#closed) return;
    this.#retry = this.#deps.clock.setInterval(() => {
      if (!this.#isMine && !this.#closed && wants()) this.claim().catch((err: unknown) => this.#deps.log.debug({ err, hubSid: this.#room.hub.hubSid }, 'could not claim the room lease'));
    }, this.#deps.leaseTtlMs);
  }

  async #renew(): Promise<void> {
    const isHeld = await this.#deps.leases.renew(this.#key, this.#deps.nodeId).catch(() => false);
    if (!isHeld && this.#isMine) {
      this.#deps.log.warn({ hubSid: this.#room.hub.hubSid }, 'lost the room lease');
      await this.#stepDown();
    }
  }

  async #stepDown(): Promise<void> {
    const wasMine = this.#isMine;
    this.#isMine = false;
    if (wasMine) this.onChange?.(false);
    this.#renewal?.cancel();
    this.#renewal = undefined;
    await this.#answering?.unsubscribe();
    this.#answering = undefined;
  }

  /** The home's decision for one session; reserves its place when admitted. */
  decide(session: string): boolean {
    const now = this.#deps.clock.now();
    const { presence, hub } = this.#room;
    for (const [s, until] of this.#reservations) if (until < now || presence.has(s)) this.#reservations.delete(s);
    const others = new Set([...presence.keys(), ...this.#reservations.keys()]);
    others.delete(session);
    if (others.size >= hub.roomSize) return false;
    if (!presence.has(session)) this.#reservations.set(session, now + RESERVE_MS);
    return true;
  }

  async #ask(session: string): Promise<boolean> {
    const reply = await this.#deps.bus.request(`${this.#key}.admit`, encoder.encode(session), ADMIT_TIMEOUT_MS);
    return decoder.decode(reply) === '1';
  }

  /** Whether `session` may join, as the home decides. */
  async admit(session: string): Promise<boolean> {
    if (this.#isMine) return this.decide(session);
    try {
      return await this.#ask(session);
    } catch (err) {
      if (!(err instanceof AppError && (err.code === 'NO_RESPONDERS' || err.code === 'TIMEOUT'))) throw err;
    }
    if (await this.claim()) return this.decide(session);
    try {
      return await this.#ask(session);
    } catch (err) {
      this.#deps.metrics.inc('mesh_admissions_local_total');
      this.#deps.log.warn({ err, hubSid: this.#room.hub.hubSid }, 'room home unreachable: admitting on what this node knows');
      return this.decide(session);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#retry?.cancel();
    const wasMine = this.#isMine;
    await this.#stepDown();
    if (wasMine) await this.#deps.leases.release(this.#key, this.#deps.nodeId).catch(() => undefined);
  }
}
