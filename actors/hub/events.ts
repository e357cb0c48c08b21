/**
 * Client events on `hub:<sid>` once joined (parity 2.8): NAF relay, chat and
 * the presence events; moderation, accounts and pins have their own files.
 * Known Reticulum events whose features have not landed
 * get a `not_implemented` error reply; anything else `unknown_event`. Neither
 * is ever silently dropped.
 */
import { decideChat } from '../../src/core/chat.js';
import { applyMemberEvent, MEMBER_EVENTS } from '../../src/core/member.js';
import { ACCOUNT_EVENTS, handleAccountEvent } from './account-events.js';
import { handleGetHost } from './host.js';
import { holdWhileJoining } from './join.js';
import type { Payload } from '../../src/protocol/frames.js';
import type { HubEvent } from './hub-msg.js';
import { handleModeration, MODERATION_EVENTS } from './moderation.js';
import { handleNaf } from './naf.js';
import { handlePinEvent, PIN_EVENTS } from './pins.js';
import type { Room, Seat } from './room.js';

/** Reticulum hub events that later issues implement. */
const PLANNED_EVENTS = new Set([
  'events:object_spawned',
  'events:request_support',
  'update_scene',
  'subscribe',
  'unsubscribe',
  'favorite',
  'unfavorite',
  'oauth',
]);

/** Events counted under their own name; anything else is counted as `other`. */
const COUNTED_EVENTS: ReadonlySet<string> = new Set([...PLANNED_EVENTS, ...MEMBER_EVENTS, ...MODERATION_EVENTS, ...ACCOUNT_EVENTS, ...PIN_EVENTS, 'naf', 'nafr', 'message', 'block', 'unblock', 'block_naf', 'unblock_naf', 'get_host']);

/**
 * `block`/`unblock {session_id}` (parity 2.8): relayed messages stop going
 * between the two sessions, both ways. Nothing is pushed to anyone.
 * `block_naf`/`unblock_naf`: this socket stops receiving NAF traffic.
 */
function handleBlock(room: Room, seat: Seat, msg: HubEvent): void {
  const { event, payload, ref } = msg.frame;
  const self = seat.member.sessionId;
  if (event === 'block_naf' || event === 'unblock_naf') {
    seat.isNafBlocked = event === 'block_naf';
    return;
  }
  const target = payload['session_id'];
  if (typeof target !== 'string' || target === '' || target === self) {
    room.replyError(seat.conn, seat.joinRef, ref, 'BAD_REQUEST', `${event} needs the session_id of another member`);
    return;
  }
  room.setBlock(self, target, event === 'block');
  room.link.publish({ t: 'blk', s: self, o: target, on: event === 'block' });
}

const KEPT_TYPES = new Set(['chat', 'photo', 'video']);

/** Adds a chat message to the room's history for moderators; relaying never waits for it, and a failed write is only logged. */
function keepChat(room: Room, seat: Seat, payload: Payload): void {
  const type = payload['type'] as string;
  if (room.deps.chatHistory === 0 || !KEPT_TYPES.has(type)) return;
  const message = { sessionId: seat.member.sessionId, accountId: seat.member.principal?.accountId ?? null, type, body: payload['body'] ?? null };
  room.deps.store.appendChat(room.hub.hubSid, message, room.deps.chatHistory).catch((err: unknown) => {
    room.deps.metrics.inc('hub_chat_history_errors_total');
    room.deps.log.debug({ err, hubSid: room.hub.hubSid }, 'could not keep a chat message');
  });
}

const BLOCK_EVENTS = new Set(['block', 'unblock', 'block_naf', 'unblock_naf']);

export function handleEvent(room: Room, msg: HubEvent): void | Promise<void> {
  const { conn, frame } = msg;
  const seat = room.seats.get(conn.connId);
  if (!seat) {
    if (holdWhileJoining(room, conn.connId, () => handleEvent(room, msg))) return;
    // The join was refused or has not been accepted: Phoenix answers "unmatched topic".
    room.replyError(conn, frame.joinRef, frame.ref, 'UNMATCHED_TOPIC', `not joined to ${room.topic}`);
    return;
  }
  const sender = { sessionId: seat.member.sessionId, permissions: seat.member.permissions };
  const { event, payload } = frame;
  room.deps.metrics.inc('hub_messages_in_total', { event: COUNTED_EVENTS.has(event) ? event : 'other' });

  if (event === 'nafr' || event === 'naf') return handleNaf(room, seat, msg);
  if (event === 'message') {
    const chat = decideChat(payload, sender);
    if (chat.ok) {
      room.relay('message', chat.payload, { from: sender.sessionId });
      keepChat(room, seat, chat.payload);
    } else room.replyError(conn, seat.joinRef, frame.ref, chat.code, chat.message);
    return;
  }
  if (BLOCK_EVENTS.has(event)) return handleBlock(room, seat, msg);
  if (MODERATION_EVENTS.has(event)) return handleModeration(room, seat, msg);
  if (ACCOUNT_EVENTS.has(event)) return handleAccountEvent(room, seat, msg);
  if (PIN_EVENTS.has(event)) return handlePinEvent(room, seat, msg);
  if (event === 'get_host') return handleGetHost(room, seat, msg);
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
