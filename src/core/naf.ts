/**
 * What the relay does with networked-aframe traffic (parity 2.9): which
 * first syncs a member may send, the owner/creator rewrite, the `um`
 * first-sync drop, and when a `nafr` string must be parsed at all.
 */
import type { Payload } from '../protocol/frames.js';
import { isPayload } from '../protocol/codec.js';
import type { HubPermissions } from './permissions.js';

export type NafDecision =
  /**
   * Broadcast `naf` with this payload (already carrying from_session_id). For
   * an instantiation, `claimed` is the message as sent, before owner and
   * creator were rewritten: the arbiter judges a first sync of an entity that
   * already exists by the owner it names.
   */
  | { readonly action: 'naf'; readonly payload: Payload; readonly isDroppable: boolean; readonly claimed?: Payload }
  /** Broadcast `nafr` with the client's string untouched. */
  | { readonly action: 'nafr'; readonly payload: Payload }
  /** Nothing is relayed; `reason` names the counter. */
  | { readonly action: 'drop'; readonly reason: 'template_not_permitted' | 'um_first_sync' }
  | { readonly action: 'invalid'; readonly message: string };

interface Sender {
  readonly sessionId: string;
  readonly permissions: HubPermissions;
}

/** Template suffix -> the permission needed to instantiate it; `null` means anyone (parity 2.9 clause 1). */
const TEMPLATE_PERMISSION: readonly (readonly [string, keyof HubPermissions | null])[] = [
  ['-avatar', null],
  ['-media', 'spawn_and_move_media'],
  ['-camera', 'spawn_camera'],
  ['-drawing', 'spawn_drawing'],
  ['-pen', 'spawn_drawing'],
  ['-emoji', 'spawn_emoji'],
];

export function mayInstantiate(template: string, permissions: HubPermissions): boolean {
  for (const [suffix, permission] of TEMPLATE_PERMISSION) {
    if (template.endsWith(suffix)) return permission === null || permissions[permission];
  }
  return false;
}

/** Elixir truthiness, as Reticulum tests it: anything but nil and false. */
function isTruthy(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false;
}

/** Decides a `naf` message. Parity: RetWeb.HubChannel.handle_in("naf", ...) clauses. */
export function decideNaf(payload: Payload, sender: Sender): NafDecision {
  const { dataType, data } = payload;
  if (typeof dataType !== 'string') return { action: 'invalid', message: 'naf needs a string dataType' };
  if (isPayload(data) && data['isFirstSync'] === true && data['persistent'] === false && data['template'] !== undefined) {
    // Reticulum matches any template here; one that is not a string crashes its channel, we drop it.
    if (typeof data['template'] !== 'string' || !mayInstantiate(data['template'], sender.permissions)) return { action: 'drop', reason: 'template_not_permitted' };
    const owned = { ...data, creator: sender.sessionId, owner: sender.sessionId };
    return { action: 'naf', payload: { ...payload, data: owned, from_session_id: sender.sessionId }, isDroppable: false, claimed: payload };
  }
  if (dataType === 'um') {
    const entries = isPayload(data) && Array.isArray(data['d']) ? data['d'] : [];
    if (entries.some((e: unknown) => isPayload(e) && isTruthy(e['isFirstSync']))) {
      return { action: 'drop', reason: 'um_first_sync' };
    }
    return { action: 'naf', payload: { ...payload, from_session_id: sender.sessionId }, isDroppable: true };
  }
  return { action: 'naf', payload: { ...payload, from_session_id: sender.sessionId }, isDroppable: false };
}

/**
 * Decides a `nafr` message. Its `naf` string is relayed unparsed unless it
 * contains `isFirstSync`, in which case it is parsed and handled as `naf`
 * so the first-sync rules apply (parity 2.9).
 */
export function decideNafr(payload: Payload, sender: Sender): NafDecision {
  const raw = payload['naf'];
  if (typeof raw !== 'string') return { action: 'invalid', message: 'nafr needs a naf string' };
  if (!raw.includes('isFirstSync')) return { action: 'nafr', payload: { naf: raw, from_session_id: sender.sessionId } };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { action: 'invalid', message: 'nafr naf string is not valid JSON' };
  }
  if (!isPayload(parsed)) return { action: 'invalid', message: 'nafr naf string must encode a JSON object' };
  return decideNaf(parsed, sender);
}
