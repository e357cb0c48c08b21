/**
 * The live entity table of a room and the ownership rules the clients use
 * (parity 3.1-3.9). The server applies exactly the clients' total order, so
 * it can drop what every client would reject and tell newcomers the state at
 * once. Never change an order here: clients and server must agree.
 */
import type { Payload } from '../protocol/frames.js';

/** The owner of bitECS entities nobody has claimed; it loses every tie (parity 3.8). */
export const NN_SERVER_OWNER = 'reticulum';

export interface Entity {
  readonly networkId: string;
  /** `naf` entities come from u/um/r, `nn` entities from the bitECS protocol. */
  readonly protocol: 'naf' | 'nn';
  owner: string;
  readonly creator: string;
  /**
   * NAF: the lastOwnerTime of the last ownership change, -1 until one, as a
   * client that received the entity from someone else keeps it (parity 3.3).
   * nn: the update's lastOwnerTime.
   */
  lastOwnerTime: number;
  readonly template: string;
  persistent: boolean;
  parent: string | null;
  /** The last full component state: NAF schema index -> value; nn component id -> data. */
  readonly components: Record<string, unknown>;
  /** nn: the timestamp of the last accepted update. */
  lastTimestamp: number;
  /** nn: the create message, replayed to newcomers. */
  readonly createMessage: Payload | null;
}

/** The fields of a NAF entity that its sync data carries (parity 3.1). */
export type NafSyncFields = Pick<Entity, 'networkId' | 'owner' | 'creator' | 'lastOwnerTime' | 'template' | 'persistent' | 'parent'>;

/**
 * NAF sync data `{networkId, owner, creator, lastOwnerTime, template,
 * persistent, parent, components, isFirstSync?}` (parity 3.1): one entry
 * of `u`, or of `um.d` with only the changed components.
 */
export function nafSyncData(entity: NafSyncFields, components: Record<string, unknown>, isFirstSync: boolean): Payload {
  return {
    networkId: entity.networkId,
    owner: entity.owner,
    creator: entity.creator,
    lastOwnerTime: entity.lastOwnerTime,
    template: entity.template,
    persistent: entity.persistent,
    parent: entity.parent,
    components,
    ...(isFirstSync ? { isFirstSync: true } : {}),
  };
}

export interface OwnerClaim {
  readonly owner: string;
  readonly lastOwnerTime: number;
}

/** NAF `networkUpdate` (parity 3.3): does a client holding `local` accept `msg`? Ties go to the greater owner id. */
export function nafAccepts(local: OwnerClaim, msg: OwnerClaim): boolean {
  if (msg.lastOwnerTime < local.lastOwnerTime) return false;
  if (msg.lastOwnerTime === local.lastOwnerTime && local.owner > msg.owner) return false;
  return true;
}

/** The bitECS tie winner (parity 3.8): the smaller id, and `reticulum` always loses. */
export function nnTieWinner(a: string, b: string): string {
  if (a === NN_SERVER_OWNER) return b;
  if (b === NN_SERVER_OWNER) return a;
  return a < b ? a : b;
}

/** bitECS `isOutdated`, inverted (parity 3.8): does a client holding `local` accept `msg`? */
export function nnAccepts(local: OwnerClaim, msg: OwnerClaim): boolean {
  if (local.owner === '') return true;
  if (local.lastOwnerTime > msg.lastOwnerTime) return false;
  if (local.lastOwnerTime === msg.lastOwnerTime) return nnTieWinner(local.owner, msg.owner) === msg.owner;
  return true;
}

/** Merges non-null component values into `into`, as clients skip null and undefined indices. */
export function mergeComponents(into: Record<string, unknown>, components: unknown): void {
  if (typeof components !== 'object' || components === null) return;
  for (const [key, value] of Object.entries(components)) {
    if (value !== null && value !== undefined) into[key] = value;
  }
}

/** How many removed ids a room remembers. NAF ids are random, so a removed id only ever comes back in a stale resend. */
export const REMOVED_IDS_KEPT = 4096;

/**
 * Entities of one room, with a count per session for the per-session limit,
 * and the ids of the last REMOVED_IDS_KEPT removed entities, so a first sync
 * that was already in flight cannot bring one back (bitECS clients skip
 * creates of deleted ids the same way, parity 3.8). An entity removed because
 * its creator left may come back from that creator: a client that reconnects
 * keeps its session id and resends what it created (parity 2.11, 3.6).
 */
export class EntityTable {
  readonly #byId = new Map<string, Entity>();
  /** networkId -> the session its creation is counted against. */
  readonly #chargedTo = new Map<string, string>();
  readonly #countBySession = new Map<string, number>();
  /** networkId -> the only session that may bring it back, or null for nobody. */
  readonly #removed = new Map<string, string | null>();

  get(networkId: string): Entity | undefined {
    return this.#byId.get(networkId);
  }

  /** Adds an entity, counted against `chargedTo` (the sender that created it; by default its creator). */
  add(entity: Entity, chargedTo: string = entity.creator): void {
    if (this.#byId.has(entity.networkId)) throw new TypeError(`entity ${entity.networkId} exists`);
    this.#byId.set(entity.networkId, entity);
    this.#removed.delete(entity.networkId);
    this.#chargedTo.set(entity.networkId, chargedTo);
    this.#countBySession.set(chargedTo, (this.#countBySession.get(chargedTo) ?? 0) + 1);
  }

  /** Removes an entity and remembers its id; with `mayReturnFrom`, that session alone may create it again. */
  delete(networkId: string, mayReturnFrom: string | null = null): Entity | undefined {
    const entity = this.#byId.get(networkId);
    if (!entity) return undefined;
    this.#byId.delete(networkId);
    this.#removed.set(networkId, mayReturnFrom);
    if (this.#removed.size > REMOVED_IDS_KEPT) this.#removed.delete(this.#removed.keys().next().value as string);
    const charged = this.#chargedTo.get(networkId) ?? entity.creator;
    this.#chargedTo.delete(networkId);
    const n = (this.#countBySession.get(charged) ?? 1) - 1;
    if (n > 0) this.#countBySession.set(charged, n);
    else this.#countBySession.delete(charged);
    return entity;
  }

  /** Whether `networkId` was removed (among the last REMOVED_IDS_KEPT). */
  wasRemoved(networkId: string): boolean {
    return this.#removed.has(networkId);
  }

  /** Whether `networkId` was removed and may not come back from `sender`. */
  isRemovedFor(networkId: string, sender: string): boolean {
    return this.#removed.has(networkId) && this.#removed.get(networkId) !== sender;
  }

  /** How many live entities are counted against `session`. */
  countBy(session: string): number {
    return this.#countBySession.get(session) ?? 0;
  }

  values(): IterableIterator<Entity> {
    return this.#byId.values();
  }

  get size(): number {
    return this.#byId.size;
  }
}
