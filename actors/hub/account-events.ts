/**
 * Accounts on the channel (parity 2.8): `sign_in {token,
 * creator_assignment_token?}` puts an account on the member (and claims the
 * room for it when the assignment token matches), `sign_out` takes it off,
 * and `refresh_perms_token` answers a fresh perms token. Presence shows the
 * new roles and permissions at once.
 */
import { sameSecret } from '../../src/core/join.js';
import { principalOf, type Principal } from '../../src/core/permissions.js';
import type { HubEvent } from './hub-msg.js';
import { signPerms } from './perms.js';
import { replyFailure, replyOk } from './replies.js';
import type { Room, Seat } from './room.js';

export const ACCOUNT_EVENTS: ReadonlySet<string> = new Set(['sign_in', 'sign_out', 'refresh_perms_token']);

const isSeated = (room: Room, seat: Seat) => room.seats.get(seat.conn.connId) === seat;

async function signedIn(room: Room, seat: Seat, ref: string | null, principal: Principal | null): Promise<void> {
  if (!isSeated(room, seat)) return;
  room.refreshAccess(seat, principal);
  replyOk(room, seat, ref, principal ? { perms_token: await signPerms(room, seat.member) } : {});
}

export async function handleAccountEvent(room: Room, seat: Seat, msg: HubEvent): Promise<void> {
  const { event, payload, ref } = msg.frame;
  if (event === 'refresh_perms_token') return replyOk(room, seat, ref, { perms_token: await signPerms(room, seat.member) });
  if (event === 'sign_out') return signedIn(room, seat, ref, null);

  const token = payload['token'];
  if (typeof token !== 'string' || token === '') return room.replyError(seat.conn, seat.joinRef, ref, 'SIGN_IN_FAILED', 'Sign in failed');
  room.run(
    () => room.deps.identity.authenticate(token),
    (outcome) => {
      if (!isSeated(room, seat)) return;
      if (!outcome.ok) return replyFailure(room, seat, ref, outcome.err, 'sign_in');
      const principal = principalOf(outcome.value);
      if (!principal || principal.isDisabled) return room.replyError(seat.conn, seat.joinRef, ref, 'SIGN_IN_FAILED', 'Sign in failed');
      const claim = payload['creator_assignment_token'];
      const hub = room.hub;
      const isClaim = typeof claim === 'string' && claim !== '' && hub.createdByAccountId === null && hub.creatorAssignmentToken !== '' && sameSecret(claim, hub.creatorAssignmentToken);
      if (!isClaim) return signedIn(room, seat, ref, principal);
      room.run(
        () => room.deps.store.claimCreator(hub.hubSid, principal.accountId, claim),
        (claimed) => {
          if (!claimed.ok) return replyFailure(room, seat, ref, claimed.err, 'claiming the room');
          if (claimed.value) room.control({ op: 'hub', hub: { ...room.hub, createdByAccountId: principal.accountId, creatorAssignmentToken: '' }, stale: [], by: seat.member.sessionId });
          return signedIn(room, seat, ref, principal);
        },
      );
    },
  );
}
