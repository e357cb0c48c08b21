/**
 * The join decision for `hub:<sid>` (parity 2.4), first matching rule wins:
 * a missing room (`not_found`), a closed one (`closed`), a disabled account
 * (`join_denied`), a ban in force (`banned`, ours), an invite-only room
 * without the active invite (`join_denied`), bad params, and a full room
 * (`room_full`, ours: Reticulum leaves the cap to the client, parity 4.8).
 * Whoever may update the room passes the invite and size checks, as the Hubs
 * client lets them.
 */
import { timingSafeEqual } from 'node:crypto';
import type { ErrorCodeName } from '../errors.js';
import type { Payload } from '../protocol/frames.js';
import { isPayload } from '../protocol/codec.js';
import type { Hub } from './hub.js';
import type { Member } from './member.js';
import { hubPermissions, rolesFor, type Principal } from './permissions.js';

export type JoinDecision =
  | { readonly ok: true; readonly member: Member }
  | { readonly ok: false; readonly code: ErrorCodeName; readonly message: string };

/** A ban as the join decision needs it. */
export interface BanRule {
  readonly sessionId: string | null;
  readonly accountId: number | null;
  readonly expiresAt: Date | null;
}

/** What a join is decided on. `params` is the client's join payload, untrusted. */
export interface JoinInput {
  readonly hub: Hub | undefined;
  readonly sessionId: string;
  readonly params: Payload;
  /** The account the join's `auth_token` named; null for a guest. */
  readonly principal?: Principal | null;
  /** Accounts with an owner row for the room. */
  readonly owners?: ReadonlySet<number>;
  readonly bans?: readonly BanRule[];
  /** The room's active invite sid. */
  readonly invite?: string;
  /** How many other sessions are in the room; a session already inside does not count twice. */
  readonly occupants?: number;
  /** Milliseconds since the epoch, for ban expiry. */
  readonly now?: number;
}

/** Hubs shows its "room is full" screen for an error that mentions "full". */
export function roomFullMessage(hub: Pick<Hub, 'roomSize'>): string {
  return `Room is full (${hub.roomSize} people)`;
}

/** Compares two secrets in constant time for equal lengths. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The ban that keeps this session or account out at `now`, if any. */
export function banFor(bans: readonly BanRule[], sessionId: string, accountId: number | null, now: number): BanRule | undefined {
  return bans.find(
    (b) => (b.expiresAt === null || b.expiresAt.getTime() > now) && (b.sessionId === sessionId || (accountId !== null && b.accountId === accountId)),
  );
}

export function bannedMessage(ban: BanRule): string {
  return ban.expiresAt === null ? 'You are banned from this room' : `You are banned from this room until ${ban.expiresAt.toISOString()}`;
}

export function decideJoin(input: JoinInput): JoinDecision {
  const { hub, sessionId, params } = input;
  const principal = input.principal ?? null;
  // Parity: RetWeb.HubChannel.join/3 (hub lookup), join_with_hub (entry_mode: :deny)
  if (!hub) return { ok: false, code: 'HUB_NOT_FOUND', message: 'No such Hub' };
  if (hub.entryMode === 'deny') return { ok: false, code: 'HUB_CLOSED', message: 'Hub no longer accessible' };
  if (principal?.isDisabled === true) return { ok: false, code: 'JOIN_DENIED', message: 'Join denied' };
  const ban = banFor(input.bans ?? [], sessionId, principal?.accountId ?? null, input.now ?? Date.now());
  if (ban) return { ok: false, code: 'BANNED', message: bannedMessage(ban) };
  const roles = rolesFor(hub, input.owners ?? new Set(), principal);
  const permissions = hubPermissions(hub, roles, principal);
  if (hub.entryMode === 'invite' && !permissions.update_hub) {
    const offered = params['hub_invite_id'];
    const isInvited = typeof offered === 'string' && input.invite !== undefined && sameSecret(offered, input.invite);
    if (!isInvited) return { ok: false, code: 'JOIN_DENIED', message: 'Join denied' };
  }
  const { profile, context } = params;
  // Reticulum crashes the join without these; we say what is missing instead.
  if (!isPayload(profile) || !isPayload(context)) {
    return { ok: false, code: 'BAD_REQUEST', message: 'join params need a profile object and a context object' };
  }
  if (!permissions.update_hub && (input.occupants ?? 0) >= hub.roomSize) return { ok: false, code: 'ROOM_FULL', message: roomFullMessage(hub) };
  return { ok: true, member: { sessionId, presence: 'lobby', profile, context, principal, roles, permissions, flags: {} } };
}
