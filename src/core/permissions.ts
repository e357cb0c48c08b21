/**
 * Hub permissions (parity 4.2-4.3): the member-permission bitfield that a room
 * stores, the roles a member holds, and the 17 named permissions that follow.
 *
 * Roles, as Reticulum has them: the creator (the account that created or
 * claimed the room), owners (the creator plus accounts given the role), and
 * signed-in members. Where we differ, deliberately: a global admin holds every
 * permission in every room (Reticulum gives admins only
 * `update_hub_promotion`, which leaves an operator no way to moderate), and
 * owners may make their room public (`update_hub_promotion`, as Reticulum with
 * `features|public_rooms`).
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

/** The account behind a member or an API call, as far as permissions care. */
export interface Principal {
  readonly accountId: number;
  readonly isAdmin: boolean;
  readonly isDisabled: boolean;
}

type AccountLike = { readonly accountId: number; readonly isAdmin: boolean; readonly state: string };

/** The principal of an account record (anything with these fields); null for no account. */
export function principalOf(account: AccountLike): Principal;
export function principalOf(account: AccountLike | null): Principal | null;
export function principalOf(account: AccountLike | null): Principal | null {
  return account ? { accountId: account.accountId, isAdmin: account.isAdmin, isDisabled: account.state === 'disabled' } : null;
}

/**
 * The claims of a perms token (parity 4.4): the global perms (`tweet`,
 * `create_hub`, `postgrest_role` for admins) and `account_id`, plus, for a
 * member of a room, its 17 hub permissions and `hub_id`. `sub` is the
 * account, or the session of a guest. `session_id` (not in Reticulum's token)
 * binds the token to one session: the SFU admits it only as that peer.
 */
export function permsClaims(principal: Principal | null, sessionId: string, room?: { readonly hubSid: string; readonly permissions: HubPermissions }): Record<string, unknown> {
  return {
    ...room?.permissions,
    tweet: false,
    create_hub: principal?.isDisabled !== true,
    ...(principal?.isAdmin === true ? { postgrest_role: 'ret_admin' } : {}),
    account_id: principal ? String(principal.accountId) : null,
    ...(room ? { hub_id: room.hubSid } : {}),
    session_id: sessionId,
    sub: principal ? String(principal.accountId) : sessionId,
  };
}

/** What permissions need of a room. */
export interface RoomAccess {
  readonly memberPermissions: number;
  readonly entryMode: string;
  readonly createdByAccountId?: number | null;
}

export interface HubRoles {
  readonly owner: boolean;
  readonly creator: boolean;
  readonly signed_in: boolean;
}

/** The roles of `who` in a room whose owner rows are `owners` (parity 4.1: the creator is an owner). */
export function rolesFor(hub: RoomAccess, owners: ReadonlySet<number>, who: Principal | null): HubRoles {
  if (!who) return { owner: false, creator: false, signed_in: false };
  const creator = hub.createdByAccountId === who.accountId;
  return { owner: creator || owners.has(who.accountId), creator, signed_in: true };
}

const NONE: HubPermissions = Object.fromEntries(HUB_PERMISSION_NAMES.map((n) => [n, false])) as HubPermissions;

/** The 17 permissions of `who` (null: an anonymous guest) in a room (parity 4.2). */
export function hubPermissions(hub: RoomAccess, roles: HubRoles, who: Principal | null): HubPermissions {
  if (who?.isDisabled === true) return NONE;
  const isAdmin = who?.isAdmin === true;
  const isOwner = roles.owner || isAdmin;
  const bits = isOwner ? PERMISSIVE_MEMBER_PERMISSIONS : hub.memberPermissions;
  return {
    join_hub: hub.entryMode !== 'deny',
    update_hub: isOwner,
    update_hub_promotion: isOwner,
    update_roles: roles.creator || isAdmin,
    close_hub: isOwner,
    embed_hub: isOwner,
    kick_users: isOwner,
    mute_users: isOwner,
    amplify_audio: isOwner,
    ...memberPermissionsToObject(bits),
  };
}

/** What an anonymous guest may do in a room: join unless it is closed, plus the room's member bits. */
export function guestPermissions(hub: RoomAccess): HubPermissions {
  return hubPermissions(hub, rolesFor(hub, new Set(), null), null);
}
