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

export async function handleJoin(room: Room, msg: HubJoin): Promise<void> {
  const previous = room.seats.get(msg.conn.connId);
  // A duplicate join: the socket already sent phx_close for the old join_ref (parity 1.3).
  if (previous) room.unseat(previous);
  const token = msg.params['auth_token'];
  if (typeof token !== 'string' || token === '') return admit(room, msg, null);
  room.run(
    () => room.deps.identity.authenticate(token),
    (outcome) => {
      if (!msg.conn.isJoined(room.topic, msg.joinRef)) return;
      if (outcome.ok) return admit(room, msg, principalOf(outcome.value));
      room.deps.log.warn({ err: outcome.err, hubSid: room.hub.hubSid }, 'could not check an auth_token');
      refuse(room, msg, 'STORE_UNAVAILABLE', 'accounts cannot be checked now; try again shortly');
    },
  );
}

async function admit(room: Room, msg: HubJoin, principal: Principal | null): Promise<void> {
  const { conn, joinRef, ref, params } = msg;
  // In a cluster the room's home counts; alone, the room counts here.
  const occupants = room.admit ? 0 : room.presence.size - (room.presence.has(conn.sessionId) ? 1 : 0);
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
  if (!decision.ok) return refuse(room, msg, decision.code, decision.message);
  const { member } = decision;
  if (room.admit && !member.permissions.update_hub && !(await room.admit(conn.sessionId))) return refuse(room, msg, 'ROOM_FULL', roomFullMessage(room.hub));
  const supplied = params['perms_token'];
  // Parity: a perms_token the client supplied is echoed back unchanged.
  const permsToken = typeof supplied === 'string' && supplied !== '' ? supplied : await signPerms(room, member);
  if (!conn.isJoined(room.topic, joinRef)) return;
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
  const seat = room.seats.get(msg.conn.connId);
  if (!seat) return;
  room.unseat(seat);
  if (msg.ref !== null) {
    // Parity: phx_leave is answered ok, then the channel pushes phx_close.
    room.reply(msg.conn, seat.joinRef, msg.ref, {});
    msg.conn.endChannel(room.topic, seat.joinRef, 'closed');
  }
}
