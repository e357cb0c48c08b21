/**
 * Client events on `hub:<sid>` once joined (parity 2.8): NAF relay, chat and
 * the presence events. Known Reticulum events whose features have not landed
 * get a `not_implemented` error reply; anything else `unknown_event`. Neither
 * is ever silently dropped.
 */
import { decideChat } from '../../src/core/chat.js';
import { applyMemberEvent, MEMBER_EVENTS } from '../../src/core/member.js';
import { decideNaf, decideNafr, type NafDecision } from '../../src/core/naf.js';
import type { HubEvent } from './hub-msg.js';
import type { Room, Seat } from './room.js';

/** Reticulum hub events that later issues implement. */
const PLANNED_EVENTS = new Set([
  'events:object_spawned',
  'events:request_support',
  'mute',
  'kick',
  'block',
  'unblock',
  'block_naf',
  'unblock_naf',
  'add_owner',
  'remove_owner',
  'update_hub',
  'update_scene',
  'close_hub',
  'fetch_invite',
  'revoke_invite',
  'sign_in',
  'sign_out',
  'refresh_perms_token',
  'get_host',
  'pin',
  'unpin',
  'list_entities',
  'save_entity_state',
  'update_entity_state',
  'delete_entity_state',
  'subscribe',
  'unsubscribe',
  'favorite',
  'unfavorite',
  'oauth',
]);

/** Events counted under their own name; anything else is counted as `other`. */
const COUNTED_EVENTS: ReadonlySet<string> = new Set([...PLANNED_EVENTS, ...MEMBER_EVENTS, 'naf', 'nafr', 'message']);

function relayNaf(room: Room, seat: Seat, msg: HubEvent, decision: NafDecision): void {
  const { metrics } = room.deps;
  switch (decision.action) {
    case 'naf':
      room.broadcast('naf', decision.payload, { except: seat.conn.connId, isDroppable: decision.isDroppable });
      return;
    case 'nafr':
      room.broadcast('nafr', decision.payload, { except: seat.conn.connId, isDroppable: true });
      return;
    case 'drop':
      metrics.inc('hub_dropped_total', { reason: decision.reason });
      return;
    case 'invalid':
      room.replyError(seat.conn, seat.joinRef, msg.frame.ref, 'BAD_REQUEST', decision.message);
      return;
  }
}

export function handleEvent(room: Room, msg: HubEvent): void {
  const { conn, frame } = msg;
  const seat = room.seats.get(conn.connId);
  if (!seat) {
    // The join was refused or has not been accepted: Phoenix answers "unmatched topic".
    room.replyError(conn, frame.joinRef, frame.ref, 'UNMATCHED_TOPIC', `not joined to ${room.topic}`);
    return;
  }
  const sender = { sessionId: seat.member.sessionId, permissions: seat.member.permissions };
  const { event, payload } = frame;
  room.deps.metrics.inc('hub_messages_in_total', { event: COUNTED_EVENTS.has(event) ? event : 'other' });

  if (event === 'nafr') return relayNaf(room, seat, msg, decideNafr(payload, sender));
  if (event === 'naf') return relayNaf(room, seat, msg, decideNaf(payload, sender));
  if (event === 'message') {
    const chat = decideChat(payload, sender);
    if (chat.ok) room.broadcast('message', chat.payload);
    else room.replyError(conn, seat.joinRef, frame.ref, chat.code, chat.message);
    return;
  }
  if (MEMBER_EVENTS.has(event)) {
    const result = applyMemberEvent(seat.member, event, payload);
    if (result.ok) room.updateSeat(seat, result.member);
    else room.replyError(conn, seat.joinRef, frame.ref, 'BAD_REQUEST', result.message);
    return;
  }
  if (PLANNED_EVENTS.has(event)) {
    room.replyError(conn, seat.joinRef, frame.ref, 'NOT_IMPLEMENTED', `${event} is not supported yet`);
    return;
  }
  room.deps.log.debug({ hubSid: room.hub.hubSid, event: event.slice(0, 64) }, 'unknown event');
  room.replyError(conn, seat.joinRef, frame.ref, 'UNKNOWN_EVENT', `unknown event ${JSON.stringify(event.slice(0, 64))}`);
}
