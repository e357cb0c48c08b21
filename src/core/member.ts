/**
 * One member of a room: what presence shows of them (parity 2.7) and how the
 * `events:*` messages change it (parity 2.8).
 */
import type { Payload } from '../protocol/frames.js';
import { isPayload } from '../protocol/codec.js';
import type { HubPermissions, HubRoles, Principal } from './permissions.js';

export const PRESENCE_FLAGS = ['streaming', 'recording', 'hand_raised', 'typing'] as const;
export type PresenceFlag = (typeof PRESENCE_FLAGS)[number];

export type MemberRoles = HubRoles;

export interface Member {
  readonly sessionId: string;
  readonly presence: 'lobby' | 'room';
  readonly profile: Payload;
  readonly context: Payload;
  /** The signed-in account; null for a guest. Never shown in presence. */
  readonly principal: Principal | null;
  readonly roles: MemberRoles;
  readonly permissions: HubPermissions;
  /** Flags appear in presence only once set, as in Reticulum's assigns. */
  readonly flags: Readonly<Partial<Record<PresenceFlag, boolean>>>;
}

/** The presence meta of a member (without `phx_ref`, which Presence adds). */
export function presenceMeta(member: Member): Payload {
  return {
    presence: member.presence,
    profile: member.profile,
    context: member.context,
    roles: member.roles,
    permissions: member.permissions,
    ...member.flags,
  };
}

const FLAG_EVENTS: Readonly<Record<string, readonly [PresenceFlag, boolean]>> = {
  'events:begin_recording': ['recording', true],
  'events:end_recording': ['recording', false],
  'events:raise_hand': ['hand_raised', true],
  'events:lower_hand': ['hand_raised', false],
  'events:begin_streaming': ['streaming', true],
  'events:end_streaming': ['streaming', false],
  'events:begin_typing': ['typing', true],
  'events:end_typing': ['typing', false],
};

/** Events handled by `applyMemberEvent`. */
export const MEMBER_EVENTS: ReadonlySet<string> = new Set([
  'events:entering',
  'events:entering_cancelled',
  'events:entered',
  'events:profile_updated',
  ...Object.keys(FLAG_EVENTS),
]);

export type MemberEventResult = { readonly ok: true; readonly member: Member } | { readonly ok: false; readonly message: string };

function without(obj: Payload, key: string): Payload {
  const { [key]: _dropped, ...rest } = obj;
  return rest;
}

/**
 * Applies one of MEMBER_EVENTS to a member; the caller republishes presence
 * with the returned member. Parity: RetWeb.HubChannel.handle_in("events:*").
 */
export function applyMemberEvent(member: Member, event: string, payload: Payload): MemberEventResult {
  const flag = FLAG_EVENTS[event];
  if (flag) return { ok: true, member: { ...member, flags: { ...member.flags, [flag[0]]: flag[1] } } };
  switch (event) {
    case 'events:entering':
      return { ok: true, member: { ...member, context: { ...member.context, entering: true } } };
    case 'events:entering_cancelled':
      return { ok: true, member: { ...member, context: without(member.context, 'entering') } };
    case 'events:entered': {
      let context = without(member.context, 'entering');
      const display = payload['entryDisplayType'];
      if (typeof display === 'string' && display !== 'Screen') context = { ...context, hmd: true };
      return { ok: true, member: { ...member, presence: 'room', context } };
    }
    case 'events:profile_updated': {
      const profile = payload['profile'];
      if (!isPayload(profile)) return { ok: false, message: 'events:profile_updated needs a profile object' };
      return { ok: true, member: { ...member, profile } };
    }
    default:
      throw new TypeError(`not a member event: ${event}`);
  }
}
