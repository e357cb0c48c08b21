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
 * Entities of one room, with a count per creator for the per-session limit,
 * and the ids of the last REMOVED_IDS_KEPT removed entities, so a first sync
 * that was already in flight cannot bring one back (bitECS clients skip
 * creates of deleted ids the same way, parity 3.8).
 */
export class EntityTable {
  readonly #byId = new Map<string, Entity>();
  readonly #countByCreator = new Map<string, number>();
  readonly #removed = new Set<string>();

  get(networkId: string): Entity | undefined {
    return this.#byId.get(networkId);
  }

  add(entity: Entity): void {
    if (this.#byId.has(entity.networkId)) throw new TypeError(`entity ${entity.networkId} exists`);
    this.#byId.set(entity.networkId, entity);
    this.#countByCreator.set(entity.creator, (this.#countByCreator.get(entity.creator) ?? 0) + 1);
  }

  delete(networkId: string): Entity | undefined {
    const entity = this.#byId.get(networkId);
    if (!entity) return undefined;
    this.#byId.delete(networkId);
    this.#removed.add(networkId);
    if (this.#removed.size > REMOVED_IDS_KEPT) this.#removed.delete(this.#removed.values().next().value as string);
    const n = (this.#countByCreator.get(entity.creator) ?? 1) - 1;
    if (n > 0) this.#countByCreator.set(entity.creator, n);
    else this.#countByCreator.delete(entity.creator);
    return entity;
  }

  /** Whether `networkId` was removed (among the last REMOVED_IDS_KEPT). */
  wasRemoved(networkId: string): boolean {
    return this.#removed.has(networkId);
  }

  /** How many live entities `creator` created. */
  countBy(creator: string): number {
    return this.#countByCreator.get(creator) ?? 0;
  }

  values(): IterableIterator<Entity> {
    return this.#byId.values();
  }

  get size(): number {
    return this.#byId.size;
  }
}
