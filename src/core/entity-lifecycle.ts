/**
 * What the room does with its entities when someone joins or leaves.
 *
 * Join: the newcomer gets every live entity as a first sync right away,
 * instead of waiting for owners to resend (NAF `u` with isFirstSync; one
 * bitECS `nn` message with the creates and the full updates). A client
 * records an entity's lastOwnerTime only when its owner changes, so a first
 * sync alone would leave the newcomer at -1, behind everyone else, and it
 * would accept stale claims the others reject. Where the room has seen an
 * ownership change, the first sync therefore names the unclaimed owner and a
 * second update names the real one, which every client records.
 *
 * Leave (parity 3.5, 3.8, 3.9): NAF entities the leaver created and that are
 * not persistent are removed (`r`). Persistent NAF entities it owned go to
 * the remaining member with the greatest session id, the NAF tie winner, in
 * one `um` message of two entries: the entity is first unclaimed at a time
 * `leadMs` ahead of now, then claimed by the heir one millisecond later.
 * Every client records both ownership changes, the heir too even if it had
 * grabbed the entity itself meanwhile (a client records lastOwnerTime only
 * when the owner changes, so a bare handover would leave such an heir at its
 * own, older time, and the server would then drop all its updates). And no
 * client races the handover with its own takeOwnership, which needs a
 * lastOwnerTime before now. This holds while messages take less than
 * `leadMs` to arrive: a heir that grabbed the entity later than that would
 * keep its own time. bitECS clients resolve leaves themselves and all
 * compute the same answer; the table follows them: the leaver's creations
 * go, and what it owned goes to the smallest remaining id at
 * lastTimestamp + 1.
 */
import type { Payload } from '../protocol/frames.js';
import { isPayload } from '../protocol/codec.js';
import { EntityTable, nafAccepts, nafSyncData, NN_SERVER_OWNER, type Entity } from './entities.js';

/**
 * Hubs' owner of entities nobody has claimed (pinned scene objects, parity
 * 3.4). A newcomer's snapshot creates an entity under it first when the
 * entity's ownership has changed before: see `snapshotMessages`.
 */
export const UNCLAIMED_OWNER = 'scene';

/** A message to send on behalf of `from`: the NAF payload without from_session_id. */
export interface EntityMessage {
  readonly from: string;
  readonly message: Payload;
}

function nafFullSync(entity: Entity, isFirstSync: boolean): Payload {
  return { dataType: 'u', data: nafSyncData(entity, { ...entity.components }, isFirstSync) };
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
 * The first syncs a newcomer needs, parents before their children; with
 * `only`, just those entities (to restore them at a client that removed them
 * without the right to). `isPresent` picks who each message claims to come
 * from: the owner if present, else the creator (clients look the sender up
 * in presence).
 */
export function snapshotMessages(table: EntityTable, isPresent: (sessionId: string) => boolean, only?: readonly string[]): EntityMessage[] {
  const naf: Entity[] = [];
  const nn: Entity[] = [];
  const entities = only === undefined ? [...table.values()] : only.flatMap((id) => table.get(id) ?? []);
  for (const entity of entities) (entity.protocol === 'naf' ? naf : nn).push(entity);
  const depth = (e: Entity, seen = 0): number => {
    const parent = e.parent === null ? undefined : table.get(e.parent);
    return parent && seen < 32 ? 1 + depth(parent, seen + 1) : 0;
  };
  naf.sort((a, b) => depth(a) - depth(b));
  const from = (e: Entity) => (isPresent(e.owner) ? e.owner : e.creator);
  const out: EntityMessage[] = naf.flatMap((e) => {
    if (e.lastOwnerTime === -1 || e.owner === UNCLAIMED_OWNER) return [{ from: from(e), message: nafFullSync(e, true) }];
    const unclaimed = nafFullSync({ ...e, owner: UNCLAIMED_OWNER, lastOwnerTime: -1 }, true);
    const claim: Payload = { dataType: 'u', data: { networkId: e.networkId, owner: e.owner, creator: e.creator, lastOwnerTime: e.lastOwnerTime, template: e.template, persistent: e.persistent, parent: e.parent, components: {} } };
    return [
      { from: from(e), message: unclaimed },
      { from: from(e), message: claim },
    ];
  });
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
  /** `um` messages giving the leaver's persistent NAF entities their new owner, sent as from that owner. */
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
      if (entity.creator === leaver) table.delete(entity.networkId, leaver);
      else if (entity.owner === leaver && nnHeir !== undefined) {
        entity.owner = nnHeir;
        entity.lastOwnerTime = entity.lastTimestamp + 1;
      }
      continue;
    }
    // NAF removeEntitiesOfClient: created by the leaver, or no creator and owned by it.
    const isLeavers = entity.creator === leaver || (entity.creator === '' && entity.owner === leaver);
    if (isLeavers && !entity.persistent) {
      // Should the leaver reconnect (same session id), it resends these and they come back.
      table.delete(entity.networkId, leaver);
      removals.push({ from: leaver, message: { dataType: 'r', data: { networkId: entity.networkId, template: entity.template } } });
    } else if (entity.persistent && entity.owner === leaver && nafHeir !== undefined) {
      const unclaimedAt = Math.max(entity.lastOwnerTime + 1, nowMs + leadMs);
      const unclaimed = nafFullSync({ ...entity, owner: UNCLAIMED_OWNER, lastOwnerTime: unclaimedAt, components: {} }, false)['data'];
      entity.owner = nafHeir;
      entity.lastOwnerTime = unclaimedAt + 1;
      // The full state: whatever the heir changed before this reached it was dropped as outdated everywhere else.
      const claimed = nafFullSync(entity, false)['data'];
      handovers.push({ from: nafHeir, message: { dataType: 'um', data: { d: [unclaimed, claimed] } } });
    }
  }
  return { removals, handovers };
}

/**
 * The entity a pinned object was when it was pinned (its stored snapshot), as
 * an unclaimed persistent entity for a room that starts: Hubs gives pinned
 * objects to the `scene` owner (parity 5.2). Null for a snapshot that does
 * not hold a NAF entity.
 */
export function pinnedEntity(objectId: string, snapshot: Payload): Entity | null {
  const { template, components, creator, lastOwnerTime, parent } = snapshot;
  if (typeof template !== 'string' || !isPayload(components)) return null;
  return {
    networkId: objectId,
    protocol: 'naf',
    owner: UNCLAIMED_OWNER,
    creator: typeof creator === 'string' ? creator : UNCLAIMED_OWNER,
    lastOwnerTime: typeof lastOwnerTime === 'number' ? lastOwnerTime : -1,
    template,
    persistent: true,
    parent: typeof parent === 'string' ? parent : null,
    components: { ...components },
    lastTimestamp: 0,
    createMessage: null,
  };
}

/** A NAF entity as another node sent it, checked field by field: a node never trusts the bus blindly. */
function readNafEntity(value: unknown): Entity | null {
  if (!isPayload(value) || value['protocol'] !== 'naf') return null;
  const { networkId, owner, creator, lastOwnerTime, template, persistent, parent, components } = value;
  if (typeof networkId !== 'string' || typeof owner !== 'string' || typeof creator !== 'string' || typeof lastOwnerTime !== 'number' || typeof template !== 'string') return null;
  if (typeof persistent !== 'boolean' || !(parent === null || typeof parent === 'string') || !isPayload(components)) return null;
  return { networkId, protocol: 'naf', owner, creator, lastOwnerTime, template, persistent, parent, components: { ...components }, lastTimestamp: 0, createMessage: null };
}

export interface EntityMerge {
  /** Entities this table lacked and now holds: local members need their first syncs. */
  readonly added: string[];
  /** `u` messages, each as from the new owner, for entities whose owner changed here. */
  readonly claims: EntityMessage[];
}

/**
 * Takes in another node's NAF entities, sent after the bus was away: what
 * was published meanwhile (a spawn, a grab) is lost, so each node's table,
 * and its members' view, went its own way. An entity this table lacks is
 * added unless it was removed here; where both hold one, the NAF order
 * (`nafAccepts`) picks the owner, as every client would, so all nodes end on
 * the same owners whichever sync arrives first. Components are left as they
 * are: the owner's next update brings them. Mutates `table`.
 */
export function mergeRemoteEntities(table: EntityTable, remote: readonly unknown[]): EntityMerge {
  const added: string[] = [];
  const claims: EntityMessage[] = [];
  for (const value of remote) {
    const entity = readNafEntity(value);
    if (!entity) continue;
    const local = table.get(entity.networkId);
    if (!local) {
      if (table.wasRemoved(entity.networkId)) continue;
      table.add(entity);
      added.push(entity.networkId);
    } else if (local.protocol === 'naf' && local.owner !== entity.owner && nafAccepts(local, entity)) {
      local.owner = entity.owner;
      local.lastOwnerTime = entity.lastOwnerTime;
      claims.push({ from: local.owner, message: { dataType: 'u', data: nafSyncData(local, {}, false) } });
    }
  }
  return { added, claims };
}
