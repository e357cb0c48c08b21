/**
 * Networked entities as a NAF client keeps them (parity 3.1-3.6), over a
 * `HubClient`: each entity has an owner, a creator, the time of its last
 * ownership change, and components (schema index -> value). The owner sends
 * its dirty components as one `um` per tick (15 Hz, unreliable); ownership
 * moves by a full `u` that wins the same total order every client and the
 * server apply (src/core/entities.ts `nafAccepts`), so everyone converges.
 *
 * - `create` instantiates an entity of ours with a first-sync `u`; the
 *   server checks its template and makes us its owner and creator.
 * - `set` changes components of an entity we may sync (`canSync`).
 * - `takeOwnership` claims an entity with a full `u`. Unlike NAF, the claim
 *   time is `max(serverTime, lastOwnerTime + 1)` (as the bitECS client
 *   does), so a clock a little behind the last claimant's still wins.
 * - Someone new in the room gets a first sync of everything we can sync;
 *   someone leaving takes their non-persistent entities with them, and
 *   their persistent ones are claimed by everyone, the order picking one.
 *
 * Lifecycle: `close()` stops the tick and the listeners; the entities stay
 * readable. It does not remove anything: the others remove our entities
 * when we leave, as NAF does.
 */
import { nafAccepts, nafSyncData } from '../core/entities.js';
import { TypedEmitter, type Listener } from './emitter.js';
import type { HubClient } from './hub-client.js';
import type { NafMessage, Person } from './types.js';
import { isPayload } from './wire.js';

export interface NetworkedEntity {
  readonly networkId: string;
  readonly template: string;
  owner: string;
  readonly creator: string;
  /** The time of the last ownership change as this client knows it: -1 for entities it received before any change. */
  lastOwnerTime: number;
  persistent: boolean;
  readonly parent: string | null;
  /** Schema index -> value, as the owner last sent or set them. */
  readonly components: Record<string, unknown>;
}

export type EntityEvents = {
  /** A new entity, ours or someone else's. */
  created: [NetworkedEntity];
  /** Components changed; `changed` names the indices. `isRemote` tells a received change from our own `set`. */
  updated: [NetworkedEntity, readonly string[], boolean];
  /** The owner changed (`previous` was the owner before). */
  owner: [NetworkedEntity, string];
  removed: [NetworkedEntity];
  error: [unknown];
};

export interface EntitiesOptions {
  /** The server's clock in milliseconds (Hubs reads it from the page's `Date` header); `Date.now` by default. */
  readonly serverTime?: () => number;
  /** Sends per second of dirty components; NAF's 15 by default. */
  readonly updateRateHz?: number;
}

const DEFAULT_RATE_HZ = 15;

/** NAF's 7 random base36 characters (parity 3.1). */
export function newNetworkId(): string {
  let id = '';
  while (id.length < 7) id += Math.floor(Math.random() * 36).toString(36);
  return id;
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Deep equality of JSON values, for NAF's dirty check. */
function isSameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => isSameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export class NafEntities {
  readonly #client: HubClient;
  readonly #events = new TypedEmitter<EntityEvents>((err) => this.#events.emit('error', err));
  readonly #entities = new Map<string, NetworkedEntity>();
  /** Per entity we sync: the component indices changed since the last tick. */
  readonly #dirty = new Map<string, Set<string>>();
  /** Sessions seen in presence, to tell joins and leaves apart. */
  #present = new Set<string>();
  /** Sessions that left: their first syncs are stale (NAF `activeDataChannels[id] === false`). */
  readonly #gone = new Set<string>();
  readonly #serverTime: () => number;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #timer: ReturnType<typeof setInterval>;
  #isClosed = false;

  constructor(client: HubClient, opts: EntitiesOptions = {}) {
    this.#client = client;
    this.#serverTime = opts.serverTime ?? Date.now;
    this.#unsubscribe.push(
      client.onNaf((message) => this.#receive(message)),
      client.on('people', (people) => this.#onPeople(people)),
      client.on('state', (state) => {
        // After a rejoin the room may have missed our state: send it all again (parity 3.6).
        if (state.kind === 'reconnected') this.#completeSync();
      }),
    );
    this.#timer = setInterval(() => this.#tick(), 1000 / (opts.updateRateHz ?? DEFAULT_RATE_HZ));
  }

  on<K extends keyof EntityEvents>(event: K, listener: Listener<EntityEvents[K]>): () => void {
    return this.#events.on(event, listener);
  }

  get(networkId: string): NetworkedEntity | undefined {
    return this.#entities.get(networkId);
  }

  all(): NetworkedEntity[] {
    return [...this.#entities.values()];
  }

  /** Our session id; empty before the join. */
  get me(): string {
    return this.#client.session?.sessionId ?? '';
  }

  isMine(entity: NetworkedEntity): boolean {
    return entity.owner === this.me && this.me !== '';
  }

  /** NAF `canSync`: we own it, or we created it and its owner is not in the room. */
  canSync(entity: NetworkedEntity): boolean {
    const me = this.me;
    if (me === '') return false;
    return entity.owner === me || (entity.creator === me && !this.#present.has(entity.owner));
  }

  /**
   * Creates an entity of ours and sends its first sync. The server relays
   * it only if our permissions allow the template's kind (`-avatar` always,
   * `-media` with `spawn_and_move_media`, ...).
   */
  create(template: string, components: Record<string, unknown>, opts: { readonly persistent?: boolean; readonly networkId?: string } = {}): NetworkedEntity {
    this.#checkOpen('create');
    const me = this.me;
    if (me === '') throw new Error('NafEntities.create: join the room first');
    const entity: NetworkedEntity = {
      networkId: opts.networkId ?? newNetworkId(),
      template,
      owner: me,
      creator: me,
      lastOwnerTime: this.#serverTime(),
      persistent: opts.persistent === true,
      parent: null,
      components: { ...components },
    };
    this.#entities.set(entity.networkId, entity);
    this.#events.emit('created', entity);
    this.#sendFull(entity, true);
    return entity;
  }

  /** Changes components of an entity we may sync; they go out with the next tick. Returns false when we may not. */
  set(networkId: string, components: Record<string, unknown>): boolean {
    this.#checkOpen('set');
    const entity = this.#entities.get(networkId);
    if (!entity || !this.canSync(entity)) return false;
    const changed: string[] = [];
    for (const [k, v] of Object.entries(components)) {
      if (isSameJson(entity.components[k], v)) continue;
      entity.components[k] = v;
      changed.push(k);
    }
    if (changed.length === 0) return true;
    let dirty = this.#dirty.get(networkId);
    if (!dirty) this.#dirty.set(networkId, (dirty = new Set()));
    for (const k of changed) dirty.add(k);
    this.#events.emit('updated', entity, changed, false);
    return true;
  }

  /**
   * Claims an entity someone else owns and tells everyone with a full `u`.
   * Optimistic, as in NAF: a competing claim with a later time (or the same
   * time and a greater session id) still wins, and then the `owner` event
   * says so.
   */
  takeOwnership(networkId: string): boolean {
    this.#checkOpen('takeOwnership');
    const entity = this.#entities.get(networkId);
    const me = this.me;
    if (!entity || me === '' || entity.owner === me) return false;
    const previous = entity.owner;
    entity.lastOwnerTime = Math.max(this.#serverTime(), entity.lastOwnerTime + 1);
    entity.owner = me;
    this.#events.emit('owner', entity, previous);
    this.#sendFull(entity, false);
    return true;
  }

  /** Removes an entity we own, for everyone. Returns false when it is not ours to remove. */
  remove(networkId: string): boolean {
    this.#checkOpen('remove');
    const entity = this.#entities.get(networkId);
    if (!entity || !this.isMine(entity)) return false;
    this.#drop(entity);
    this.#client.sendNaf('r', { networkId });
    return true;
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    clearInterval(this.#timer);
    for (const off of this.#unsubscribe) off();
    this.#dirty.clear();
  }

  #checkOpen(what: string): void {
    if (this.#isClosed) throw new Error(`NafEntities.${what}: closed`);
  }


  #sendFull(entity: NetworkedEntity, isFirstSync: boolean): void {
    this.#dirty.delete(entity.networkId);
    this.#client.sendNaf('u', nafSyncData(entity, { ...entity.components }, isFirstSync));
  }

  /** One `um` with the dirty components of every entity we may sync; dropped while the socket is down, as NAF's unreliable sends are. */
  #tick(): void {
    if (this.#dirty.size === 0) return;
    const state = this.#client.state.kind;
    if (state !== 'joined' && state !== 'reconnected') return;
    const d: Record<string, unknown>[] = [];
    for (const [networkId, indices] of this.#dirty) {
      const entity = this.#entities.get(networkId);
      if (!entity || !this.canSync(entity)) continue;
      const components: Record<string, unknown> = {};
      for (const k of indices) components[k] = entity.components[k];
      d.push(nafSyncData(entity, components, false));
    }
    this.#dirty.clear();
    if (d.length > 0) this.#client.sendNaf('um', { d }, { isReliable: false });
  }

  /** First syncs of everything we can sync (NAF `completeSync`). The server relays them to everyone; each applies them by the usual order. */
  #completeSync(): void {
    for (const entity of this.#entities.values()) if (this.canSync(entity)) this.#sendFull(entity, true);
  }

  #onPeople(people: readonly Person[]): void {
    const now = new Set(people.map((p) => p.sessionId));
    const joined = [...now].filter((s) => !this.#present.has(s) && s !== this.me);
    const left = [...this.#present].filter((s) => !now.has(s));
    this.#present = now;
    for (const s of joined) this.#gone.delete(s);
    for (const s of left) this.#onLeave(s);
    if (joined.length > 0) this.#completeSync();
  }

  /** NAF `removeEntitiesOfClient`: non-persistent entities leave with their creator; persistent ones are claimed by everyone. */
  #onLeave(sessionId: string): void {
    this.#gone.add(sessionId);
    for (const entity of [...this.#entities.values()]) {
      const isTheirs = entity.creator === sessionId || (entity.creator === '' && entity.owner === sessionId);
      if (!isTheirs) continue;
      if (entity.persistent) this.takeOwnership(entity.networkId);
      else this.#drop(entity);
    }
  }

  #drop(entity: NetworkedEntity): void {
    this.#entities.delete(entity.networkId);
    this.#dirty.delete(entity.networkId);
    this.#events.emit('removed', entity);
  }

  #receive(message: NafMessage): void {
    const { dataType, data } = message;
    if (dataType === 'u') return this.#apply(data);
    if (dataType === 'um') {
      if (isPayload(data) && Array.isArray(data['d'])) for (const entry of data['d']) this.#apply(entry);
      return;
    }
    if (dataType === 'r' && isPayload(data) && isId(data['networkId'])) {
      const entity = this.#entities.get(data['networkId']);
      if (entity) this.#drop(entity);
    }
  }

  /** One sync entry by NAF's `networkUpdate` (parity 3.2, 3.3). */
  #apply(entry: unknown): void {
    if (!isPayload(entry) || !isId(entry['networkId']) || !isId(entry['owner']) || !isTime(entry['lastOwnerTime'])) return;
    const claim = { owner: entry['owner'], lastOwnerTime: entry['lastOwnerTime'] };
    const components = isPayload(entry['components']) ? entry['components'] : {};
    const known = this.#entities.get(entry['networkId']);
    if (!known) {
      if (entry['isFirstSync'] !== true || this.#gone.has(claim.owner)) return;
      const entity: NetworkedEntity = {
        networkId: entry['networkId'],
        template: typeof entry['template'] === 'string' ? entry['template'] : '',
        owner: claim.owner,
        creator: isId(entry['creator']) ? entry['creator'] : claim.owner,
        // A received entity starts at -1 and keeps it while its owner is unchanged (parity 3.3).
        lastOwnerTime: -1,
        persistent: entry['persistent'] === true,
        parent: typeof entry['parent'] === 'string' ? entry['parent'] : null,
        components: {},
      };
      for (const [k, v] of Object.entries(components)) if (v !== null && v !== undefined) entity.components[k] = v;
      this.#entities.set(entity.networkId, entity);
      this.#events.emit('created', entity);
      return;
    }
    if (!nafAccepts(known, claim)) return;
    if (claim.owner !== known.owner) {
      const previous = known.owner;
      known.owner = claim.owner;
      known.lastOwnerTime = claim.lastOwnerTime;
      // What we had not sent yet is no longer ours to send.
      if (previous === this.me) this.#dirty.delete(known.networkId);
      this.#events.emit('owner', known, previous);
    }
    if (typeof entry['persistent'] === 'boolean') known.persistent = entry['persistent'];
    const changed: string[] = [];
    for (const [k, v] of Object.entries(components)) {
      if (v === null || v === undefined) continue;
      known.components[k] = v;
      changed.push(k);
    }
    if (changed.length > 0) this.#events.emit('updated', known, changed, true);
  }
}
