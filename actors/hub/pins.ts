/**
 * Pinned objects and saved entity state (parity 2.8, 5.2-5.4): `pin`/`unpin`
 * of the A-Frame client and `save_entity_state`, `update_entity_state`,
 * `delete_entity_state`, `list_entities` of the bitECS client. Writes need a
 * signed-in member with `pin_objects`. A pin that names an upload promotes
 * it, which needs the file's access token (and its promotion token when it
 * was uploaded with one); a promoted file outlives the upload sweep. Writes
 * run off the actor: the room keeps relaying while the database is slow or
 * away, and a write that fails is answered `persist_failed` with nothing
 * broadcast.
 */
import { isTokenValid } from '../../src/core/file-crypto.js';
import { isPayload } from '../../src/protocol/codec.js';
import type { Payload } from '../../src/protocol/frames.js';
import { AppError } from '../../src/errors.js';
import type { EntityState, EntityUpdate, Store } from '../../src/ports/store.js';
import type { HubEvent } from './hub-msg.js';
import { replyFailure, replyOk } from './replies.js';
import type { Room, Seat } from './room.js';

export const PIN_EVENTS: ReadonlySet<string> = new Set(['pin', 'unpin', 'list_entities', 'save_entity_state', 'update_entity_state', 'delete_entity_state']);

const MAX_ID_CHARS = 256;
const isId = (v: unknown): v is string => typeof v === 'string' && v !== '' && v.length <= MAX_ID_CHARS;

/** Promotes an upload named by a pin: the access token must open it, and the promotion token must match when one was issued. */
async function promote(store: Store, payload: Payload): Promise<void> {
  const fileId = payload['file_id'];
  if (fileId === undefined || fileId === null) return;
  const access = payload['file_access_token'];
  const promotion = payload['promotion_token'];
  const refused = new AppError('FORBIDDEN', 'the file cannot be promoted with these tokens');
  if (typeof fileId !== 'string' || typeof access !== 'string') throw refused;
  const file = await store.getFile(fileId).catch((err: unknown) => {
    // The read is the first step of the pin's write: failing, it is the write that failed.
    throw err instanceof AppError && err.code === 'STORE_UNAVAILABLE' ? new AppError('PERSIST_FAILED', 'could not read the file record', { cause: err }) : err;
  });
  if (!file || !isTokenValid(access, file.tokenHash)) throw refused;
  if (file.promotionTokenHash !== null && (typeof promotion !== 'string' || !isTokenValid(promotion, file.promotionTokenHash))) throw refused;
  await store.promoteFile(fileId);
  await store.setFileActive(fileId, true);
}

function entityView(state: Pick<EntityState, 'createMessage' | 'updates'>): Payload {
  return { create_message: state.createMessage, update_messages: state.updates.map((u) => u.updateMessage) };
}

function parseUpdate(v: unknown): EntityUpdate | null {
  if (!isPayload(v) || !isId(v['nid']) || !isId(v['root_nid']) || !isPayload(v['update_message'])) return null;
  return { nid: v['nid'], rootNid: v['root_nid'], updateMessage: v['update_message'] };
}

export function handlePinEvent(room: Room, seat: Seat, msg: HubEvent): void {
  const { event, payload, ref } = msg.frame;
  const sid = room.hub.hubSid;
  const store = room.deps.store;
  const self = seat.member.sessionId;
  const bad = (message: string) => room.replyError(seat.conn, seat.joinRef, ref, 'BAD_REQUEST', message);
  /** Runs a write; on success broadcasts what `after` returns and replies ok. */
  const write = <T>(work: () => Promise<T>, after: (value: T) => void) =>
    room.run(work, (outcome) => {
      if (!outcome.ok) return replyFailure(room, seat, ref, outcome.err, event);
      after(outcome.value);
    });

  if (event === 'list_entities') {
    return write(
      () => store.listEntityStates(sid),
      (states) => replyOk(room, seat, ref, { data: states.map(entityView) }),
    );
  }
  const principal = seat.member.principal;
  if (!principal) {
    // Parity: pin answers invalid_token, the entity-state events not_logged_in.
    if (event === 'pin' || event === 'unpin') return room.replyError(seat.conn, seat.joinRef, ref, 'SIGN_IN_FAILED', `${event} needs a signed-in account`);
    return room.replyError(seat.conn, seat.joinRef, ref, 'NOT_SIGNED_IN', `${event} needs a signed-in account`);
  }
  if (!seat.member.permissions.pin_objects) return room.replyError(seat.conn, seat.joinRef, ref, 'UNAUTHORIZED', `${event} needs the pin_objects permission`);
  const accountId = principal.accountId;

  switch (event) {
    case 'pin': {
      const id = payload['id'];
      const gltfNode = payload['gltf_node'];
      if (!isId(id) || !isPayload(gltfNode)) return bad('pin needs an id and a gltf_node object');
      const live = room.entities.get(id);
      const entity = live ? (JSON.parse(JSON.stringify(live)) as Payload) : null;
      return write(
        async () => {
          await promote(store, payload);
          await store.upsertRoomObject(sid, { objectId: id, gltfNode, entity, accountId });
        },
        () => {
          const persistent = room.entities.get(id);
          if (persistent) persistent.persistent = true;
          room.relay('pin', { object_id: id, gltf_node: gltfNode, pinned_by: self }, { from: self });
          replyOk(room, seat, ref);
        },
      );
    }
    case 'unpin': {
      const id = payload['id'];
      const fileId = payload['file_id'];
      if (!isId(id)) return bad('unpin needs an id');
      return write(
        async () => {
          await store.deleteRoomObject(sid, id);
          if (typeof fileId === 'string') await store.setFileActive(fileId, false);
        },
        () => replyOk(room, seat, ref),
      );
    }
    case 'save_entity_state': {
      const nid = payload['nid'];
      const create = payload['create_message'];
      const updates = Array.isArray(payload['updates']) ? payload['updates'].map(parseUpdate) : null;
      if (!isId(nid) || !isPayload(create) || !updates || updates.some((u) => u === null)) return bad('save_entity_state needs nid, create_message and updates [{nid, root_nid, update_message}]');
      // The store takes only updates of this entity; one rooted elsewhere is the client's mistake.
      if ((updates as EntityUpdate[]).some((u) => u.rootNid !== nid)) return bad('every update of save_entity_state needs the entity nid as its root_nid');
      const state: EntityState = { nid, createMessage: create, updates: updates as EntityUpdate[], accountId };
      return write(
        async () => {
          await promote(store, payload);
          await store.saveEntityState(sid, state);
        },
        () => {
          room.relay('entity_state_saved', { data: [entityView(state)] }, { from: self });
          replyOk(room, seat, ref);
        },
      );
    }
    case 'update_entity_state': {
      const update = parseUpdate(payload);
      if (!update) return bad('update_entity_state needs nid, root_nid and update_message');
      return write(
        () => store.updateEntityState(sid, update),
        (found) => {
          if (!found) return room.replyError(seat.conn, seat.joinRef, ref, 'ENTITY_MISSING', `no saved entity ${update.rootNid}`);
          room.relay('entity_state_updated', update.updateMessage, { from: self });
          replyOk(room, seat, ref);
        },
      );
    }
    case 'delete_entity_state': {
      const nid = payload['nid'];
      const fileId = payload['file_id'];
      if (!isId(nid)) return bad('delete_entity_state needs a nid');
      return write(
        async () => {
          await store.deleteEntityState(sid, nid);
          if (typeof fileId === 'string') await store.setFileActive(fileId, false);
        },
        () => {
          room.relay('entity_state_deleted', { nid, creator: self }, { from: self });
          replyOk(room, seat, ref);
        },
      );
    }
    default:
      throw new AppError('INTERNAL', `not a pin event: ${event}`);
  }
}
