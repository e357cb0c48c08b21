/**
 * The join decision for `hub:<sid>` (parity 2.4), for what exists so far:
 * a room that is missing, closed or invite-only is refused with Reticulum's
 * reasons;
 * otherwise the member starts in the lobby as an anonymous guest.
 */
import type { ErrorCodeName } from '../errors.js';
import type { Payload } from '../protocol/frames.js';
import { isPayload } from '../protocol/codec.js';
import type { Hub } from './hub.js';
import type { Member } from './member.js';
import { guestPermissions } from './permissions.js';

export type JoinDecision =
  | { readonly ok: true; readonly member: Member }
  | { readonly ok: false; readonly code: ErrorCodeName; readonly message: string };

/** Hubs shows its "room is full" screen for an error that mentions "full". */
export function roomFullMessage(hub: Pick<Hub, 'roomSize'>): string {
  return `Room is full (${hub.roomSize} people)`;
}

/**
 * Decides a join. `params` is the client's join payload, untrusted.
 * `occupants` is how many other sessions are in the room: the server holds
 * `room_size`, which Reticulum leaves to the client (parity 4.8), and a
 * session already inside (another tab, a reconnect) does not count twice.
 */
export function decideJoin(hub: Hub | undefined, sessionId: string, params: Payload, occupants = 0): JoinDecision {
  // Parity: RetWeb.HubChannel.join/3 (hub lookup), join_with_hub (entry_mode: :deny)
  if (!hub) return { ok: false, code: 'HUB_NOT_FOUND', message: 'No such Hub' };
  if (hub.entryMode === 'deny') return { ok: false, code: 'HUB_CLOSED', message: 'Hub no longer accessible' };
  // Invites arrive with accounts and roles; until then nobody holds one, and a guest cannot update the hub.
  if (hub.entryMode === 'invite') return { ok: false, code: 'JOIN_DENIED', message: 'Join denied' };
  const { profile, context } = params;
  // Reticulum crashes the join without these; we say what is missing instead.
  if (!isPayload(profile) || !isPayload(context)) {
    return { ok: false, code: 'BAD_REQUEST', message: 'join params need a profile object and a context object' };
  }
  if (occupants >= hub.roomSize) return { ok: false, code: 'ROOM_FULL', message: roomFullMessage(hub) };
  return {
    ok: true,
    member: {
      sessionId,
      presence: 'lobby',
      profile,
      context,
      roles: { owner: false, creator: false, signed_in: false },
      permissions: guestPermissions(hub),
      flags: {},
    },
  };
}
