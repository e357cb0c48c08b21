/**
 * The simulations of one room (src/sim), on the room's home only. Each runs
 * in a nact actor of its own, a child of the room's actor: the actor owns the
 * simulation instance and handles one message at a time (start, tick, event,
 * snapshot), so hooks never overlap. What a hook does to entities is
 * collected as NAF messages from the server owner and handed to the room's
 * actor, which arbitrates and broadcasts them like a client's (room.ts
 * `applySimOutput`).
 *
 * - Ticks: a timer on the room clock set for each tick's due time; each
 *   firing runs the ticks due since the last, at most `maxCatchUpTicks` and
 *   within `tickBudgetMs` of CPU; the rest are skipped and counted.
 * - Faults: a hook that throws stops the actor; the host reports it
 *   (`sim_crashes_total`, an error log) and starts the simulation again after
 *   a back-off (250 ms doubling to 30 s, reset after a minute without fault),
 *   from its last snapshot. The room is not touched.
 * - Snapshots: every `snapshotMs`, and when the host closes, each simulation's
 *   snapshot is saved to the store; a simulation starting on a new home (or
 *   in the room started again) resumes from it.
 * - Limits: each simulation is told `maxBodies`; the room's bodies across
 *   simulations are counted in `sim_bodies`.
 *
 * Lifecycle: `reconcile()` starts and stops simulations as the room's
 * settings and home say; `close()` saves the snapshots, stops the actors and
 * the timers. Idempotent.
 */
import nact from 'nact';
import type { Ref } from 'nact';
import type { Logger } from 'pino';
import { isPayload } from '../../src/protocol/codec.js';
import type { Payload } from '../../src/protocol/frames.js';
import type { Clock, Timer } from '../../src/ports/clock.js';
import type { Metrics } from '../../src/ports/metrics.js';
import { nafSyncData } from '../../src/core/entities.js';
import { enabledSimulations, SERVER_OWNER, simulationSettings, type SimContext, type SimEntity, type SimEvent, type Simulation, type SimulationModule } from '../../src/sim/simulation.js';
import type { Room } from './room.js';

export interface SimLimits {
  /** Bodies each simulation of a room may run. */
  readonly maxBodies: number;
  /** How often snapshots are saved. */
  readonly snapshotMs: number;
  /** CPU one timer firing may spend on catching up. */
  readonly tickBudgetMs: number;
  /** Ticks one timer firing may run. */
  readonly maxCatchUpTicks: number;
}

export interface SimHostDeps {
  readonly modules: ReadonlyMap<string, SimulationModule>;
  readonly limits: SimLimits;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
}

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 30_000;
const HEALTHY_AFTER_MS = 60_000;

type SimMsg =
  | { readonly type: 'start'; readonly snapshot: Payload | null }
  | { readonly type: 'tick' }
  | { readonly type: 'event'; readonly event: SimEvent }
  | { readonly type: 'snapshot'; readonly done: (snapshot: Payload) => void };

interface SimState {
  sim: Simulation | null;
  nextTickAt: number;
}

/** One enabled simulation of the room and its actor. */
class Running {
  ref: Ref<SimMsg> | null = null;
  sim: Simulation | null = null;
  timer: Timer | undefined;
  restart: Timer | undefined;
  failures = 0;
  startedAt = 0;
  /** The last snapshot taken (saved or not): what a restart resumes from. */
  snapshot: Payload | null = null;
  /** Entities this simulation was handed or spawned; `taken` and `removed` go to it. */
  readonly entities = new Set<string>();
  /** The context of the current actor: what its hooks wrote, until flushed to the room. */
  ctx: HostContext | null = null;
  isStopped = false;

  constructor(
    readonly name: string,
    readonly module: SimulationModule,
  ) {}
}

export class SimHost {
  readonly #room: Room;
  readonly #parent: Ref<unknown>;
  readonly #deps: SimHostDeps;
  readonly #running = new Map<string, Running>();
  /** Owners last seen of the entities a simulation has, to tell when one is handed or taken. */
  readonly #owners = new Map<string, string>();
  /** Entities handed to the server while a simulation was still starting, with who handed them. */
  readonly #undecided = new Map<string, string>();
  #members = new Set<string>();
  #snapshots: Timer | undefined;
  #isHome: boolean;
  #isClosed = false;
  /** Snapshots from the store, loaded once, for simulations that start. */
  #stored: Promise<Map<string, Payload>> | null = null;

  constructor(room: Room, parent: Ref<unknown>, deps: SimHostDeps, isHome: boolean) {
    this.#room = room;
    this.#parent = parent;
    this.#deps = deps;
    this.#isHome = isHome;
  }

  /** Whether any simulation runs: the room stays up for them when it is empty. */
  get isActive(): boolean {
    return this.#running.size > 0;
  }

  /** The room's home moved here or away. */
  setHome(isHome: boolean): void {
    if (this.#isHome === isHome) return;
    this.#isHome = isHome;
    // A new home resumes from the store, which the old home kept up to date.
    if (isHome) this.#stored = null;
    this.reconcile();
  }

  /** Starts the simulations the room enables and stops the others; none when this node is not the home. */
  reconcile(): void {
    if (this.#isClosed) return;
    const wanted = this.#isHome ? enabledSimulations(this.#room.hub.userData) : [];
    // Joins and leaves are told from here on: who is in the room now is where they start.
    if (this.#running.size === 0 && wanted.length > 0) this.#members = new Set(this.#room.presence.keys());
    // Turned off by the room: its snapshot goes too. Moved away with the home: the snapshot is saved for the next home.
    for (const [name, running] of [...this.#running]) if (!wanted.includes(name)) void this.#stop(running, this.#isHome);
    for (const name of wanted) {
      if (this.#running.has(name)) continue;
      const module = this.#deps.modules.get(name);
      if (!module) {
        this.#deps.log.warn({ hubSid: this.#room.hub.hubSid, simulation: name }, 'room enables an unknown simulation');
        continue;
      }
      const running = new Running(name, module);
      this.#running.set(name, running);
      void this.#loadStored().then((stored) => {
        if (!running.isStopped) this.#spawn(running, stored.get(name) ?? null);
      });
    }
    if (this.#running.size > 0 && !this.#snapshots) this.#snapshots = this.#deps.clock.setInterval(() => this.#snapshotAll(), this.#deps.limits.snapshotMs);
    if (this.#running.size === 0) {
      this.#snapshots?.cancel();
      this.#snapshots = undefined;
    }
  }

  /** Called on the room's actor after a NAF message from `from` was arbitrated and relayed. */
  entitiesChanged(message: Payload): void {
    if (this.#running.size === 0) return;
    for (const networkId of touchedIds(message)) this.#checkEntity(networkId);
  }

  /** Called on the room's actor when presence changed. */
  presenceChanged(): void {
    // Every room has a host; only one running simulations pays for the comparison.
    if (this.#running.size === 0) return;
    const now = new Set(this.#room.presence.keys());
    for (const s of now) if (!this.#members.has(s)) this.#broadcastEvent({ type: 'joined', sessionId: s });
    for (const s of this.#members) if (!now.has(s)) this.#broadcastEvent({ type: 'left', sessionId: s });
    this.#members = now;
  }

  /** Saves every snapshot and stops every simulation. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#snapshots?.cancel();
    const saves = [...this.#running.values()].map((running) => this.#stop(running, false));
    await Promise.all(saves);
  }

  #loadStored(): Promise<Map<string, Payload>> {
    this.#stored ??= this.#room.deps.store.listSimStates(this.#room.hub.hubSid).then(
      (states) => new Map(states.map((s) => [s.name, s.state])),
      (err: unknown) => {
        this.#deps.log.warn({ err, hubSid: this.#room.hub.hubSid }, 'could not load simulation snapshots: starting afresh');
        this.#stored = null;
        return new Map<string, Payload>();
      },
    );
    return this.#stored;
  }

  #spawn(running: Running, snapshot: Payload | null): void {
    if (running.isStopped || this.#isClosed) return;
    const hubSid = this.#room.hub.hubSid;
    const context = this.#context(running);
    running.ctx = context;
    const handle = async (state: SimState, msg: SimMsg): Promise<SimState> => {
      switch (msg.type) {
        case 'start': {
          const sim = await running.module.create({ hubSid, maxBodies: this.#deps.limits.maxBodies, settings: simulationSettings(this.#room.hub.userData, running.name) });
          state.sim = sim;
          running.sim = sim;
          if (msg.snapshot) sim.restore(context, msg.snapshot);
          else sim.init(context);
          state.nextTickAt = this.#deps.clock.now() + 1000 / Math.max(0.1, Math.min(sim.tickHz, 240));
          this.#flush(running);
          this.#arm(running, state.nextTickAt);
          // Handed over while it started: decided on the room's actor, as every hand-over is.
          if (this.#undecided.size > 0) this.#room.defer(() => this.#decideUndecided(), { isBackground: true });
          return state;
        }
        case 'tick':
          if (state.sim) {
            this.#tick(running, state, context);
            this.#arm(running, state.nextTickAt);
          }
          return state;
        case 'event':
          state.sim?.onMessage(context, msg.event);
          this.#flush(running);
          return state;
        case 'snapshot':
          if (state.sim) msg.done(state.sim.snapshot(context));
          return state;
      }
    };
    running.startedAt = this.#deps.clock.now();
    running.ref = nact.spawn(this.#parent, handle, `sim-${running.name}-${running.failures}-${running.startedAt}`, {
      initialState: { sim: null, nextTickAt: 0 },
      onCrash: (_msg, err, ctx) => {
        this.#crashed(running, err);
        return ctx.stop;
      },
    }) as Ref<SimMsg>;
    nact.dispatch(running.ref, { type: 'start', snapshot });
    this.#deps.log.info({ hubSid, simulation: running.name, isRestore: snapshot !== null }, 'simulation started');
  }

  /**
   * Wakes the actor when its next tick is due. One timer per tick, set for
   * the tick's own time, so ticks keep to the schedule rather than drifting
   * against a rounded interval.
   */
  #arm(running: Running, nextTickAt: number): void {
    running.timer?.cancel();
    if (running.isStopped || this.#isClosed) return;
    running.timer = this.#deps.clock.setTimeout(() => {
      running.timer = undefined;
      if (running.ref) nact.dispatch(running.ref, { type: 'tick' });
    }, Math.max(0, nextTickAt - this.#deps.clock.now()));
  }

  /** Runs the ticks due, at most `maxCatchUpTicks` and within the CPU budget; the others are skipped. */
  #tick(running: Running, state: SimState, context: SimContext): void {
    const sim = state.sim!;
    const period = 1000 / Math.max(0.1, Math.min(sim.tickHz, 240));
    const { tickBudgetMs, maxCatchUpTicks } = this.#deps.limits;
    const started = performance.now();
    // How late this tick runs against its schedule: the jitter a simulation's users see.
    const lateness = this.#deps.clock.now() - state.nextTickAt;
    if (lateness >= 0) this.#deps.metrics.inc('sim_tick_lateness_ms', { simulation: running.name, le: latenessBucket(lateness) });
    let ran = 0;
    while (state.nextTickAt <= this.#deps.clock.now() && ran < maxCatchUpTicks && (ran === 0 || performance.now() - started < tickBudgetMs)) {
      sim.tick(context, period / 1000);
      state.nextTickAt += period;
      ran++;
    }
    const now = this.#deps.clock.now();
    if (state.nextTickAt <= now) {
      const skipped = Math.floor((now - state.nextTickAt) / period) + 1;
      state.nextTickAt += skipped * period;
      this.#deps.metrics.inc('sim_ticks_skipped_total', { simulation: running.name }, skipped);
    }
    this.#deps.metrics.inc('sim_ticks_total', { simulation: running.name }, ran);
    const spent = performance.now() - started;
    if (spent > tickBudgetMs) this.#deps.metrics.inc('sim_over_budget_total', { simulation: running.name });
    this.#flush(running);
    if (running.failures > 0 && this.#deps.clock.now() - running.startedAt > HEALTHY_AFTER_MS) running.failures = 0;
  }

  #crashed(running: Running, err: unknown): void {
    running.timer?.cancel();
    running.timer = undefined;
    running.ref = null;
    this.#closeSim(running);
    this.#deps.metrics.inc('sim_crashes_total', { simulation: running.name });
    if (running.isStopped || this.#isClosed) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** running.failures);
    running.failures++;
    this.#deps.log.error({ err, hubSid: this.#room.hub.hubSid, simulation: running.name, restartInMs: delay }, 'simulation crashed');
    running.restart = this.#deps.clock.setTimeout(() => {
      running.restart = undefined;
      this.#spawn(running, running.snapshot);
    }, delay);
  }

  #closeSim(running: Running): void {
    const sim = running.sim;
    running.sim = null;
    try {
      sim?.close?.();
    } catch (err) {
      this.#deps.log.warn({ err, simulation: running.name }, 'simulation close failed');
    }
  }

  /** Stops one simulation; with `forget`, its stored snapshot is deleted too (the room turned it off). */
  async #stop(running: Running, forget: boolean): Promise<void> {
    if (running.isStopped) return;
    running.isStopped = true;
    running.timer?.cancel();
    running.restart?.cancel();
    this.#running.delete(running.name);
    const hubSid = this.#room.hub.hubSid;
    let snapshot: Payload | null = null;
    try {
      // The actor handles one message at a time and none is under way here: reading the instance directly is safe.
      if (running.sim && running.ctx) snapshot = running.sim.snapshot(running.ctx);
    } catch (err) {
      this.#deps.log.warn({ err, hubSid, simulation: running.name }, 'simulation snapshot failed');
    }
    if (running.ref) nact.stop(running.ref);
    running.ref = null;
    this.#closeSim(running);
    // Turned off: what it made goes with it (an NPC leaves the room); what clients handed it stays where it is, for anyone to take.
    if (forget) {
      const made = [...running.entities].filter((id) => this.#room.entities.get(id)?.creator === SERVER_OWNER);
      if (made.length > 0) this.#room.defer((room) => room.applySimOutput(made.map((networkId) => ({ dataType: 'r', data: { networkId } }))), { isBackground: true });
    }
    for (const id of running.entities) this.#owners.delete(id);
    try {
      if (forget) await this.#room.deps.store.deleteSimState(hubSid, running.name);
      else if (snapshot) await this.#room.deps.store.saveSimState(hubSid, running.name, snapshot);
    } catch (err) {
      this.#deps.log.warn({ err, hubSid, simulation: running.name }, 'could not save the simulation snapshot');
    }
    this.#deps.log.info({ hubSid, simulation: running.name }, 'simulation stopped');
  }

  #snapshotAll(): void {
    const hubSid = this.#room.hub.hubSid;
    for (const running of this.#running.values()) {
      if (!running.ref || !running.sim) continue;
      nact.dispatch(running.ref, {
        type: 'snapshot',
        done: (snapshot) => {
          running.snapshot = snapshot;
          this.#room.deps.store.saveSimState(hubSid, running.name, snapshot).catch((err: unknown) => {
            this.#deps.metrics.inc('sim_snapshot_errors_total', { simulation: running.name });
            this.#deps.log.warn({ err, hubSid, simulation: running.name }, 'could not save the simulation snapshot');
          });
        },
      });
    }
  }

  #broadcastEvent(event: SimEvent): void {
    for (const running of this.#running.values()) if (running.ref) nact.dispatch(running.ref, { type: 'event', event });
  }

  #decideUndecided(): void {
    for (const [networkId, from] of [...this.#undecided]) {
      this.#undecided.delete(networkId);
      if (from !== '') this.#owners.set(networkId, from);
      else this.#owners.delete(networkId);
      this.#checkEntity(networkId);
    }
  }

  /** Compares an entity's owner with the last one seen, and tells the simulation concerned. */
  #checkEntity(networkId: string): void {
    const entity = this.#room.entities.get(networkId);
    const previous = this.#owners.get(networkId);
    const holder = [...this.#running.values()].find((r) => r.entities.has(networkId));
    if (!entity) {
      this.#owners.delete(networkId);
      this.#undecided.delete(networkId);
      if (holder) {
        holder.entities.delete(networkId);
        if (holder.ref) nact.dispatch(holder.ref, { type: 'event', event: { type: 'removed', networkId } });
      }
      return;
    }
    if (entity.owner === previous) return;
    const view = viewOf(entity);
    if (entity.owner === SERVER_OWNER) {
      // Handed to the server: the first simulation that owns it takes it, unless one has it already (its own spawn).
      const taker = holder ?? [...this.#running.values()].find((r) => r.sim?.owns(view) === true);
      if (!taker) {
        // A simulation still starting (an engine loading) may be the one: ask again once it has started.
        if ([...this.#running.values()].some((r) => r.sim === null)) this.#undecided.set(networkId, previous ?? '');
        return;
      }
      this.#undecided.delete(networkId);
      taker.entities.add(networkId);
      this.#owners.set(networkId, entity.owner);
      if (!holder && taker.ref) nact.dispatch(taker.ref, { type: 'event', event: { type: 'handed', entity: view, from: previous ?? '' } });
      return;
    }
    if (holder) {
      // Taken by a client: the simulation lets go. The owner stays on record, so a throw back to the server is seen as one.
      this.#owners.set(networkId, entity.owner);
      if (previous === SERVER_OWNER) {
        holder.entities.delete(networkId);
        if (holder.ref) nact.dispatch(holder.ref, { type: 'event', event: { type: 'taken', entity: view, by: entity.owner } });
      }
    }
  }

  /** The context a simulation works through; writes are queued until the hook returns. */
  #context(running: Running): HostContext {
    const room = this.#room;
    const clock = this.#deps.clock;
    const outbox: Payload[] = [];
    const dirty = new Map<string, Record<string, unknown>>();
    const table = room.entities;
    const isServers = (id: string) => table.get(id)?.owner === SERVER_OWNER || outbox.some((m) => isPayload(m['data']) && m['data']['networkId'] === id && m['data']['owner'] === SERVER_OWNER);
    const log = this.#deps.log.child({ hubSid: room.hub.hubSid, simulation: running.name });
    const full = (networkId: string, owner: string, components: Record<string, unknown>) => {
      const entity = table.get(networkId)!;
      dirty.delete(networkId);
      outbox.push({ dataType: 'u', data: nafSyncData({ ...entity, owner, lastOwnerTime: Math.max(clock.now(), entity.lastOwnerTime + 1) }, { ...entity.components, ...components }, false) });
    };
    return {
      outbox,
      dirty,
      hubSid: room.hub.hubSid,
      now: () => clock.now(),
      entities: function* () {
        for (const e of table.values()) yield viewOf(e);
      },
      entity: (id) => {
        const e = table.get(id);
        return e ? viewOf(e) : undefined;
      },
      members: () => [...room.presence.keys()],
      spawn: (template, components, opts = {}) => {
        const networkId = opts.networkId ?? newServerId();
        running.entities.add(networkId);
        this.#owners.set(networkId, SERVER_OWNER);
        if (table.get(networkId)) {
          full(networkId, SERVER_OWNER, components);
          return networkId;
        }
        const entity = { networkId, template, owner: SERVER_OWNER, creator: SERVER_OWNER, lastOwnerTime: clock.now(), persistent: opts.persistent === true, parent: null };
        outbox.push({ dataType: 'u', data: nafSyncData(entity, { ...components }, true) });
        return networkId;
      },
      update: (networkId, components) => {
        if (!isServers(networkId)) return false;
        dirty.set(networkId, { ...(dirty.get(networkId) ?? {}), ...components });
        return true;
      },
      claim: (networkId, components = {}) => {
        if (!table.get(networkId)) return false;
        running.entities.add(networkId);
        this.#owners.set(networkId, SERVER_OWNER);
        full(networkId, SERVER_OWNER, components);
        return true;
      },
      handTo: (networkId, sessionId) => {
        if (!isServers(networkId)) return false;
        running.entities.delete(networkId);
        this.#owners.delete(networkId);
        full(networkId, sessionId, {});
        return true;
      },
      remove: (networkId) => {
        if (!isServers(networkId)) return false;
        running.entities.delete(networkId);
        this.#owners.delete(networkId);
        dirty.delete(networkId);
        outbox.push({ dataType: 'r', data: { networkId } });
        return true;
      },
      log: { warn: (fields, msg) => log.warn(fields, msg), info: (fields, msg) => log.info(fields, msg) },
    };
  }

  /**
   * Hands what the last hook wrote to the room's actor, as NAF messages from
   * the server owner: spawns, claims and removals in order, then one `um` with
   * every changed component of the entities the server owns.
   */
  #flush(running: Running): void {
    const ctx = running.ctx;
    if (!ctx || (ctx.outbox.length === 0 && ctx.dirty.size === 0)) return;
    const messages = ctx.outbox.splice(0);
    const table = this.#room.entities;
    const entries: Payload[] = [];
    for (const [networkId, components] of ctx.dirty) {
      const entity = table.get(networkId);
      if (entity) {
        if (entity.owner === SERVER_OWNER) entries.push(nafSyncData(entity, components, false));
        continue;
      }
      // Spawned in this very hook: the first sync carries the latest components.
      const spawn = messages.find((m) => isPayload(m['data']) && m['data']['networkId'] === networkId && m['data']['isFirstSync'] === true);
      if (spawn && isPayload(spawn['data']) && isPayload(spawn['data']['components'])) Object.assign(spawn['data']['components'], components);
    }
    ctx.dirty.clear();
    if (entries.length > 0) messages.push({ dataType: 'um', data: { d: entries } });
    this.#room.defer((room) => room.applySimOutput(messages), { isBackground: true });
  }
}

type HostContext = SimContext & { readonly outbox: Payload[]; readonly dirty: Map<string, Record<string, unknown>> };

/** Upper bounds (ms) of the buckets of `sim_tick_lateness_ms`, a counter per bucket (not cumulative). */
export const LATENESS_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 250, 1000] as const;

function latenessBucket(ms: number): string {
  return String(LATENESS_BUCKETS_MS.find((b) => ms <= b) ?? '+Inf');
}

/** The network ids a NAF message is about. */
function touchedIds(message: Payload): string[] {
  const { dataType, data } = message;
  if (!isPayload(data)) return [];
  if (dataType === 'um') return Array.isArray(data['d']) ? data['d'].flatMap((e: unknown) => (isPayload(e) && typeof e['networkId'] === 'string' ? [e['networkId']] : [])) : [];
  return typeof data['networkId'] === 'string' ? [data['networkId']] : [];
}

function viewOf(e: { networkId: string; template: string; owner: string; creator: string; lastOwnerTime: number; persistent: boolean; components: Record<string, unknown> }): SimEntity {
  return { networkId: e.networkId, template: e.template, owner: e.owner, creator: e.creator, lastOwnerTime: e.lastOwnerTime, persistent: e.persistent, components: { ...e.components } };
}

/** A NAF-style id for an entity the server makes: `s` and 7 random base36 characters. */
function newServerId(): string {
  let id = 's';
  while (id.length < 8) id += Math.floor(Math.random() * 36).toString(36);
  return id;
}
