/**
 * The hub registry: the node's supervisor of room actors. It spawns one actor
 * per live room, single-flight on first use, delivers client items to it in
 * order and in batches, and stops it `roomIdleMs` after its last member left.
 *
 * When an SFU appears or goes away, every room here makes sure it has a
 * live one (actors/hub/host.ts).
 *
 * Close cascade: `close()` stops listening to the SFU directory, closes every
 * room (their channels get phx_close), then stops the actor system. A room
 * forgets itself here when it stops or crashes.
 */
import nact from 'nact';
import type { ActorSystemRef, Ref } from 'nact';
import { decodeCommand, encodeCommand, type RoomCommand } from '../src/core/control.js';
import { pinnedEntity, UNCLAIMED_OWNER } from '../src/core/entity-lifecycle.js';
import { decideJoin } from '../src/core/join.js';
import type { Payload } from '../src/protocol/frames.js';
import { countPresences } from '../src/core/presence.js';
import { isSid } from '../src/core/sids.js';
import { decodeEnvelopes, decodeState, encodeState, type InEnvelope } from '../src/core/mesh.js';
import { AppError } from '../src/errors.js';
import type { Bus, BusMessage, BusSubscription } from '../src/ports/bus.js';
import type { Leases } from '../src/ports/leases.js';
import type { Timer } from '../src/ports/clock.js';
import type { RoomObject, Store } from '../src/ports/store.js';
import { OutFrame } from '../src/protocol/codec.js';
import { RoomHome } from './hub/home.js';
import { BusRoomLink, LinkFlusher } from './room-link.js';
import { ensureHost } from './hub/host.js';
import { spawnHubActor } from './hub/hub-actor.js';
import type { HubItem, HubMsg } from './hub/hub-msg.js';
import { Room, type HubDeps } from './hub/room.js';
import { SimHost, type SimLimits } from './hub/sims.js';
import { enabledSimulations, type SimulationModule } from '../src/sim/simulation.js';
import type { SfuDirectory } from './sfu-directory.js';

export interface HubRegistryDeps extends Omit<HubDeps, 'publishControl'> {
  readonly store: Store;
  readonly roomIdleMs: number;
  /** The cluster; without one the node is alone and rooms publish nothing. */
  readonly bus?: Bus;
  /** Room leases; with them a room's home admits every join (the cluster-wide room size). */
  readonly leases?: Leases;
  readonly leaseTtlMs: number;
  readonly nodeId: string;
  /** Told of every other node that publishes in a room, so its silence is noticed even before a heartbeat arrived. */
  sawNode?(nodeId: string): void;
  /** The SFUs rooms are placed on; rooms follow its `up` and `gone`. */
  readonly sfus?: SfuDirectory;
  /**
   * Told of every command this node sends out for a room, decided here by a
   * room or by HTTP, so a co-located SFU hears kicks and mutes that the bus
   * never loops back to this node.
   */
  onCommand?(hubSid: string, cmd: RoomCommand): void;
  /** How long rooms wait before publishing what they queued for the other nodes (see actors/room-link.ts); the next turn without. */
  readonly linkDelayMs?: () => number;
  /** Simulations rooms may enable, by name, and their limits; none without. */
  readonly simulations?: { readonly modules: ReadonlyMap<string, SimulationModule>; readonly limits: SimLimits; readonly idleMs: number };
}

/** How long a node starting a room waits for another node's view of it. */
const STATE_TIMEOUT_MS = 2000;
const EMPTY = new Uint8Array();

/** One live room: its actor, its state and the batch being filled. */
class LiveRoom {
  pending: HubItem[] | null = null;
  isBusy = false;
  idleTimer: Timer | undefined;
  subscriptions: BusSubscription[] = [];
  home: RoomHome | undefined;
  /** Envelopes, commands and state requests that arrived after the state was applied but before the actor existed. */
  early: (InEnvelope | { readonly cmd: RoomCommand } | { readonly call: () => void })[] = [];

  constructor(
    readonly room: Room,
    public ref: Ref<HubMsg> | undefined,
  ) {}

  get isIdle(): boolean {
    return this.room.seats.size === 0 && this.pending === null && !this.isBusy && this.room.inflight === 0;
  }
}

export class HubRegistry {
  readonly #deps: HubRegistryDeps;
  readonly #system: ActorSystemRef;
  readonly #rooms = new Map<string, LiveRoom>();
  readonly #loading = new Map<string, Promise<LiveRoom | null>>();
  /** Simulation hosts saving their last snapshots; close() waits for them. */
  readonly #closingSims = new Set<Promise<void>>();
  #closed = false;
  readonly #linkFlusher: LinkFlusher;

  readonly #roomDeps: HubDeps;
  /** Rooms with anyone in them, here or elsewhere, make sure their SFU is alive. */
  readonly #rehost = () => this.#toEveryRoom({ type: 'hub/call', fn: (room) => (room.presence.size > 0 ? ensureHost(room) : undefined) });

  constructor(deps: HubRegistryDeps) {
    this.#deps = deps;
    this.#roomDeps = { ...deps, simulationNames: new Set(deps.simulations?.modules.keys() ?? []), publishControl: (sid, cmd) => this.#publishControl(sid, cmd) };
    this.#linkFlusher = new LinkFlusher(deps.linkDelayMs);
    this.#system = nact.start();
    deps.sfus?.on('up', this.#rehost);
    deps.sfus?.on('gone', this.#rehost);
  }

  #publishControl(hubSid: string, cmd: RoomCommand): void {
    try {
      this.#deps.onCommand?.(hubSid, cmd);
    } catch (err) {
      this.#deps.log.error({ err, hubSid, op: cmd.op }, 'room command listener failed');
    }
    // A command must not overtake what the room here published before it.
    this.#rooms.get(hubSid)?.room.link.flush();
    this.#deps.bus?.publish(`hub.${hubSid}.ctl`, encodeCommand(cmd)).catch((err: unknown) => {
      this.#deps.metrics.inc('mesh_publish_errors_total');
      this.#deps.log.warn({ err, hubSid }, 'could not publish a room command');
    });
  }

  /**
   * Applies a command decided outside the room (HTTP moderation) to its
   * members on every node: here if the room is live here, and on the others
   * over the bus. The store must already hold the outcome.
   */
  command(hubSid: string, cmd: RoomCommand): void {
    const live = this.#rooms.get(hubSid);
    if (live && !this.#closed) this.#enqueue(live, { type: 'hub/control', cmd });
    this.#publishControl(hubSid, cmd);
  }

  /**
   * Who is in a room, on every node: from the room here if it is live here,
   * otherwise from a node that holds it; empty when no node does.
   */
  async members(hubSid: string): Promise<Record<string, { metas: Payload[] }>> {
    const live = this.#rooms.get(hubSid);
    if (live) return live.room.presence.list() as unknown as Record<string, { metas: Payload[] }>;
    if (!this.#deps.bus) return {};
    const state = await this.#deps.bus.request(`hub.${hubSid}.state`, EMPTY, STATE_TIMEOUT_MS).then(
      (bytes) => decodeState(bytes),
      (err: unknown) => {
        if (err instanceof AppError && err.code === 'NO_RESPONDERS') return null;
        throw err;
      },
    );
    const out: Record<string, { metas: Payload[] }> = {};
    for (const { s, r, m } of state?.presence ?? []) (out[s] ??= { metas: [] }).metas.push({ ...m, phx_ref: r });
    return out;
  }

  /** Rooms with an actor on this node. */
  get size(): number {
    return this.#rooms.size;
  }

  /** Member counts (presence "room") of every room live on this node. */
  roomCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [sid, live] of this.#rooms) out[sid] = countPresences(live.room.presence).memberCount;
    return out;
  }

  /** Live presence counts of a room on this node (zeros when it has no actor here). */
  counts(hubSid: string): { memberCount: number; lobbyCount: number } {
    const live = this.#rooms.get(hubSid);
    return live ? countPresences(live.room.presence) : { memberCount: 0, lobbyCount: 0 };
  }

  /**
   * Delivers one client item to the room `hubSid`, starting the room's actor
   * if needed. Items reach the actor in the order they were dispatched. A join
   * to a room that does not exist is answered `not_found` here; other items
   * for it are answered `unmatched topic`.
   */
  dispatch(hubSid: string, item: HubItem): void {
    if (this.#closed) throw new AppError('CLOSED', 'hub registry is closed');
    const live = this.#rooms.get(hubSid);
    if (live) return this.#enqueue(live, item);
    this.#load(hubSid).then(
      (loaded) => (loaded ? this.#enqueue(loaded, item) : this.#refuse(hubSid, item)),
      (err: unknown) => this.#refuse(hubSid, item, err),
    );
  }

  #load(hubSid: string): Promise<LiveRoom | null> {
    let loading = this.#loading.get(hubSid);
    if (!loading) {
      loading = (isSid(hubSid) ? this.#deps.store.getHub(hubSid) : Promise.resolve(undefined))
        .then(async (hub) => {
          if (!hub || this.#closed) return null;
          const { store, clock } = this.#deps;
          const [owners, bans, invite, pinned] = await Promise.all([
            store.listOwners(hubSid),
            store.listBans(hubSid, new Date(clock.now())),
            store.activeInvite(hubSid),
            store.listRoomObjects(hubSid),
          ]);
          const room = new Room(hub, this.#roomDeps, this.#deps.nodeId);
          for (const account of owners) room.owners.add(account);
          for (const ban of bans) room.bans.set(ban.banId, ban);
          room.invite = invite;
          const live = new LiveRoom(room, undefined);
          if (this.#deps.bus) await this.#joinCluster(live, this.#deps.bus);
          loadPinned(room, pinned);
          return this.#closed ? null : this.#start(live);
        })
        .finally(() => this.#loading.delete(hubSid));
      this.#loading.set(hubSid, loading);
    }
    return loading;
  }

  /**
   * Joins the room's conversation on the bus before any member joins here:
   * listen first, then ask another node holding the room for its view, then
   * apply what arrived meanwhile that the view does not already contain.
   */
  async #joinCluster(live: LiveRoom, bus: Bus): Promise<void> {
    const { room } = live;
    const sid = room.hub.hubSid;
    const { nodeId, log, metrics } = this.#deps;
    let buffer: InEnvelope[] | null = [];
    const onBatch = (data: Uint8Array) => {
      const { node, envelopes, dropped } = decodeEnvelopes(data);
      if (node === nodeId) return metrics.inc('mesh_envelopes_dropped_total', undefined, envelopes.length + dropped);
      if (dropped > 0) metrics.inc('mesh_envelopes_dropped_total', undefined, dropped);
      if (node === null) return;
      this.#deps.sawNode?.(node);
      for (const env of envelopes) {
        if (buffer) buffer.push(env);
        else if (!live.ref) live.early.push(env);
        else this.#enqueue(live, { type: 'hub/remote', env });
      }
    };
    live.subscriptions.push(await bus.subscribe(`hub.${sid}.m`, (msg) => onBatch(msg.data)));
    live.subscriptions.push(
      await bus.subscribe(`hub.${sid}.ctl`, (msg) => {
        const cmd = decodeCommand(msg.data);
        if (!cmd) return metrics.inc('mesh_envelopes_dropped_total');
        if (live.ref) this.#enqueue(live, { type: 'hub/control', cmd });
        else live.early.push({ cmd });
      }),
    );
    const state = await bus.request(`hub.${sid}.state`, EMPTY, STATE_TIMEOUT_MS).then(
      (bytes) => decodeState(bytes),
      (err: unknown) => {
        if (!(err instanceof AppError && err.code === 'NO_RESPONDERS')) log.warn({ err, hubSid: sid }, 'no room state from the cluster');
        return null;
      },
    );
    if (state) {
      room.adoptState(state);
      Object.assign(room.seen, state.seq);
    }
    for (const env of buffer) if (env.q > (room.seen[env.n] ?? 0)) room.applyRemote(env);
    buffer = null;
    const link = new BusRoomLink({
      bus,
      flusher: this.#linkFlusher,
      subject: `hub.${sid}.m`,
      nodeId,
      lastSeq: state?.seq[nodeId] ?? 0,
      onError: (err) => {
        metrics.inc('mesh_publish_errors_total');
        log.debug({ err, hubSid: sid }, 'publish failed');
      },
    });
    // Answered on the actor once it runs: envelopes this node received before the request are applied by then, and
    // counted in `seen`. Answered at once, the state could leave out one still in the mailbox, published before the
    // asking node listened, which that node would then never get.
    const answer = (msg: BusMessage) => msg.respond?.(encodeState(room.state({ ...room.seen, [nodeId]: link.seq })));
    live.subscriptions.push(
      await bus.subscribe(`hub.${sid}.state`, (msg) => {
        if (live.ref) this.#enqueue(live, { type: 'hub/call', fn: () => answer(msg), isBackground: true });
        else live.early.push({ call: () => answer(msg) });
      }),
    );
    if (this.#deps.leases) {
      const home = new RoomHome(room, { bus, leases: this.#deps.leases, nodeId, clock: this.#deps.clock, metrics, log, leaseTtlMs: this.#deps.leaseTtlMs });
      live.home = home;
      await home.claim().catch((err: unknown) => log.warn({ err, hubSid: sid }, 'could not claim the room lease'));
      room.admit = (session) => home.admit(session);
      room.home = home;
    }
    room.link = link;
  }

  #start(live: LiveRoom): LiveRoom {
    const { room } = live;
    live.ref = spawnHubActor(this.#system, room, {
      batchStarted: (batch) => {
        if (live.pending === batch.items) live.pending = null;
        live.isBusy = true;
      },
      batchDone: () => {
        room.flushPresence();
        live.isBusy = false;
        this.#armIdle(live);
      },
      crashed: (err) => {
        this.#deps.log.error({ err, hubSid: room.hub.hubSid }, 'hub actor crashed');
        this.#deps.metrics.inc('hub_crashes_total');
        this.#forget(live);
        room.clear('errored');
        // The batch still waiting in the mailbox dies with the actor; its joins get an answer.
        for (const item of live.pending ?? []) this.#refuse(room.hub.hubSid, item, err);
        live.pending = null;
      },
    });
    this.#rooms.set(room.hub.hubSid, live);
    for (const early of live.early.splice(0)) {
      if ('cmd' in early) this.#enqueue(live, { type: 'hub/control', cmd: early.cmd });
      else if ('call' in early) this.#enqueue(live, { type: 'hub/call', fn: early.call, isBackground: true });
      else this.#enqueue(live, { type: 'hub/remote', env: early });
    }
    room.defer = (fn, opts) => this.#enqueue(live, { type: 'hub/call', fn, isBackground: opts?.isBackground === true });
    this.#startSims(live);
    this.#deps.log.info({ hubSid: room.hub.hubSid }, 'hub started');
    return live;
  }

  /** Gives the room its simulations: they run on the home, follow it when it moves, and keep it trying to be the home. */
  #startSims(live: LiveRoom): void {
    const sims = this.#deps.simulations;
    if (!sims || sims.modules.size === 0 || !live.ref) return;
    const { room } = live;
    const { clock, metrics, log } = this.#deps;
    room.sims = new SimHost(room, live.ref, { modules: sims.modules, limits: sims.limits, clock, metrics, log: log.child({ component: 'sims' }) }, room.home?.isMine ?? true);
    if (live.home) {
      live.home.onChange = (isMine) => this.#enqueue(live, { type: 'hub/call', fn: (r) => r.sims?.setHome(isMine), isBackground: true });
      live.home.keepTrying(() => enabledSimulations(room.hub.userData).length > 0);
    }
    room.sims.reconcile();
  }

  #enqueue(live: LiveRoom, item: HubItem): void {
    // A room's own background work does not keep it from idling out; anything from outside does.
    if (!(item.type === 'hub/call' && item.isBackground === true)) {
      live.idleTimer?.cancel();
      live.idleTimer = undefined;
    }
    if (live.pending) {
      live.pending.push(item);
      return;
    }
    live.pending = [item];
    nact.dispatch(live.ref!, { type: 'hub/batch', items: live.pending });
  }

  #refuse(hubSid: string, item: HubItem, err?: unknown): void {
    const topic = `hub:${hubSid}`;
    if (err !== undefined) this.#deps.log.error({ err, hubSid }, 'hub load failed');
    // Only a join or an event has a client waiting for an answer.
    if (item.type !== 'hub/join' && item.type !== 'hub/event') return;
    if (item.type === 'hub/event') {
      item.conn.send(OutFrame.reply(item.frame.joinRef, item.frame.ref, topic, 'error', { reason: 'unmatched topic' }));
      return;
    }
    const decision = err === undefined ? decideJoin({ hub: undefined, sessionId: item.conn.sessionId, params: item.params }) : null;
    const reply =
      decision && !decision.ok
        ? new AppError(decision.code, decision.message)
        : err instanceof AppError && err.code === 'STORE_UNAVAILABLE'
          ? new AppError('STORE_UNAVAILABLE', 'the room cannot be loaded now; try again shortly')
          : new AppError('JOIN_CRASHED', 'join failed on the server');
    this.#deps.metrics.inc('hub_joins_refused_total', { reason: reply.reason });
    item.conn.send(OutFrame.reply(item.joinRef, item.ref, topic, 'error', reply.toReply()));
    item.conn.endChannel(topic, item.joinRef, 'refused');
  }

  /** The bus came back, or a node taken for dead spoke again: every room tells the others who is here. */
  resync(): void {
    this.#toEveryRoom({ type: 'hub/resync' });
  }

  /** Node `node` stopped heart-beating: every room here lets its members go. */
  nodeDown(node: string): void {
    this.#toEveryRoom({ type: 'hub/node-down', node });
  }

  #toEveryRoom(item: HubItem): void {
    if (this.#closed) return;
    for (const live of this.#rooms.values()) this.#enqueue(live, item);
  }

  /**
   * Stops an empty room `roomIdleMs` after its last member left, or after the
   * simulations' `idleMs` when it runs any (they go on while nobody is there,
   * up to that). A room busy only with its own background work when the time
   * comes is looked at again shortly.
   */
  #armIdle(live: LiveRoom, delayMs?: number): void {
    if (!live.isIdle || live.idleTimer || this.#closed) return;
    const idleMs = live.room.sims?.isActive === true ? Math.max(this.#deps.roomIdleMs, this.#deps.simulations?.idleMs ?? 0) : this.#deps.roomIdleMs;
    live.idleTimer = this.#deps.clock.setTimeout(() => {
      live.idleTimer = undefined;
      if (live.isIdle) return this.#stop(live);
      if (live.room.seats.size === 0 && live.room.inflight === 0) this.#armIdle(live, 50);
    }, delayMs ?? idleMs);
  }

  #forget(live: LiveRoom, before?: Promise<void>): void {
    live.idleTimer?.cancel();
    if (this.#rooms.get(live.room.hub.hubSid) === live) this.#rooms.delete(live.room.hub.hubSid);
    // What the room said last (its members' leaves) goes out before this node stops listening.
    live.room.link.flush();
    // Not in the room here any more: stop listening to it (the bus may already be closed at shutdown).
    for (const sub of live.subscriptions.splice(0)) sub.unsubscribe().catch(() => undefined);
    // Releasing the lease lets a node that still has members take the room over at once (after `before`, the snapshots).
    const release = () => live.home?.close().catch(() => undefined);
    if (before) void before.finally(release);
    else void release();
  }

  #stop(live: LiveRoom): void {
    // The simulations save their snapshots before the lease goes, so the next home resumes from them.
    const sims = live.room.sims;
    let saved: Promise<void> | undefined;
    if (sims) {
      const closing: Promise<void> = sims.close().finally(() => this.#closingSims.delete(closing));
      this.#closingSims.add(closing);
      saved = closing;
    }
    this.#forget(live, saved);
    if (live.ref) nact.stop(live.ref);
    this.#deps.log.info({ hubSid: live.room.hub.hubSid }, 'hub stopped');
  }

  /** Ends every room's channels with phx_close and stops all actors. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#deps.sfus?.off('up', this.#rehost);
    this.#deps.sfus?.off('gone', this.#rehost);
    await Promise.allSettled(this.#loading.values());
    // Simulation snapshots first, then the leases while the bus is still up: another node can take these rooms over at once, from there.
    await Promise.all([...this.#rooms.values()].map((live) => live.room.sims?.close()));
    await Promise.all([...this.#rooms.values()].map((live) => live.home?.close()));
    for (const live of [...this.#rooms.values()]) {
      live.room.clear('closed');
      this.#stop(live);
    }
    await Promise.allSettled([...this.#closingSims]);
    nact.stop(this.#system);
  }
}

/** Puts a room's pinned objects into its entity table, leaving entities the cluster already holds as they are. */
function loadPinned(room: Room, pinned: readonly RoomObject[]): void {
  for (const { objectId, entity } of pinned) {
    const loaded = entity && !room.entities.get(objectId) ? pinnedEntity(objectId, entity) : null;
    if (loaded) room.entities.add(loaded, UNCLAIMED_OWNER);
  }
}
