/**
 * NAF relay with server-side arbitration: Reticulum's first-sync rules
 * (src/core/naf.ts), then the entity table (src/core/arbiter.ts), then one
 * broadcast encoded once. A `nafr` whose entries all pass is relayed as the
 * very string the client sent; only a message with entries cut out is
 * re-encoded. A `clientId` narrows delivery to that session.
 */
import { arbitrate, type Arbitration } from '../../src/core/arbiter.js';
import { decideNaf, decideNafr } from '../../src/core/naf.js';
import { isPayload, payloadText } from '../../src/protocol/codec.js';
import type { Payload } from '../../src/protocol/frames.js';
import type { HubEvent } from './hub-msg.js';
import type { Room, Seat } from './room.js';

function arbitrateFor(room: Room, seat: Seat, message: Payload, claimed?: Payload): Arbitration {
  const ctx = { sender: seat.member.sessionId, isPresent: (s: string) => room.isPresent(s), maxEntitiesPerSession: room.deps.limits.maxEntitiesPerSession };
  const result = arbitrate(room.entities, message, ctx, claimed);
  for (const reason of result.drops) room.deps.metrics.inc('hub_dropped_total', { reason });
  if (result.restore && result.restore.length > 0) room.pushEntities(seat, result.restore);
  return result;
}

/** Delivery of a relayed NAF message: droppable when it is `um`/`nafr`, to one session when it names a `clientId`. */
function relay(room: Room, seat: Seat, event: 'naf' | 'nafr', payload: Payload, message: Payload, isDroppable: boolean, isEcho = false, payloadJson?: string): void {
  const to = typeof message['clientId'] === 'string' ? message['clientId'] : undefined;
  if (to !== undefined && !room.isPresent(to)) {
    room.deps.metrics.inc('hub_dropped_total', { reason: 'target_absent' });
    return;
  }
  room.relay(event, payload, { except: isEcho ? undefined : seat.conn.connId, isDroppable, from: seat.member.sessionId, to, isNaf: true }, payloadJson);
}

/**
 * The JSON of a relayed `nafr` payload (`{naf, from_session_id}`) made from
 * the text the client sent, when its payload held `naf` alone: the client's
 * escaped string goes out as it came, and only the sender is appended.
 */
function nafrJson(frame: HubEvent['frame'], sessionId: string): string | undefined {
  for (const key in frame.payload) if (key !== 'naf') return undefined;
  const text = payloadText(frame);
  return text === undefined ? undefined : `${text.slice(0, -1)},"from_session_id":${JSON.stringify(sessionId)}}`;
}

function refuseIfLimited(room: Room, seat: Seat, msg: HubEvent, result: Arbitration): void {
  if (result.drops.includes('entity_limit')) {
    room.replyError(seat.conn, seat.joinRef, msg.frame.ref, 'ENTITY_LIMIT', `a session may have at most ${room.deps.limits.maxEntitiesPerSession} entities in a room`);
  }
}

export function handleNaf(room: Room, seat: Seat, msg: HubEvent): void {
  const { frame } = msg;
  if (msg.size > room.deps.limits.maxNafBytes) {
    room.replyError(seat.conn, seat.joinRef, frame.ref, 'PAYLOAD_TOO_LARGE', `NAF messages are limited to ${room.deps.limits.maxNafBytes} bytes`);
    return;
  }
  const sender = { sessionId: seat.member.sessionId, permissions: seat.member.permissions };
  const decision = frame.event === 'nafr' ? decideNafr(frame.payload, sender) : decideNaf(frame.payload, sender);
  switch (decision.action) {
    case 'invalid':
      room.replyError(seat.conn, seat.joinRef, frame.ref, 'BAD_REQUEST', decision.message);
      return;
    case 'drop':
      room.deps.metrics.inc('hub_dropped_total', { reason: decision.reason });
      return;
    case 'naf': {
      const result = arbitrateFor(room, seat, decision.payload, decision.claimed);
      refuseIfLimited(room, seat, msg, result);
      if (result.message) relay(room, seat, 'naf', result.message, result.message, decision.isDroppable, result.isEcho);
      if (result.message) room.sims?.entitiesChanged(result.message);
      return;
    }
    case 'nafr': {
      const raw = decision.payload['naf'] as string;
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        parsed = undefined;
      }
      // Reticulum relays nafr without parsing; what does not parse cannot be arbitrated, and goes out as it came.
      if (!isPayload(parsed)) return relay(room, seat, 'nafr', decision.payload, {}, true);
      const result = arbitrateFor(room, seat, parsed);
      refuseIfLimited(room, seat, msg, result);
      if (!result.message) return;
      const isAsSent = result.message === parsed;
      const payload = isAsSent ? decision.payload : { naf: JSON.stringify(result.message), from_session_id: seat.member.sessionId };
      relay(room, seat, 'nafr', payload, result.message, true, result.isEcho, isAsSent ? nafrJson(frame, seat.member.sessionId) : undefined);
      room.sims?.entitiesChanged(result.message);
      return;
    }
  }
}
