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
import { arbitrate } from '../../src/core/arbiter.js';
import { SERVER_OWNER } from '../../src/sim/simulation.js';
import { EntityTable } from '../../src/core/entities.js';
import type { EnvelopeBody, InEnvelope, RoomState } from '../../src/core/mesh.js';
import { resolveLeave, snapshotMessages, type EntityMessage } from '../../src/core/entity-lifecycle.js';
import type { RoomCommand } from '../../src/core/control.js';
import { hubView, type Hub } from '../../src/core/hub.js';
import { banFor, type BanRule } from '../../src/core/join.js';
import { presenceMeta, type Member } from '../../src/core/member.js';
import { hubPermissions, rolesFor, type Principal } from '../../src/core/permissions.js';
import { countPresences } from '../../src/core/presence.js';
import { mergeDiffs, Presence, type PresenceDiff } from '../../src/core/presence.js';
import { OutFrame } from '../../src/protocol/codec.js';
import type { Payload } from '../../src/protocol/frames.js';
import type { Clock } from '../../src/ports/clock.js';
import type { Identity } from '../../src/ports/identity.js';
import type { Metrics } from '../../src/ports/metrics.js';
import type { Store } from '../../src/ports/store.js';
import type { Tokens } from '../../src/ports/tokens.js';
import type { ChannelConn } from '../channel-conn.js';
import type { SfuHosts } from '../sfu-directory.js';
import { hostPayload } from './host.js';
import type { SimHost } from './sims.js';
import { adoptState, applyNodeDown, applyRemote, publishSync, roomState } from './room-mesh.js';

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
  readonly store: Store;
  readonly identity: Identity;
  readonly maxRoomSize: number;
  /** The simulations this node offers rooms (src/sim), for checking room settings. */
  readonly simulationNames?: ReadonlySet<string>;
  /** Chat messages kept per room; 0 keeps none. */
  readonly chatHistory: number;
  /** The SFUs rooms are placed on; without it rooms have no SFU (host null). */
  readonly sfus?: SfuHosts;
  /** Tells the other nodes holding room `hubSid` of a command this node applied (src/core/control.ts). */
  publishControl(hubSid: string, cmd: RoomCommand): void;
  /** Closes every socket of a session on this node with 1000 (do not come back) and `reason` as the close's text. */
  disconnectSession(sessionId: string, reason: 'kicked' | 'banned'): void;
  /** A presence ref unique on this node. */
  makeRef(): string;
  /** Base URL of room links, e.g. `http://127.0.0.1:4000`. */
  baseUrl(): string;
}

/**
 * How a room tells the other nodes of the cluster what happens in it; the
 * registry implements it over the bus. A node alone gets a link that does
 * nothing.
 */
export interface RoomLink {
  /** `payloadJson`: JSON.stringify of a broadcast's payload, when the room has it already. */
  publish(body: EnvelopeBody, payloadJson?: string): void;
  /** Publishes at once what is queued. */
  flush(): void;
}

export const NO_LINK: RoomLink = { publish: () => undefined, flush: () => undefined };

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
  /** Presence refs of members on other nodes -> their node and session. */
  readonly remoteRefs = new Map<string, { readonly node: string; readonly session: string }>();
  /** node -> the number of the last envelope of that node applied here. */
  readonly seen: Record<string, number> = {};
  /** Accounts with an owner row (the creator is in `hub`). */
  readonly owners = new Set<number>();
  /** Bans in force or not yet known to have expired, by id. */
  readonly bans = new Map<number, BanRule>();
  /** The active invite sid. */
  invite: string | undefined;
  /** Store calls under way; the room does not stop before they come back. */
  inflight = 0;
  /** Sessions admitted here whose join is finishing off the actor (actors/hub/join.ts), and how many joins each has so. */
  readonly arriving = new Map<string, number>();
  /** Sockets whose join is finishing off the actor, by connId, with what they sent meanwhile, handled in order once it is done. */
  readonly joining = new Map<string, { readonly conn: ChannelConn; readonly joinRef: string | null; readonly held: (() => void | Promise<void>)[]; hasLeft: boolean }>();
  /** Runs `fn` on the room's actor, in order with its other items; the registry sets it. */
  defer: (fn: (room: Room) => void | Promise<void>, opts?: { readonly isBackground?: boolean }) => void = (fn) => void fn(this);
  /** The room's simulations, when the node runs any (actors/hub/sims.ts). */
  sims: SimHost | undefined;
  link: RoomLink = NO_LINK;
  #pendingDiff: PresenceDiff | undefined;
  /** In a cluster, asks the room's home whether a session may join; alone, the room decides itself. */
  admit: ((session: string) => Promise<boolean>) | undefined;
  /** In a cluster with leases, the room's home (actors/hub/home.ts); alone, this node is the home. */
  home: { readonly isMine: boolean; claim(): Promise<boolean> } | undefined;

  constructor(
    public hub: Hub,
    readonly deps: HubDeps,
    readonly nodeId = 'local',
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
  broadcast(event: string, payload: Payload, opts: Delivery = {}, payloadJson?: string): OutFrame {
    if (this.#pendingDiff && event !== 'presence_diff') this.flushPresence();
    const frame = new OutFrame(null, null, this.topic, event, payload, opts.isDroppable ?? false, payloadJson);
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
    return frame;
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

  /** A broadcast to this node's members and, once, to the other nodes holding the room. */
  relay(event: string, payload: Payload, opts: Delivery = {}, payloadJson?: string): void {
    const frame = this.broadcast(event, payload, opts, payloadJson);
    // The payload's JSON, made once for this node's sockets, goes to the other nodes as it is.
    this.link.publish({ t: 'b', e: event, p: payload, f: opts.from, to: opts.to, d: opts.isDroppable, naf: opts.isNaf }, frame.payloadJson);
  }

  /** Relays entity messages this node decided (leave resolution) as NAF broadcasts from their `from` session. */
  relayDecided(messages: readonly EntityMessage[]): void {
    for (const { from, message } of messages) {
      const payload = { ...message, from_session_id: from };
      const frame = this.broadcast('naf', payload, { from, isNaf: true });
      this.link.publish({ t: 'b', e: 'naf', p: payload, f: from, naf: true, sys: true }, frame.payloadJson);
      this.sims?.entitiesChanged(message);
    }
  }

  /**
   * Arbitrates and relays what the room's simulations wrote, as NAF messages
   * from the server owner: the same table and the same encode-once path as a
   * client's messages. Component updates may be dropped under back-pressure,
   * like a client's `um`; spawns, claims and removals may not.
   */
  applySimOutput(messages: readonly Payload[]): void {
    const ctx = { sender: SERVER_OWNER, isPresent: (s: string) => this.isPresent(s), maxEntitiesPerSession: Number.MAX_SAFE_INTEGER };
    for (const message of messages) {
      const result = arbitrate(this.entities, message, ctx);
      for (const reason of result.drops) this.deps.metrics.inc('sim_dropped_total', { reason });
      if (!result.message) continue;
      const payload = { ...result.message, from_session_id: SERVER_OWNER };
      this.relay('naf', payload, { from: SERVER_OWNER, isNaf: true, isDroppable: message['dataType'] === 'um' });
    }
  }

  /**
   * Runs `work` (a store or token call) off the actor, so a slow database
   * never holds up relaying, and hands its outcome to `done` back on the
   * actor, in order with the room's other items.
   */
  run<T>(work: () => Promise<T>, done: (outcome: { ok: true; value: T } | { ok: false; err: unknown }) => void | Promise<void>): void {
    this.inflight++;
    work().then(
      (value) => this.#finish(() => done({ ok: true, value })),
      (err: unknown) => this.#finish(() => done({ ok: false, err })),
    );
  }

  #finish(fn: () => void | Promise<void>): void {
    this.defer(() => {
      this.inflight--;
      return fn();
    });
  }

  /** The join-reply view of the room now. */
  view(canEmbed = false): Payload {
    return hubView(this.hub, countPresences(this.presence), { baseUrl: this.deps.baseUrl(), canEmbed });
  }

  /** The member as its roles and permissions are now, for `principal` (default: as it is). */
  withAccess(member: Member, principal: Principal | null = member.principal): Member {
    const roles = rolesFor(this.hub, this.owners, principal);
    return { ...member, principal, roles, permissions: hubPermissions(this.hub, roles, principal) };
  }

  /** Recomputes a seat's roles and permissions; republishes presence when they changed. */
  refreshAccess(seat: Seat, principal: Principal | null = seat.member.principal): boolean {
    const next = this.withAccess(seat.member, principal);
    if (JSON.stringify([next.roles, next.permissions]) === JSON.stringify([seat.member.roles, seat.member.permissions]) && principal === seat.member.principal) return false;
    this.updateSeat(seat, next);
    return true;
  }

  /** Applies a command here and tells the other nodes holding the room. */
  control(cmd: RoomCommand): void {
    this.applyControl(cmd);
    this.deps.publishControl(this.hub.hubSid, cmd);
  }

  /** Applies a command to this node's members (src/core/control.ts). */
  applyControl(cmd: RoomCommand): void {
    switch (cmd.op) {
      case 'hub': {
        // The host moves only by `host` commands, in the order the home sent them; this record may predate the last one.
        this.hub = { ...cmd.hub, host: this.hub.host };
        for (const seat of [...this.seats.values()]) this.refreshAccess(seat);
        this.sims?.reconcile();
        if (cmd.stale.length > 0) this.broadcast('hub_refresh', { hubs: [this.view()], session_id: cmd.by, stale_fields: [...cmd.stale] });
        if (cmd.close === true) {
          // Closing forces everyone out (Reticulum leaves it to the clients).
          for (const seat of [...this.seats.values()]) {
            this.unseat(seat);
            seat.conn.endChannel(this.topic, seat.joinRef, 'closed');
          }
        }
        return;
      }
      case 'kick': {
        const sessions = new Set<string>();
        // Only members of this room: Reticulum disconnects any session id it is given, so a room's owner could put anyone on the node out.
        for (const seat of this.seats.values()) {
          if (seat.member.sessionId === cmd.session || (cmd.account !== null && seat.member.principal?.accountId === cmd.account)) sessions.add(seat.member.sessionId);
        }
        // The close says why (its reason text), so the client can tell a ban (the ban command came first) from a kick.
        const bans = [...this.bans.values()];
        for (const session of sessions) {
          const account = [...this.seats.values()].find((seat) => seat.member.sessionId === session)?.member.principal?.accountId ?? null;
          this.deps.disconnectSession(session, banFor(bans, session, account, this.deps.clock.now()) ? 'banned' : 'kicked');
        }
        return;
      }
      case 'mute':
        for (const seat of this.seats.values()) if (seat.member.sessionId === cmd.session) this.push(seat, 'mute', { session_id: cmd.session });
        return;
      case 'promote': {
        const principal = [...this.seats.values()].find((seat) => seat.member.sessionId === cmd.session && seat.member.principal)?.member.principal;
        if (!principal || principal.isDisabled) return;
        const sid = this.hub.hubSid;
        const account = principal.accountId;
        this.run(
          () => (cmd.on ? this.deps.store.addOwner(sid, account) : this.deps.store.removeOwner(sid, account)),
          (outcome) => {
            if (outcome.ok) this.control({ op: 'owner', account, on: cmd.on });
            else this.deps.log.warn({ err: outcome.err, hubSid: sid }, 'could not change a role');
          },
        );
        return;
      }
      case 'owner':
        if (cmd.on) this.owners.add(cmd.account);
        else this.owners.delete(cmd.account);
        for (const seat of [...this.seats.values()]) {
          if (seat.member.principal?.accountId !== cmd.account) continue;
          this.refreshAccess(seat);
          this.push(seat, 'permissions_updated', {});
        }
        return;
      case 'ban':
        this.bans.set(cmd.banId, cmd.ban);
        return;
      case 'unban':
        this.bans.delete(cmd.banId);
        return;
      case 'invite':
        this.invite = cmd.invite ?? undefined;
        return;
      case 'host':
        if (cmd.host === this.hub.host) return;
        this.hub = { ...this.hub, host: cmd.host };
        this.broadcast('host_changed', hostPayload(cmd.host));
        return;
    }
  }

  isPresent(sessionId: string): boolean {
    return this.presence.has(sessionId);
  }

  /**
   * Queues a presence change for the room's next `presence_diff`. The changes
   * of one batch of the actor go out as one diff (`flushPresence`), before
   * anything else the room broadcasts, so no one hears from a member before
   * hearing that they joined. A join storm costs each member one frame a
   * batch, not one a join.
   */
  broadcastDiff(diff: PresenceDiff | null): void {
    if (!diff) return;
    this.#pendingDiff = this.#pendingDiff ? mergeDiffs(this.#pendingDiff, diff) : diff;
    this.sims?.presenceChanged();
  }

  /** Broadcasts the presence changes queued by `broadcastDiff`, if any. */
  flushPresence(): void {
    const diff = this.#pendingDiff;
    if (!diff) return;
    this.#pendingDiff = undefined;
    if (Object.keys(diff.joins).length > 0 || Object.keys(diff.leaves).length > 0) this.broadcast('presence_diff', diff as unknown as Payload);
  }

  /** Tracks a new seat's presence; the caller has already replied to the join. */
  seat(conn: ChannelConn, joinRef: string | null, member: Member): Seat {
    const seat: Seat = { conn, joinRef, member, phxRef: this.deps.makeRef(), isNafBlocked: false };
    this.seats.set(conn.connId, seat);
    const meta = presenceMeta(member);
    const diff = this.presence.track(member.sessionId, seat.phxRef, meta);
    this.push(seat, 'presence_state', this.presence.list());
    this.link.publish({ t: 'p', op: 'join', s: member.sessionId, r: seat.phxRef, m: meta });
    // Late joiners see the room at once, unless the room asks for Reticulum's behaviour.
    if (this.hub.userData?.['hubmesh_entity_snapshot'] !== false) this.pushEntities(seat);
    this.broadcastDiff(diff);
    return seat;
  }

  /** Republishes a seat's presence after its member changed. */
  updateSeat(seat: Seat, member: Member): void {
    const newRef = this.deps.makeRef();
    const meta = presenceMeta(member);
    const diff = this.presence.update(member.sessionId, seat.phxRef, newRef, meta);
    this.link.publish({ t: 'p', op: 'update', s: member.sessionId, r: newRef, pr: seat.phxRef, m: meta });
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
      this.resolveLeaver(session);
      this.blocks.delete(session);
    }
    this.link.publish({ t: 'p', op: 'leave', s: session, r: seat.phxRef });
    this.broadcastDiff(diff);
  }

  /** Sends one seat the first syncs of the room's entities, or of just `only`. */
  pushEntities(seat: Seat, only?: readonly string[]): void {
    for (const { from, message } of snapshotMessages(this.entities, (s) => this.isPresent(s), only)) this.push(seat, 'naf', { ...message, from_session_id: from });
  }

  /** Resolves the entities of a session that has left, and tells every node (parity 3.9). Also used by room-mesh.ts for a dead node's members. */
  resolveLeaver(session: string): void {
    const { removals, handovers } = resolveLeave(this.entities, session, [...this.presence.keys()], this.deps.clock.now(), this.deps.limits.handoverLeadMs);
    this.relayDecided(removals);
    this.relayDecided(handovers);
  }

  /** Records that `blocker` blocks (`on`) or unblocks `target`; local only, the caller publishes. */
  setBlock(blocker: string, target: string, on: boolean): void {
    const blocked = this.blocks.get(blocker) ?? new Set<string>();
    if (on) blocked.add(target);
    else blocked.delete(target);
    if (blocked.size > 0) this.blocks.set(blocker, blocked);
    else this.blocks.delete(blocker);
  }

  /** Applies what another node published about this room (actors/hub/room-mesh.ts). */
  applyRemote(env: InEnvelope): void {
    applyRemote(this, env);
  }

  /** Tells the other nodes every member this node has in the room, and its entities. */
  publishSync(): void {
    publishSync(this);
  }

  /**
   * After the bus was away, or a node taken for dead came back: say who is
   * here, and ask the others to do the same, since what they said while this
   * node (or that one) could not hear is lost.
   */
  resync(): void {
    publishSync(this);
    this.link.publish({ t: 'ask' });
  }

  /** Node `node` is down: its members leave here (actors/hub/room-mesh.ts). */
  applyNodeDown(node: string): void {
    applyNodeDown(this, node);
  }

  /** This node's view of the room, for a node that starts holding it. */
  state(seq: Readonly<Record<string, number>>): RoomState {
    return roomState(this, seq);
  }

  /** Takes over another node's view of the room; only before any member joined here. */
  adoptState(state: RoomState): void {
    adoptState(this, state);
  }

  /** Ends every seat's channel with `how` and forgets them, without presence traffic (nobody is left to tell). */
  clear(how: 'closed' | 'errored'): void {
    for (const seat of this.seats.values()) seat.conn.endChannel(this.topic, seat.joinRef, how);
    this.seats.clear();
    for (const { conn, joinRef } of this.joining.values()) conn.endChannel(this.topic, joinRef, how);
    this.joining.clear();
  }
}
