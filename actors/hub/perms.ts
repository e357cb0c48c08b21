/**
 * The perms token (parity 4.4): a short-lived RS512 JWT of what a member may
 * do in the room, which the client decodes to drive its UI and the SFU
 * verifies. Refreshed over the channel (`refresh_perms_token`).
 */
import type { Member } from '../../src/core/member.js';
import { permsClaims } from '../../src/core/permissions.js';
import type { Room } from './room.js';

export function signPerms(room: Room, member: Member): Promise<string> {
  return room.deps.tokens.signPermsToken(permsClaims(member.principal, member.sessionId, { hubSid: room.hub.hubSid, permissions: member.permissions }));
}
