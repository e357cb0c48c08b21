/**
 * The perms token (parity 4.4): a short-lived RS512 JWT of what a member may
 * do in the room, which the client decodes to drive its UI and the SFU
 * verifies. Refreshed over the channel (`refresh_perms_token`).
 */
import type { Member } from '../../src/core/member.js';
import type { Room } from './room.js';

export function permsClaims(room: Room, member: Member): Record<string, unknown> {
  const principal = member.principal;
  return {
    ...member.permissions,
    tweet: false,
    create_hub: principal?.isDisabled !== true,
    ...(principal?.isAdmin === true ? { postgrest_role: 'ret_admin' } : {}),
    account_id: principal ? String(principal.accountId) : null,
    hub_id: room.hub.hubSid,
    sub: principal ? String(principal.accountId) : member.sessionId,
  };
}

export function signPerms(room: Room, member: Member): Promise<string> {
  return room.deps.tokens.signPermsToken(permsClaims(room, member));
}
