/**
 * JSON Schemas of what clients send on the socket: the join params and every
 * inbound event of `hub:<sid>` and `ret`, as Reticulum and the Hubs client
 * shape them (parity 2.2, 2.3, 2.8, 2.9, 3.1). The server checks these
 * payloads field by field in its handlers, so the schemas live here, written
 * from the reference, for the fuzzers to draw well-formed payloads from
 * before breaking them.
 */
import type { JsonSchema } from './schema-arbitrary.js';

/** Ids the payloads may name: real sessions and rooms make the handlers go past their first checks. */
export interface KnownIds {
  readonly sessionIds: readonly string[];
  readonly hubSids: readonly string[];
}

const empty: JsonSchema = { type: 'object' };
const str: JsonSchema = { type: 'string' };
const bool: JsonSchema = { type: 'boolean' };
const obj = (properties: Record<string, JsonSchema>, required: readonly string[] = []): JsonSchema => ({ type: 'object', properties, required });

/** A NAF template name: Hubs' suffixes decide who may instantiate it (parity 2.9). */
const template: JsonSchema = { enum: ['#interactable-media', '#remote-avatar', '#interactable-camera', '#interactable-drawing', '#pen-interactable', '#interactable-emoji', '#static-media', ''] };

function nafSchemas(ids: KnownIds) {
  const sessionOrAny: JsonSchema = { anyOf: [{ enum: ids.sessionIds }, { type: 'string', maxLength: 40 }] };
  const entity = obj(
    {
      networkId: { anyOf: [{ enum: ['n1', 'n2', 'n3', 'naf-1'] }, { type: 'string', maxLength: 12 }] },
      owner: sessionOrAny,
      creator: sessionOrAny,
      lastOwnerTime: { type: 'integer', minimum: 0, maximum: 2 ** 41 },
      template,
      persistent: bool,
      isFirstSync: bool,
      parent: { type: ['string', 'null'] },
      components: { type: 'object', additionalProperties: { type: ['object', 'array', 'number', 'string', 'boolean', 'null'] } },
    },
    ['networkId'],
  );
  const message = obj({ dataType: { enum: ['u', 'um', 'r', 'nn', 'drawing-data', 'x'] }, data: { anyOf: [entity, obj({ d: { type: 'array', items: entity, maxItems: 4 } }), obj({ networkId: str })] }, clientId: sessionOrAny }, ['dataType', 'data']);
  return { naf: message, nafr: obj({ naf: { type: 'string', contentSchema: message } }, ['naf']) };
}

/** `hub:<sid>` join params (parity 2.3). */
export function joinSchema(ids: KnownIds): JsonSchema {
  const profile = obj({ displayName: { type: 'string', pattern: '^[A-Za-z0-9_~ -]{3,32}$' }, avatarId: str, pronouns: str }, ['displayName']);
  const context = obj({ mobile: bool, embed: bool, hmd: bool, discord: bool });
  return obj({ profile, context, auth_token: str, perms_token: str, bot_access_key: str, hub_invite_id: { anyOf: [{ enum: ids.hubSids }, str] }, push_subscription_endpoint: str }, ['profile', 'context']);
}

/** Every inbound event of `hub:<sid>` once joined, with its payload schema (parity 2.8). */
export function hubEventSchemas(ids: KnownIds): Record<string, JsonSchema> {
  const session = obj({ session_id: { anyOf: [{ enum: ids.sessionIds }, str] } }, ['session_id']);
  const permissions = ['spawn_and_move_media', 'spawn_camera', 'spawn_drawing', 'pin_objects', 'spawn_emoji', 'fly', 'voice_chat', 'text_chat'];
  const memberPermissions = obj(Object.fromEntries(permissions.map((p) => [p, bool])));
  const profile = obj({ displayName: str, avatarId: str });
  return {
    ...nafSchemas(ids),
    message: obj({ type: { anyOf: [{ enum: ['chat', 'photo', 'video', 'permission', 'image', ''] }, str] }, body: { type: ['string', 'object', 'null'] }, session_id: str, from: str }, ['type']),
    'events:entering': empty,
    'events:entering_cancelled': empty,
    'events:entered': obj({ initialOccupantCount: { type: 'integer', minimum: -5, maximum: 1e9 }, entryDisplayType: { enum: ['Screen', 'HMD', 'Mobile'] }, userAgent: str, isNewDaily: bool }),
    'events:profile_updated': obj({ profile }, ['profile']),
    'events:begin_recording': empty,
    'events:end_recording': empty,
    'events:raise_hand': empty,
    'events:lower_hand': empty,
    'events:begin_streaming': empty,
    'events:end_streaming': empty,
    'events:begin_typing': empty,
    'events:end_typing': empty,
    'events:object_spawned': obj({ object_type: { type: 'integer', minimum: 0, maximum: 31 } }),
    'events:request_support': empty,
    mute: session,
    kick: session,
    add_owner: session,
    remove_owner: session,
    block: session,
    unblock: session,
    block_naf: empty,
    unblock_naf: empty,
    update_hub: obj({ name: str, description: { type: ['string', 'null'] }, room_size: { type: 'integer', minimum: -1, maximum: 100000 }, member_permissions: memberPermissions, allow_promotion: bool, entry_mode: { enum: ['allow', 'invite', 'deny', 'x'] }, user_data: { type: ['object', 'null'] } }, ['member_permissions']),
    update_scene: obj({ url: str }, ['url']),
    close_hub: empty,
    fetch_invite: empty,
    revoke_invite: obj({ hub_invite_id: { anyOf: [{ enum: ids.hubSids }, str] } }),
    sign_in: obj({ token: str, creator_assignment_token: str }, ['token']),
    sign_out: empty,
    refresh_perms_token: empty,
    get_host: empty,
    pin: obj({ id: str, gltf_node: { type: 'object' }, file_id: str, file_access_token: str, promotion_token: str }, ['id', 'gltf_node']),
    unpin: obj({ id: str, file_id: str }, ['id']),
    list_entities: empty,
    save_entity_state: obj({ nid: str, create_message: { type: 'object' }, updates: { type: 'array', items: obj({ nid: str, root_nid: str, update_message: { type: 'object' } }, ['nid', 'root_nid', 'update_message']) }, file_id: str }, ['nid', 'create_message', 'updates']),
    update_entity_state: obj({ nid: str, root_nid: str, update_message: { type: 'object' } }, ['nid', 'root_nid', 'update_message']),
    delete_entity_state: obj({ nid: str, file_id: str }, ['nid']),
    subscribe: obj({ subscription: { type: 'object' } }),
    unsubscribe: obj({ subscription: { type: 'object' } }),
    favorite: empty,
    unfavorite: empty,
    oauth: obj({ type: { enum: ['twitter', 'discord'] } }),
  };
}

/** Inbound events of the socket-wide `ret` topic (parity 2.2). */
export function retEventSchemas(ids: KnownIds): Record<string, JsonSchema> {
  return {
    phx_join: obj({ hub_id: { anyOf: [{ enum: ids.hubSids }, str] }, token: str }),
    phx_leave: empty,
    change_hub: obj({ hub_id: { anyOf: [{ enum: ids.hubSids }, str] } }),
    refresh_perms_token: empty,
  };
}

/**
 * Events Reticulum answers only by broadcasting (or not at all): a reply to
 * them is an error reply or nothing. Every other event with a ref gets a
 * reply.
 */
export const UNANSWERED_EVENTS: ReadonlySet<string> = new Set([
  'naf',
  'nafr',
  'message',
  'block',
  'unblock',
  'block_naf',
  'unblock_naf',
  'events:entering',
  'events:entering_cancelled',
  'events:entered',
  'events:profile_updated',
  'events:begin_recording',
  'events:end_recording',
  'events:raise_hand',
  'events:lower_hand',
  'events:begin_streaming',
  'events:end_streaming',
  'events:begin_typing',
  'events:end_typing',
]);
