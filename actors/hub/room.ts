/**
 * The state of one live room on this node and the effects the hub actor
 * applies to it: replies, pushes, broadcasts and presence. Decisions come
 * from src/core; this file only carries them out.
 *
 * Close cascade: the registry owns rooms; a room owns its seats. `clear()`
 * ends every seat's channel and forgets the seats.
 */
import type { Logger } from 'pino';
import type { ErrorCodeName } from '../../src/errors.js';
import { ErrorCode } from '../../src/errors.js';
import { EntityTable } from '../../src/core/entities.js';
import { resolveLeave, snapshotMessages, type EntityMessage } from '../../src/core/entity-lifecycle.js';
import type { Hub } from '../../src/core/hub.js';
import { presenceMeta, type Member } from '../../src/core/member.js';
import { Presence, type PresenceDiff } from '../../src/core/presence.js';
import { OutFrame } from '../../src/protocol/codec.js';
import type { Payload } from '../../src/protocol/frames.js';
import type { Clock } from '../../src/ports/clock.js';
import type { Metrics } from '../../src/ports/metrics.js';
import type { Tokens } from '../../src/ports/tokens.js';
import type { ChannelConn } from '../channel-conn.js';

/** Entity limits and timing, from config. */
export interface EntityLimits {
  readonly maxNafBytes: number;
  readonly maxEntitiesPerSession: number;
  readonly handoverLeadMs: number;
}

/** What every room of a node shares. */
export interface HubDeps {
  readonly limits: EntityLimits;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly tokens: Tokens;
  /** A presence ref unique on this node. */
  makeRef(): string;
  /** Base URL of room links, e.g. `http://127.0.0.1:4000`. */
  baseUrl(): string;
}

/** One joined channel of one socket. */
export interface Seat {
  readonly conn: ChannelConn;
  readonly joinRef: string | null;
  member: Member;
  phxRef: string;
  /** `block_naf`: this socket receives no NAF traffic. */
  isNafBlocked: boolean;
}

/** Who a broadcast is from and for: blocks are checked against `from`; `to` narrows it to one session. */
export interface Delivery {
  readonly except?: string;
  readonly isDroppable?: boolean;
  readonly from?: string;
  readonly to?: string;
  readonly isNaf?: boolean;
}

export class Room {
  readonly topic: string;
  readonly seats = new Map<string, Seat>();
  readonly presence = new Presence();
  readonly entities = new EntityTable();
  /** blocker session -> sessions it blocks. Messages between the two go neither way. */
  readonly blocks = new Map<string, Set<string>>();

  constructor(
    public hub: Hub,
    readonly deps: HubDeps,
  ) {
    this.topic = `hub:${hub.hubSid}`;
  }

  reply(conn: ChannelConn, joinRef: string | null, ref: string | null, response: Payload): void {
    conn.send(OutFrame.reply(joinRef, ref, this.topic, 'ok', response));
  }

  replyError(conn: ChannelConn, joinRef: string | null, ref: string | null, code: ErrorCodeName, message: string): void {
    this.deps.metrics.inc('hub_errors_total', { reason: ErrorCode[code].reason });
    conn.send(OutFrame.reply(joinRef, ref, this.topic, 'error', { reason: ErrorCode[code].reason, message }));
  }

  /** A push to one channel: `[join_ref, null, topic, event, payload]`. */
  push(seat: Seat, event: string, payload: Payload): void {
    seat.conn.send(new OutFrame(seat.joinRef, null, this.topic, event, payload));
  }

  /**
   * A fastlane broadcast `[null, null, topic, event, payload]`, encoded once,
   * to every seat but `except`, skipping seats that block or are blocked by
   * `from`, and only to session `to` when given.
   */
  broadcast(event: string, payload: Payload, opts: Delivery = {}): void {
    const frame = new OutFrame(null, null, this.topic, event, payload, opts.isDroppable ?? false);
    const isFiltered = opts.to !== undefined || this.blocks.size > 0 || opts.isNaf === true;
    let delivered = 0;
    for (const [connId, seat] of this.seats) {
      if (connId === opts.except) continue;
      if (isFiltered && !this.#accepts(seat, opts)) continue;
      seat.conn.send(frame);
      delivered++;
    }
    this.deps.metrics.inc('hub_broadcasts_total', { event });
    this.deps.metrics.inc('hub_deliveries_total', undefined, delivered);
  }

  #accepts(seat: Seat, opts: Delivery): boolean {
    const session = seat.member.sessionId;
    if (opts.to !== undefined && session !== opts.to) return false;
    if (opts.isNaf === true && seat.isNafBlocked) return false;
    if (opts.from !== undefined && this.blocks.size > 0) {
      if (this.blocks.get(opts.from)?.has(session) || this.blocks.get(session)?.has(opts.from)) return false;
    }
    return true;
  }

  /** Sends entity messages as NAF broadcasts from their `from` session. */
  broadcastEntityMessages(messages: readonly EntityMessage[]): void {
    for (const { from, message } of messages) this.broadcast('naf', { ...message, from_session_id: from }, { from, isNaf: true });
  }

  isPresent(sessionId: string): boolean {
    return this.presence.has(sessionId);
  }

  broadcastDiff(diff: PresenceDiff | null): void {
    if (diff) this.broadcast('presence_diff', diff as unknown as Payload);
  }

  /** Tracks a new seat's presence; the caller has already replied to the join. */
  seat(conn: ChannelConn, joinRef: string | null, member: Member): Seat {
    const seat: Seat = { conn, joinRef, member, phxRef: this.deps.makeRef(), isNafBlocked: false };
    this.seats.set(conn.connId, seat);
    const diff = this.presence.track(member.sessionId, seat.phxRef, presenceMeta(member));
    this.push(seat, 'presence_state', this.presence.list());
    // Late joiners see the room at once, unless the room asks for Reticulum's behaviour.
    if (this.hub.userData?.['hubmesh_entity_snapshot'] !== false) {
      for (const { from, message } of snapshotMessages(this.entities, (s) => this.isPresent(s))) {
        this.push(seat, 'naf', { ...message, from_session_id: from });
      }
    }
    this.broadcastDiff(diff);
    return seat;
  }

  /** Republishes a seat's presence after its member changed. */
  updateSeat(seat: Seat, member: Member): void {
    const newRef = this.deps.makeRef();
    const diff = this.presence.update(member.sessionId, seat.phxRef, newRef, presenceMeta(member));
    seat.member = member;
    seat.phxRef = newRef;
    this.broadcastDiff(diff);
  }

  /**
   * Removes a seat and broadcasts its presence leave. When it was the
   * session's last seat, its entities are resolved first, while clients still
   * find the leaver in presence (Hubs checks the sender of an `r` there).
   */
  unseat(seat: Seat): void {
    if (this.seats.get(seat.conn.connId) !== seat) return;
    this.seats.delete(seat.conn.connId);
    const session = seat.member.sessionId;
    const diff = this.presence.untrack(session, seat.phxRef);
    if (!this.presence.has(session)) {
      const { removals, handovers } = resolveLeave(this.entities, session, [...this.presence.keys()], this.deps.clock.now(), this.deps.limits.handoverLeadMs);
      this.broadcastEntityMessages(removals);
      this.broadcastEntityMessages(handovers);
      this.blocks.delete(session);
    }
    this.broadcastDiff(diff);
  }

  /** Ends every seat's channel with `how` and forgets them, without presence traffic (nobody is left to tell). */
  clear(how: 'closed' | 'errored'): void {
    for (const seat of this.seats.values()) seat.conn.endChannel(this.topic, seat.joinRef, how);
    this.seats.clear();
  }
}
