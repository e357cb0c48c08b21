/**
 * What the room does with its entities when someone joins or leaves.
 *
 * Join: the newcomer gets every live entity as a first sync right away,
 * instead of waiting for owners to resend (NAF `u` with isFirstSync; one
 * bitECS `nn` message with the creates and the full updates).
 *
 * Leave (parity 3.5, 3.8, 3.9): NAF entities the leaver created and that are
 * not persistent are removed (`r`). Persistent NAF entities it owned go to
 * the remaining member with the greatest session id, the NAF tie winner, with
 * a lastOwnerTime `leadMs` ahead of now: every client accepts that update,
 * and none races it with its own takeOwnership, which needs lastOwnerTime <
 * now. bitECS clients resolve leaves themselves and all compute the same
 * answer; the table follows them: the leaver's creations go, and what it
 * owned goes to the smallest remaining id at lastTimestamp + 1.
 */
import type { Payload } from '../protocol/frames.js';
import { EntityTable, NN_SERVER_OWNER, type Entity } from './entities.js';

/** A message to send on behalf of `from`: the NAF payload without from_session_id. */
export interface EntityMessage {
  readonly from: string;
  readonly message: Payload;
}

function nafFullSync(entity: Entity, isFirstSync: boolean): Payload {
  return {
    dataType: 'u',
    data: {
      networkId: entity.networkId,
      owner: entity.owner,
      creator: entity.creator,
      lastOwnerTime: entity.lastOwnerTime,
      template: entity.template,
      persistent: entity.persistent,
      parent: entity.parent,
      components: { ...entity.components },
      ...(isFirstSync ? { isFirstSync: true } : {}),
    },
  };
}

function nnFullUpdate(entity: Entity): Payload {
  const componentIds = Object.keys(entity.components).map((id) => (/^\d+$/.test(id) ? Number(id) : id));
  return {
    nid: entity.networkId,
    lastOwnerTime: entity.lastOwnerTime,
    timestamp: entity.lastTimestamp,
    owner: entity.owner,
    componentIds,
    data: componentIds.map((id) => entity.components[String(id)]),
  };
}

/**
 * The first syncs a newcomer needs, parents before their children. `isPresent`
 * picks who each message claims to come from: the owner if present, else the
 * creator (clients look the sender up in presence).
 */
export function snapshotMessages(table: EntityTable, isPresent: (sessionId: string) => boolean): EntityMessage[] {
  const naf: Entity[] = [];
  const nn: Entity[] = [];
  for (const entity of table.values()) (entity.protocol === 'naf' ? naf : nn).push(entity);
  const depth = (e: Entity, seen = 0): number => {
    const parent = e.parent === null ? undefined : table.get(e.parent);
    return parent && seen < 32 ? 1 + depth(parent, seen + 1) : 0;
  };
  naf.sort((a, b) => depth(a) - depth(b));
  const from = (e: Entity) => (isPresent(e.owner) ? e.owner : e.creator);
  const out: EntityMessage[] = naf.map((e) => ({ from: from(e), message: nafFullSync(e, true) }));
  const creators = new Map<string, Entity[]>();
  for (const e of nn) {
    const list = creators.get(e.creator) ?? [];
    list.push(e);
    creators.set(e.creator, list);
  }
  for (const [creator, entities] of creators) {
    out.push({
      from: creator,
      message: {
        dataType: 'nn',
        data: {
          creates: entities.flatMap((e) => (e.createMessage ? [e.createMessage] : [])),
          updates: entities.filter((e) => e.owner !== NN_SERVER_OWNER).map(nnFullUpdate),
          deletes: [],
        },
      },
    });
  }
  return out;
}

export interface LeaveResolution {
  /** `r` messages for the leaver's non-persistent NAF entities, sent as from the leaver. */
  readonly removals: EntityMessage[];
  /** Full updates giving the leaver's persistent NAF entities their new owner, sent as from that owner. */
  readonly handovers: EntityMessage[];
}

/** Resolves `leaver`'s entities against the sessions still in the room. Mutates `table`. */
export function resolveLeave(table: EntityTable, leaver: string, remaining: readonly string[], nowMs: number, leadMs: number): LeaveResolution {
  const removals: EntityMessage[] = [];
  const handovers: EntityMessage[] = [];
  const others = remaining.filter((s) => s !== leaver);
  const nafHeir = others.reduce<string | undefined>((best, s) => (best === undefined || s > best ? s : best), undefined);
  const nnHeir = others.filter((s) => s !== NN_SERVER_OWNER).reduce<string | undefined>((best, s) => (best === undefined || s < best ? s : best), undefined);

  for (const entity of [...table.values()]) {
    if (entity.protocol === 'nn') {
      if (entity.creator === leaver) table.delete(entity.networkId);
      else if (entity.owner === leaver && nnHeir !== undefined) {
        entity.owner = nnHeir;
        entity.lastOwnerTime = entity.lastTimestamp + 1;
      }
      continue;
    }
    // NAF removeEntitiesOfClient: created by the leaver, or no creator and owned by it.
    const isLeavers = entity.creator === leaver || (entity.creator === '' && entity.owner === leaver);
    if (isLeavers && !entity.persistent) {
      table.delete(entity.networkId);
      removals.push({ from: leaver, message: { dataType: 'r', data: { networkId: entity.networkId, template: entity.template } } });
    } else if (entity.persistent && entity.owner === leaver && nafHeir !== undefined) {
      entity.owner = nafHeir;
      entity.lastOwnerTime = Math.max(entity.lastOwnerTime + 1, nowMs + leadMs);
      handovers.push({ from: nafHeir, message: nafFullSync(entity, false) });
    }
  }
  return { removals, handovers };
}
