/**
 * Moderation and room management on the channel (parity 2.8): `kick`,
 * `mute`, `add_owner`/`remove_owner`, `update_hub`, `close_hub`,
 * `fetch_invite`/`revoke_invite`. Every one is checked against the sender's
 * permissions here, on the server; a refusal is an `unauthorized` error reply
 * (Reticulum mostly ignores such events silently). Changes are written to the
 * store first and then go out as room commands (src/core/control.ts), so
 * every node applies them to its own members.
 */
import { randomBytes } from 'node:crypto';
import { simulationSettingsProblem } from '../../src/sim/simulation.js';
import { decideHubUpdate } from '../../src/core/hub-update.js';
import { sameSecret } from '../../src/core/join.js';
import { sidFromBytes } from '../../src/core/sids.js';
import type { HubPermissionName } from '../../src/core/permissions.js';
import { AppError } from '../../src/errors.js';
import type { HubEvent } from './hub-msg.js';
import { audit, replyFailure, replyOk } from './replies.js';
import type { Room, Seat } from './room.js';

export const MODERATION_EVENTS: ReadonlySet<string> = new Set(['kick', 'mute', 'add_owner', 'remove_owner', 'update_hub', 'close_hub', 'fetch_invite', 'revoke_invite']);

const NEEDS: Readonly<Record<string, HubPermissionName>> = {
  kick: 'kick_users',
  mute: 'mute_users',
  add_owner: 'update_roles',
  remove_owner: 'update_roles',
  update_hub: 'update_hub',
  close_hub: 'close_hub',
};

function newInviteSid(): string {
  for (;;) {
    const sid = sidFromBytes(randomBytes(32));
    if (sid) return sid;
  }
}

export function handleModeration(room: Room, seat: Seat, msg: HubEvent): void {
  const { event, payload, ref } = msg.frame;
  const perms = seat.member.permissions;
  const needed = NEEDS[event];
  if (needed && !perms[needed]) {
    room.replyError(seat.conn, seat.joinRef, ref, 'UNAUTHORIZED', `${event} needs the ${needed} permission`);
    return;
  }
  const self = seat.member.sessionId;
  const sid = room.hub.hubSid;
  const target = payload['session_id'];
  const needsTarget = event === 'kick' || event === 'mute' || event === 'add_owner' || event === 'remove_owner';
  if (needsTarget && (typeof target !== 'string' || target === '')) {
    room.replyError(seat.conn, seat.joinRef, ref, 'BAD_REQUEST', `${event} needs a session_id`);
    return;
  }
  const session = target as string;

  switch (event) {
    case 'kick':
      room.control({ op: 'kick', session, account: null });
      audit(room, seat, 'kick', `session:${session}`);
      return replyOk(room, seat, ref);
    case 'mute':
      room.control({ op: 'mute', session });
      audit(room, seat, 'mute', `session:${session}`);
      return replyOk(room, seat, ref);
    case 'add_owner':
    case 'remove_owner':
      room.control({ op: 'promote', session, on: event === 'add_owner' });
      audit(room, seat, event, `session:${session}`);
      return replyOk(room, seat, ref);
    case 'update_hub': {
      const names = room.deps.simulationNames ?? new Set<string>();
      const decision = decideHubUpdate(room.hub, payload, { mode: 'channel', canPromote: perms.update_hub_promotion, maxRoomSize: room.deps.maxRoomSize, checkUserData: (d) => simulationSettingsProblem(d, names) });
      if (!decision.ok) return room.replyError(seat.conn, seat.joinRef, ref, 'BAD_REQUEST', decision.message);
      if (decision.stale.length === 0) return replyOk(room, seat, ref);
      room.run(
        () => room.deps.store.updateHub(sid, decision.changes),
        (outcome) => {
          if (!outcome.ok) return replyFailure(room, seat, ref, outcome.err, 'update_hub');
          if (!outcome.value) return room.replyError(seat.conn, seat.joinRef, ref, 'HUB_NOT_FOUND', 'No such Hub');
          room.control({ op: 'hub', hub: outcome.value, stale: decision.stale, by: self });
          audit(room, seat, 'update_hub', null, { stale_fields: [...decision.stale] });
          replyOk(room, seat, ref);
        },
      );
      return;
    }
    case 'close_hub':
      room.run(
        () => room.deps.store.updateHub(sid, { entryMode: 'deny' }),
        (outcome) => {
          if (!outcome.ok) return replyFailure(room, seat, ref, outcome.err, 'close_hub');
          if (!outcome.value) return room.replyError(seat.conn, seat.joinRef, ref, 'HUB_NOT_FOUND', 'No such Hub');
          replyOk(room, seat, ref);
          audit(room, seat, 'close', null);
          room.control({ op: 'hub', hub: outcome.value, stale: ['entry_mode'], by: self, close: true });
        },
      );
      return;
    case 'fetch_invite':
      // Parity: without update_hub the reply is ok with nothing in it.
      if (!perms.update_hub) return replyOk(room, seat, ref);
      if (room.invite !== undefined) return replyOk(room, seat, ref, { hub_invite_id: room.invite });
      return newInvite(room, seat, ref, null);
    case 'revoke_invite': {
      const offered = payload['hub_invite_id'];
      const isActive = typeof offered === 'string' && room.invite !== undefined && sameSecret(offered, room.invite);
      if (!perms.update_hub || !isActive) return replyOk(room, seat, ref);
      return newInvite(room, seat, ref, offered);
    }
    default:
      throw new AppError('INTERNAL', `not a moderation event: ${event}`);
  }
}

/** Makes a fresh invite the room's active one (revoking `revoked`), and replies with it. */
function newInvite(room: Room, seat: Seat, ref: string | null, revoked: string | null): void {
  const invite = newInviteSid();
  room.run(
    () => room.deps.store.createInvite(room.hub.hubSid, invite),
    (outcome) => {
      if (!outcome.ok) return replyFailure(room, seat, ref, outcome.err, 'the invite');
      room.control({ op: 'invite', invite });
      if (revoked !== null) audit(room, seat, 'revoke_invite', null);
      replyOk(room, seat, ref, { hub_invite_id: invite });
    },
  );
}
