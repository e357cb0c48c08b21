/**
 * The room ("hub") record and its public view (parity 2.5 and 5.1).
 */
import { createHash } from 'node:crypto';
import type { Payload } from '../protocol/frames.js';
import { memberPermissionsToObject } from './permissions.js';
import { hostFields } from './sfu-placement.js';

export const ENTRY_MODES = ['allow', 'invite', 'deny'] as const;
export type EntryMode = (typeof ENTRY_MODES)[number];

/** A room as stored. */
export interface Hub {
  readonly hubSid: string;
  readonly name: string;
  readonly slug: string;
  readonly description: string | null;
  readonly userData: Payload | null;
  readonly roomSize: number;
  /** Bitfield, see permissions.ts. */
  readonly memberPermissions: number;
  readonly entryMode: EntryMode;
  readonly allowPromotion: boolean;
  readonly creatorAssignmentToken: string;
  readonly embedToken: string;
  /** Set once any member joined from an embed (parity 2.6). */
  readonly embedded: boolean;
  /** The creator's account (parity 4.1); null until someone claims the room. */
  readonly createdByAccountId: number | null;
  /** The SFU the room is assigned, `name:port` (src/core/sfu-placement.ts); null until one is (parity 7.5). */
  readonly host: string | null;
  readonly createdAt: Date;
}

/** Live counts from presence; never stored (parity 2.5). */
export interface HubCounts {
  readonly memberCount: number;
  readonly lobbyCount: number;
}

/** The first 53 bits of sha256(hub_sid), as Reticulum's `janus_room_id_for_hub`. */
export function janusRoomId(hubSid: string): number {
  const digest = createHash('sha256').update(hubSid).digest();
  return Number(digest.readBigUInt64BE(0) >> 11n);
}

/** The path of the shared link. */
export function hubPath(hub: Pick<Hub, 'hubSid' | 'slug'>): string {
  return `/${hub.hubSid}/${hub.slug}`;
}

/**
 * The hub as the join reply and `GET /api/v1/hubs/:sid` show it (parity 2.5).
 * `host`/`port` are the room's SFU, null until it has one. Fields whose
 * features do not exist yet carry Reticulum's defaults: TURN off, no scene (a
 * topic with no assets instead).
 */
export function hubView(hub: Hub, counts: HubCounts, opts: { readonly baseUrl: string; readonly canEmbed?: boolean }): Payload {
  return {
    hub_id: hub.hubSid,
    name: hub.name,
    description: hub.description,
    user_data: hub.userData,
    slug: hub.slug,
    url: `${opts.baseUrl}${hubPath(hub)}`,
    allow_promotion: hub.allowPromotion,
    entry_code: 0,
    entry_mode: hub.entryMode,
    ...hostFields(hub.host),
    turn: { enabled: false },
    scene: null,
    topics: [{ topic_id: `${hub.hubSid}/${hub.slug}`, janus_room_id: janusRoomId(hub.hubSid), assets: [] }],
    embed_token: opts.canEmbed === true ? hub.embedToken : null,
    member_permissions: memberPermissionsToObject(hub.memberPermissions),
    room_size: hub.roomSize,
    member_count: counts.memberCount,
    lobby_count: counts.lobbyCount,
  };
}
