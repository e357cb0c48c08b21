/**
 * Small shared pieces of the event handlers: replies to a seat, turning a
 * failure into the right error reply, and the audit log.
 */
import { AppError } from '../../src/errors.js';
import type { Payload } from '../../src/protocol/frames.js';
import type { Room, Seat } from './room.js';

export function replyOk(room: Room, seat: Seat, ref: string | null, payload: Payload = {}): void {
  room.reply(seat.conn, seat.joinRef, ref, payload);
}

/** Replies with the error's catalogued code, or `internal` (logged) for anything unexpected. */
export function replyFailure(room: Room, seat: Seat, ref: string | null, err: unknown, what: string): void {
  if (err instanceof AppError) {
    room.replyError(seat.conn, seat.joinRef, ref, err.code, err.message);
    return;
  }
  room.deps.log.error({ err, hubSid: room.hub.hubSid }, `${what} failed`);
  room.replyError(seat.conn, seat.joinRef, ref, 'INTERNAL', `${what} failed on the server`);
}

/** Records a moderation action. The action has happened; a record that cannot be written is logged, not retried. */
export function audit(room: Room, seat: Seat | null, action: string, target: string | null, details: Payload | null = null): void {
  room.deps.store
    .appendAudit({
      hubSid: room.hub.hubSid,
      actorAccountId: seat?.member.principal?.accountId ?? null,
      actorSessionId: seat?.member.sessionId ?? null,
      action,
      target,
      details,
    })
    .catch((err: unknown) => room.deps.log.warn({ err, hubSid: room.hub.hubSid, action }, 'could not write the audit log'));
}
