/**
 * Commands that change a live room from outside its relay path: moderation
 * (kick, mute, bans, close), role and room changes. Whoever decides one (a
 * room actor handling a channel event, or an HTTP route) applies it to the
 * room on its own node and publishes it once on `hub.<sid>.ctl`; every other
 * node holding the room applies it to its own members. The store is written
 * before a command goes out, so a node that starts the room later reads the
 * same outcome; the one exception is `host`, which the room's home sends as
 * it decides and records right after (actors/hub/host.ts), and which a node
 * starting the room also learns from the room state the others send it.
 */
import type { Payload } from '../protocol/frames.js';
import { isPayload } from '../protocol/codec.js';
import { decodeJson, encodeJson } from './bus-json.js';
import { ENTRY_MODES, type Hub } from './hub.js';
import type { BanRule } from './join.js';
import { parseSfuHost } from './sfu-placement.js';

export type RoomCommand =
  /** The room record changed; `stale` are the hub_refresh fields (none: roles only), `by` the session that changed it. `close` forces everyone out. */
  | { readonly op: 'hub'; readonly hub: Hub; readonly stale: readonly string[]; readonly by: string | null; readonly close?: boolean }
  /** Closes the sockets of a session, or of every session of an account, that are in the room. */
  | { readonly op: 'kick'; readonly session: string | null; readonly account: number | null }
  /** Asks one session to turn its microphone off (parity 4.6). */
  | { readonly op: 'mute'; readonly session: string }
  /** The creator made `session` an owner (`on`) or not: the node holding that session's seat, which knows its account, writes the role. */
  | { readonly op: 'promote'; readonly session: string; readonly on: boolean }
  /** An account gained or lost the owner role. */
  | { readonly op: 'owner'; readonly account: number; readonly on: boolean }
  | { readonly op: 'ban'; readonly banId: number; readonly ban: BanRule }
  | { readonly op: 'unban'; readonly banId: number }
  /** The room's active invite changed. */
  | { readonly op: 'invite'; readonly invite: string | null }
  /** The room's home assigned it another SFU (`name:port`, src/core/sfu-placement.ts); members get `host_changed` (parity 7.5). */
  | { readonly op: 'host'; readonly host: string | null };


export function encodeCommand(cmd: RoomCommand): Uint8Array {
  return encodeJson(cmd);
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isIntOrNull = (v: unknown): v is number | null => v === null || Number.isSafeInteger(v);
const isHostOrNull = (v: unknown): v is string | null => v === null || (isStr(v) && parseSfuHost(v) !== null);

function decodeDate(v: unknown): Date | null | undefined {
  if (v === null) return null;
  if (!isStr(v)) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function decodeHub(v: unknown): Hub | null {
  if (!isPayload(v)) return null;
  const createdAt = decodeDate(v['createdAt']);
  const ok =
    isStr(v['hubSid']) &&
    isStr(v['name']) &&
    isStr(v['slug']) &&
    isStrOrNull(v['description']) &&
    (v['userData'] === null || isPayload(v['userData'])) &&
    isInt(v['roomSize']) &&
    isInt(v['memberPermissions']) &&
    ENTRY_MODES.includes(v['entryMode'] as never) &&
    typeof v['allowPromotion'] === 'boolean' &&
    isStr(v['creatorAssignmentToken']) &&
    isStr(v['embedToken']) &&
    typeof v['embedded'] === 'boolean' &&
    isIntOrNull(v['createdByAccountId']) &&
    isHostOrNull(v['host']) &&
    createdAt instanceof Date;
  return ok ? ({ ...v, createdAt } as unknown as Hub) : null;
}

/** Decodes a command from the bus; null for anything malformed. */
export function decodeCommand(bytes: Uint8Array): RoomCommand | null {
  const v = decodeJson(bytes);
  if (!isPayload(v)) return null;
  const c: Payload = v;
  switch (c['op']) {
    case 'hub': {
      const hub = decodeHub(c['hub']);
      const stale = c['stale'];
      if (!hub || !Array.isArray(stale) || !stale.every(isStr) || !isStrOrNull(c['by'])) return null;
      return { op: 'hub', hub, stale, by: c['by'], close: c['close'] === true };
    }
    case 'kick':
      return isStrOrNull(c['session']) && isIntOrNull(c['account']) ? { op: 'kick', session: c['session'], account: c['account'] } : null;
    case 'mute':
      return isStr(c['session']) ? { op: 'mute', session: c['session'] } : null;
    case 'promote':
      return isStr(c['session']) && typeof c['on'] === 'boolean' ? { op: 'promote', session: c['session'], on: c['on'] } : null;
    case 'owner':
      return isInt(c['account']) && typeof c['on'] === 'boolean' ? { op: 'owner', account: c['account'], on: c['on'] } : null;
    case 'ban': {
      const ban = c['ban'];
      if (!isInt(c['banId']) || !isPayload(ban)) return null;
      const expiresAt = decodeDate(ban['expiresAt']);
      if (!isStrOrNull(ban['sessionId']) || !isIntOrNull(ban['accountId']) || expiresAt === undefined) return null;
      return { op: 'ban', banId: c['banId'], ban: { sessionId: ban['sessionId'], accountId: ban['accountId'], expiresAt } };
    }
    case 'unban':
      return isInt(c['banId']) ? { op: 'unban', banId: c['banId'] } : null;
    case 'invite':
      return isStrOrNull(c['invite']) ? { op: 'invite', invite: c['invite'] } : null;
    case 'host':
      return isHostOrNull(c['host']) ? { op: 'host', host: c['host'] } : null;
    default:
      return null;
  }
}
