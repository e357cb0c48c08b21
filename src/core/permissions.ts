/**
 * Hub permissions (parity 4.2-4.3): the member-permission bitfield that a room
 * stores, and the 17 named permissions a member holds. Until accounts and
 * roles land (issue 6) every member is an anonymous guest.
 */

/** Bit order of `hubs.member_permissions` (Reticulum `@member_permissions`). */
export const MEMBER_PERMISSION_BITS = [
  'spawn_and_move_media',
  'spawn_camera',
  'spawn_drawing',
  'pin_objects',
  'spawn_emoji',
  'fly',
  'voice_chat',
  'text_chat',
] as const;

export type MemberPermissionName = (typeof MEMBER_PERMISSION_BITS)[number];
export type MemberPermissions = Record<MemberPermissionName, boolean>;

/** Every bit set: Reticulum's `features|permissive_rooms`. */
export const PERMISSIVE_MEMBER_PERMISSIONS = 0xff;
/** Only voice and text chat: Reticulum's restrictive default. */
export const RESTRICTIVE_MEMBER_PERMISSIONS = 0xc0;

export function memberPermissionsToObject(bits: number): MemberPermissions {
  const out = {} as MemberPermissions;
  MEMBER_PERMISSION_BITS.forEach((name, i) => {
    out[name] = (bits & (1 << i)) !== 0;
  });
  return out;
}

export function memberPermissionsToBits(perms: Partial<Record<string, boolean>>): number {
  return MEMBER_PERMISSION_BITS.reduce((bits, name, i) => (perms[name] === true ? bits | (1 << i) : bits), 0);
}

/** The 17 hub permissions, in Reticulum's names. */
export const HUB_PERMISSION_NAMES = [
  'join_hub',
  'update_hub',
  'update_hub_promotion',
  'update_roles',
  'close_hub',
  'embed_hub',
  'kick_users',
  'mute_users',
  'amplify_audio',
  ...MEMBER_PERMISSION_BITS,
] as const;

export type HubPermissionName = (typeof HUB_PERMISSION_NAMES)[number];
export type HubPermissions = Record<HubPermissionName, boolean>;

/** What an anonymous guest may do in a room: join unless it is closed, plus the room's member bits. */
export function guestPermissions(hub: { readonly memberPermissions: number; readonly entryMode: string }): HubPermissions {
  return {
    join_hub: hub.entryMode !== 'deny',
    update_hub: false,
    update_hub_promotion: false,
    update_roles: false,
    close_hub: false,
    embed_hub: false,
    kick_users: false,
    mute_users: false,
    amplify_audio: false,
    ...memberPermissionsToObject(hub.memberPermissions),
  };
}
