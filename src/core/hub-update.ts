/**
 * Changing a room's settings (parity 2.8 `update_hub`, parity 6 `PATCH
 * /api/v1/hubs/:sid`). The channel event replaces `member_permissions` whole
 * (keys left out become false) and requires it, as Reticulum does; the API
 * merges a partial map into the current one. Both reject unknown permission
 * keys and out-of-range values with a message, where Reticulum crashes the
 * channel. `allow_promotion` applies only for callers that may promote
 * (Reticulum ignores it otherwise); `entry_mode` only when given.
 */
import type { Payload } from '../protocol/frames.js';
import { isPayload } from '../protocol/codec.js';
import { ENTRY_MODES, type EntryMode, type Hub } from './hub.js';
import { MEMBER_PERMISSION_BITS, memberPermissionsToBits, memberPermissionsToObject } from './permissions.js';
import { slugify } from './slug.js';

/** The fields a room update may change. */
export interface HubChanges {
  readonly name?: string;
  readonly slug?: string;
  readonly description?: string | null;
  readonly userData?: Payload | null;
  readonly roomSize?: number;
  readonly memberPermissions?: number;
  readonly allowPromotion?: boolean;
  readonly entryMode?: EntryMode;
}

export type HubUpdateDecision =
  | { readonly ok: true; readonly changes: HubChanges; readonly stale: readonly string[] }
  | { readonly ok: false; readonly message: string };

export interface HubUpdateOptions {
  /** `channel`: update_hub semantics; `api`: PATCH semantics. */
  readonly mode: 'channel' | 'api';
  readonly canPromote: boolean;
  readonly maxRoomSize: number;
  /** What is wrong with new user data (say, a simulation this server does not offer), or null when nothing is. */
  readonly checkUserData?: (userData: Payload | null) => string | null;
}

const KNOWN = new Set<string>(MEMBER_PERMISSION_BITS);

function permissionBits(value: unknown, current: number, merge: boolean): number | string {
  if (!isPayload(value)) return 'member_permissions must be an object of booleans';
  for (const [k, v] of Object.entries(value)) {
    if (!KNOWN.has(k)) return `unknown member permission ${JSON.stringify(k.slice(0, 64))}`;
    if (typeof v !== 'boolean') return `member permission ${k} must be true or false`;
  }
  const flags = value as Record<string, boolean>;
  return memberPermissionsToBits(merge ? { ...memberPermissionsToObject(current), ...flags } : flags);
}

/** Decides what an update changes; `stale` names the hub_refresh fields whose values differ. */
export function decideHubUpdate(hub: Hub, input: Payload, opts: HubUpdateOptions): HubUpdateDecision {
  const changes: { -readonly [K in keyof HubChanges]: HubChanges[K] } = {};
  const stale: string[] = [];
  const bad = (message: string): HubUpdateDecision => ({ ok: false, message });

  if (input['name'] !== undefined) {
    const name = input['name'];
    if (typeof name !== 'string' || name.trim() === '' || name.length > 64) return bad('name must be 1 to 64 characters');
    if (name.trim() !== hub.name) {
      changes.name = name.trim();
      changes.slug = slugify(name);
      stale.push('name');
    }
  }
  if (input['description'] !== undefined) {
    const d = input['description'];
    if (d !== null && (typeof d !== 'string' || d.length > 64000)) return bad('description must be a string of at most 64000 characters, or null');
    if (d !== hub.description) {
      changes.description = d;
      stale.push('description');
    }
  }
  if (input['room_size'] !== undefined) {
    const size = input['room_size'];
    if (!Number.isSafeInteger(size) || (size as number) < 1 || (size as number) > opts.maxRoomSize) return bad(`room_size must be an integer from 1 to ${opts.maxRoomSize}`);
    if (size !== hub.roomSize) {
      changes.roomSize = size as number;
      stale.push('room_size');
    }
  }
  const perms = input['member_permissions'];
  if (perms === undefined && opts.mode === 'channel') return bad('update_hub needs member_permissions');
  if (perms !== undefined) {
    const bits = permissionBits(perms, hub.memberPermissions, opts.mode === 'api');
    if (typeof bits === 'string') return bad(bits);
    if (bits !== hub.memberPermissions) {
      changes.memberPermissions = bits;
      stale.push('member_permissions');
    }
  }
  const promote = input['allow_promotion'];
  if (promote !== undefined && promote !== null) {
    if (typeof promote !== 'boolean') return bad('allow_promotion must be true or false');
    if (opts.canPromote && promote !== hub.allowPromotion) {
      changes.allowPromotion = promote;
      stale.push('allow_promotion');
    }
  }
  const mode = input['entry_mode'];
  if (mode !== undefined && mode !== null) {
    if (!ENTRY_MODES.includes(mode as EntryMode)) return bad(`entry_mode must be one of ${ENTRY_MODES.join(', ')}`);
    if (mode !== hub.entryMode) {
      changes.entryMode = mode as EntryMode;
      stale.push('entry_mode');
    }
  }
  if (input['user_data'] !== undefined) {
    const data = input['user_data'];
    if (data !== null && !isPayload(data)) return bad('user_data must be an object or null');
    const problem = opts.checkUserData?.(data);
    if (problem) return bad(problem);
    if (JSON.stringify(data) !== JSON.stringify(hub.userData)) {
      changes.userData = data;
      stale.push('user_data');
    }
  }
  return { ok: true, changes, stale };
}
