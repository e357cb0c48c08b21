/**
 * Join and leave on `hub:<sid>`: authenticate, decide, ensure an SFU, reply,
 * then track presence (parity 2.4-2.6). Presence is tracked after the reply
 * and the joiner gets an explicit `presence_state`, because Hubs waits for it
 * (parity 2.11). An `auth_token` that does not verify makes a guest join, as in
 * Reticulum; the check runs off the actor (Room.run), so a slow database
 * never holds up the room. Every refusal counts in
 * `hub_joins_refused_total{reason}`.
 */
import { ErrorCode, type ErrorCodeName } from '../../src/errors.js';
import { decideJoin, roomFullMessage } from '../../src/core/join.js';
import type { Member } from '../../src/core/member.js';
import { principalOf, type Principal } from '../../src/core/permissions.js';
import { ensureHost } from './host.js';
import type { HubJoin, HubLeave } from './hub-msg.js';
import { signPerms } from './perms.js';
import type { Room } from './room.js';

function refuse(room: Room, msg: HubJoin, code: ErrorCodeName, message: string): void {
  room.deps.metrics.inc('hub_joins_refused_total', { reason: ErrorCode[code].reason });
  room.replyError(msg.conn, msg.joinRef, msg.ref, code, message);
  msg.conn.endChannel(room.topic, msg.joinRef, 'refused');
}

/**
 * While a socket's join is finishing off the actor (its auth_token checked,
 * its perms token signed, the home asked), what it sends to the room waits
 * and is handled in order after the join, as a Phoenix channel handles
 * nothing before its join returns. True when `handle` was held.
 */
export function holdWhileJoining(room: Room, connId: string, handle: () => void | Promise<void>): boolean {
  const joining = room.joining.get(connId);
  if (!joining) return false;
  joining.held.push(handle);
  return true;
}

function startJoining(room: Room, msg: HubJoin): void {
  if (!room.joining.has(msg.conn.connId)) room.joining.set(msg.conn.connId, { conn: msg.conn, joinRef: msg.joinRef, held: [], hasLeft: false });
}

/** The join of `connId` is done: what it held is handled now, in order. */
function release(room: Room, connId: string): void | Promise<void> {
  const held = room.joining.get(connId)?.held;
  room.joining.delete(connId);
  if (held && held.length > 0) return handleHeld(room, connId, held);
}

async function handleHeld(room: Room, connId: string, held: readonly (() => void | Promise<void>)[]): Promise<void> {
  for (let i = 0; i < held.length; i++) {
    await held[i]!();
    // A held join went off the actor in turn: the rest waits for it.
    const again = room.joining.get(connId);
    if (again) {
      again.held.unshift(...held.slice(i + 1));
      return;
    }
  }
}

export function handleJoin(room: Room, msg: HubJoin): void | Promise<void> {
  if (holdWhileJoining(room, msg.conn.connId, () => handleJoin(room, msg))) return;
  const previous = room.seats.get(msg.conn.connId);
  // A duplicate join: the socket already sent phx_close for the old join_ref (parity 1.3).
  if (previous) room.unseat(previous);
  const token = msg.params['auth_token'];
  if (typeof token !== 'string' || token === '') return admit(room, msg, null);
  startJoining(room, msg);
  room.run(
    () => room.deps.identity.authenticate(token),
    (outcome) => {
      if (!msg.conn.isJoined(room.topic, msg.joinRef)) return release(room, msg.conn.connId);
      if (outcome.ok) return admit(room, msg, principalOf(outcome.value));
      room.deps.log.warn({ err: outcome.err, hubSid: room.hub.hubSid }, 'could not check an auth_token');
      refuse(room, msg, 'STORE_UNAVAILABLE', 'accounts cannot be checked now; try again shortly');
      return release(room, msg.conn.connId);
    },
  );
}

/** Sessions in the room or on their way in, other than `sessionId`. */
function occupantsBesides(room: Room, sessionId: string): number {
  let count = room.presence.size - (room.presence.has(sessionId) ? 1 : 0);
  for (const session of room.arriving.keys()) if (session !== sessionId && !room.presence.has(session)) count++;
  return count;
}

function arrive(room: Room, sessionId: string): void {
  room.arriving.set(sessionId, (room.arriving.get(sessionId) ?? 0) + 1);
}

function arrived(room: Room, sessionId: string): void {
  const left = (room.arriving.get(sessionId) ?? 1) - 1;
  if (left > 0) room.arriving.set(sessionId, left);
  else room.arriving.delete(sessionId);
}

/**
 * Decides on the actor. The perms token is signed (RSA, about a millisecond
 * of CPU) and, in a cluster, the home asked, off the actor, so the room goes
 * on relaying and deciding other joins meanwhile; until it is seated the
 * session counts against the room's size (`arriving`).
 */
function admit(room: Room, msg: HubJoin, principal: Principal | null): void | Promise<void> {
  const { conn, params } = msg;
  // In a cluster the room's home counts; alone, the room counts here.
  const occupants = room.admit ? 0 : occupantsBesides(room, conn.sessionId);
  const decision = decideJoin({
    hub: room.hub,
    sessionId: conn.sessionId,
    params,
    principal,
    owners: room.owners,
    bans: [...room.bans.values()],
    invite: room.invite,
    occupants,
    now: room.deps.clock.now(),
  });
  if (!decision.ok) {
    refuse(room, msg, decision.code, decision.message);
    return release(room, conn.connId);
  }
  const { member } = decision;
  const askHome = room.admit !== undefined && !member.permissions.update_hub ? room.admit : undefined;
  const supplied = params['perms_token'];
  // Parity: a perms_token the client supplied is echoed back unchanged.
  const echoed = typeof supplied === 'string' && supplied !== '' ? supplied : undefined;
  if (echoed !== undefined && !askHome) {
    if (conn.isJoined(room.topic, msg.joinRef)) seatMember(room, msg, member, echoed);
    return release(room, conn.connId);
  }
  arrive(room, conn.sessionId);
  startJoining(room, msg);
  room.run(
    async () => {
      if (askHome && !(await askHome(conn.sessionId))) return null;
      return echoed ?? signPerms(room, member);
    },
    (outcome) => {
      arrived(room, conn.sessionId);
      // A phx_leave sent meanwhile is held: as in Phoenix, the join is answered and seated first, then the leave.
      const hasLeft = room.joining.get(conn.connId)?.hasLeft === true;
      if (!outcome.ok) {
        room.deps.log.error({ err: outcome.err, hubSid: room.hub.hubSid, sessionId: conn.sessionId }, 'join failed');
        refuse(room, msg, 'JOIN_CRASHED', 'join failed on the server');
      } else if (outcome.value === null) {
        refuse(room, msg, 'ROOM_FULL', roomFullMessage(room.hub));
      } else if (hasLeft || conn.isJoined(room.topic, msg.joinRef)) {
        seatMember(room, msg, member, outcome.value);
      }
      return release(room, conn.connId);
    },
  );
}

function seatMember(room: Room, msg: HubJoin, member: Member, permsToken: string): void {
  const { conn, joinRef, ref } = msg;
  // Parity: join_with_hub runs Hub.ensure_host before the reply; members already in get host_changed.
  ensureHost(room);
  room.reply(conn, joinRef, ref, {
    hubs: [room.view(member.permissions.embed_hub)],
    session_id: conn.sessionId,
    session_token: conn.sessionToken,
    subscriptions: { web_push: false, favorites: false },
    perms_token: permsToken,
    hub_requires_oauth: false,
  });
  room.seat(conn, joinRef, member);
  room.deps.metrics.inc('hub_joins_total');
}

export function handleLeave(room: Room, msg: HubLeave): void {
  const joining = room.joining.get(msg.conn.connId);
  if (joining && msg.ref !== null && joining.joinRef === msg.joinRef) joining.hasLeft = true;
  if (holdWhileJoining(room, msg.conn.connId, () => handleLeave(room, msg))) return;
  const seat = room.seats.get(msg.conn.connId);
  if (!seat) {
    // The socket left while its join was finishing, which then did not seat it: the leave is still answered.
    if (msg.ref !== null) {
      room.reply(msg.conn, msg.joinRef, msg.ref, {});
      msg.conn.endChannel(room.topic, msg.joinRef, 'closed');
    }
    return;
  }
  room.unseat(seat);
  if (msg.ref !== null) {
    // Parity: phx_leave is answered ok, then the channel pushes phx_close.
    room.reply(msg.conn, seat.joinRef, msg.ref, {});
    msg.conn.endChannel(room.topic, seat.joinRef, 'closed');
  }
}
