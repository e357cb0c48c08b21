/**
 * Chat and other `message` events (parity 2.8): broadcast to everyone,
 * sender included, with `session_id` set to the sender whatever the client
 * wrote. Chat needs `text_chat`, which Reticulum leaves to the client;
 * photos and videos need `spawn_camera`.
 */
import type { Payload } from '../protocol/frames.js';
import type { HubPermissions } from './permissions.js';

export type ChatDecision =
  | { readonly ok: true; readonly payload: Payload }
  | { readonly ok: false; readonly code: 'BAD_REQUEST' | 'UNAUTHORIZED'; readonly message: string };

const CAMERA_TYPES = new Set(['photo', 'video']);

export function decideChat(payload: Payload, sender: { readonly sessionId: string; readonly permissions: HubPermissions }): ChatDecision {
  const type = payload['type'];
  if (typeof type !== 'string' || type === '') return { ok: false, code: 'BAD_REQUEST', message: 'message needs a string type' };
  if (type === 'chat' && !sender.permissions.text_chat) return { ok: false, code: 'UNAUTHORIZED', message: 'chat messages need the text_chat permission' };
  if (CAMERA_TYPES.has(type) && !sender.permissions.spawn_camera) {
    return { ok: false, code: 'UNAUTHORIZED', message: `${type} messages need the spawn_camera permission` };
  }
  // from_session_id exists in Reticulum only for its per-recipient block filter and is stripped on the way out.
  const { from_session_id: _ignored, ...rest } = payload;
  return { ok: true, payload: { ...rest, session_id: sender.sessionId } };
}
