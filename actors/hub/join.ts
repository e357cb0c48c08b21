/**
 * Join and leave on `hub:<sid>`: authorize, reply, then track presence
 * (parity 2.4-2.6). Presence is tracked after the reply and the joiner gets
 * an explicit `presence_state`, because Hubs waits for it (parity 2.11).
 */
import { hubView } from '../../src/core/hub.js';
import { decideJoin, roomFullMessage } from '../../src/core/join.js';
import type { ErrorCodeName } from '../../src/errors.js';
import type { Member } from '../../src/core/member.js';
import { countPresences } from '../../src/core/presence.js';
import type { HubJoin, HubLeave } from './hub-msg.js';
import type { Room } from './room.js';

/** Claims of the perms token (parity 4.4) for a member of this room. */
function permsClaims(room: Room, member: Member): Record<string, unknown> {
  return {
    ...member.permissions,
    tweet: false,
    create_hub: true,
    account_id: null,
    hub_id: room.hub.hubSid,
    sub: member.sessionId,
  };
}

export async function handleJoin(room: Room, msg: HubJoin): Promise<void> {
  const { conn, joinRef, ref, params } = msg;
  const previous = room.seats.get(conn.connId);
  // A duplicate join: the socket already sent phx_close for the old join_ref (parity 1.3).
  if (previous) room.unseat(previous);

  const refuse = (code: ErrorCodeName, message: string) => {
    room.replyError(conn, joinRef, ref, code, message);
    conn.endChannel(room.topic, joinRef, 'refused');
  };
  // In a cluster the room's home counts; alone, the room counts here.
  const occupants = room.admit ? 0 : room.presence.size - (room.presence.has(conn.sessionId) ? 1 : 0);
  const decision = decideJoin(room.hub, conn.sessionId, params, occupants);
  if (!decision.ok) return refuse(decision.code, decision.message);
  if (room.admit && !(await room.admit(conn.sessionId))) return refuse('ROOM_FULL', roomFullMessage(room.hub));
  const { member } = decision;
  const supplied = params['perms_token'];
  // Parity: a perms_token the client supplied is echoed back unchanged.
  const permsToken = typeof supplied === 'string' && supplied !== '' ? supplied : await room.deps.tokens.signPermsToken(permsClaims(room, member));
  if (!conn.isOpen) return;

  room.reply(conn, joinRef, ref, {
    hubs: [hubView(room.hub, countPresences(room.presence), { baseUrl: room.deps.baseUrl() })],
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
