/**
 * Server-side simulation: optional, authoritative code that runs per room on
 * the room's home and owns some of its entities (parity 3.8/3.9: under the
 * reserved server owner, `reticulum`). Hubs simulates everything on the
 * clients and the owner wins; a simulation lets the server be that owner for
 * what must not depend on one client: a thrown ball, an NPC that walks while
 * the room is empty.
 *
 * A simulation is a `SimulationModule` (a name and a factory). A room enables
 * simulations by name in its settings (`user_data.hubmesh_simulations`,
 * through `update_hub` or `PATCH /api/v1/hubs/:sid`); operators register
 * their own modules by configuration (`HUBMESH_SIM_MODULES`).
 *
 * The host (actors/hub/sims.ts) calls the hooks one at a time, never
 * concurrently: `init` or `restore` once, then `tick` at `tickHz` on the
 * room's clock, `onMessage` when something happens in the room that concerns
 * it, and `snapshot` every few seconds, which is what a new home resumes
 * from. What a simulation does to entities goes through its context: spawns,
 * updates and claims become NAF messages from the server owner, decided by
 * the same arbitration as client messages and broadcast on the same path.
 * A hook that throws makes the host restart the simulation (from its last
 * snapshot) after a back-off; the room goes on relaying meanwhile.
 */
import type { Payload } from '../protocol/frames.js';
import { NN_SERVER_OWNER } from '../core/entities.js';

/** The session id the server owns entities under (parity 3.8: the reserved owner that loses every bitECS tie). */
export const SERVER_OWNER = NN_SERVER_OWNER;

/** A room entity as a simulation sees it: read-only, the room's table at the moment of the call. */
export interface SimEntity {
  readonly networkId: string;
  readonly template: string;
  readonly owner: string;
  readonly creator: string;
  readonly lastOwnerTime: number;
  readonly persistent: boolean;
  readonly components: Readonly<Record<string, unknown>>;
}

/**
 * What happened in the room:
 * - `handed`: a client gave the server an entity this simulation `owns`
 *   (a full NAF update naming the server owner); `from` is who had it;
 * - `taken`: a client claimed an entity the server owned for this
 *   simulation; the simulation must stop moving it (the server yields);
 * - `removed`: an entity is gone;
 * - `joined` / `left`: a session entered or left the room's presence.
 */
export type SimEvent =
  | { readonly type: 'handed'; readonly entity: SimEntity; readonly from: string }
  | { readonly type: 'taken'; readonly entity: SimEntity; readonly by: string }
  | { readonly type: 'removed'; readonly networkId: string }
  | { readonly type: 'joined' | 'left'; readonly sessionId: string };

export interface SimContext {
  readonly hubSid: string;
  /** The room clock, in milliseconds (the server's time, which NAF ownership times use). */
  now(): number;
  /** The room's entities now. */
  entities(): Iterable<SimEntity>;
  entity(networkId: string): SimEntity | undefined;
  /** Sessions in the room's presence, on every node. */
  members(): readonly string[];
  /**
   * Makes an entity the server owns: a first sync when the room does not
   * have it, a claim with these components when it does (after a restore).
   * Returns its network id (new, or `opts.networkId`).
   */
  spawn(template: string, components: Record<string, unknown>, opts?: { readonly networkId?: string; readonly persistent?: boolean }): string;
  /** Changes components of an entity the server owns; they go out together, once per tick. False when the server does not own it. */
  update(networkId: string, components: Record<string, unknown>): boolean;
  /** Takes an entity for the server by NAF's rules (a full update at `max(now, lastOwnerTime + 1)`). */
  claim(networkId: string, components?: Record<string, unknown>): boolean;
  /** Hands an entity the server owns to `sessionId` the same way (a full update naming them). */
  handTo(networkId: string, sessionId: string): boolean;
  /** Removes an entity the server owns, for everyone. */
  remove(networkId: string): boolean;
  readonly log: { warn(fields: object, msg: string): void; info(fields: object, msg: string): void };
}

export interface Simulation {
  /** Ticks per second; the host ticks on the room clock and catches up a bounded number of missed ticks. */
  readonly tickHz: number;
  /** Whether this simulation takes `entity` when a client hands it to the server. */
  owns(entity: SimEntity): boolean;
  /** The number of bodies it simulates now, for the room's cap. */
  readonly bodyCount: number;
  init(ctx: SimContext): void;
  tick(ctx: SimContext, dtSeconds: number): void;
  onMessage(ctx: SimContext, event: SimEvent): void;
  /** Everything needed to resume, as JSON. */
  snapshot(ctx: SimContext): Payload;
  /** Resumes from a snapshot this module took (perhaps on another node), instead of `init`. */
  restore(ctx: SimContext, snapshot: Payload): void;
  /** Frees what the simulation holds (an engine's memory); the host calls it once, last. */
  close?(): void;
}

export interface SimulationOptions {
  readonly hubSid: string;
  /** The most bodies this simulation may run in the room; entities over the cap are handed back. */
  readonly maxBodies: number;
  /** The room's settings for this simulation: `user_data.hubmesh_simulation_settings[<name>]`, or {}. */
  readonly settings: Payload;
}

export interface SimulationModule {
  /** Unique among the modules of a node: 1-64 letters, digits, `-` or `_`. */
  readonly name: string;
  create(options: SimulationOptions): Simulation | Promise<Simulation>;
}

export const SIM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether `value` looks like a SimulationModule (an operator's module is checked before use). */
export function isSimulationModule(value: unknown): value is SimulationModule {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return typeof m['name'] === 'string' && SIM_NAME.test(m['name']) && typeof m['create'] === 'function';
}

/** The simulations a room enables, from its user data: unique valid names, in order. */
export function enabledSimulations(userData: Payload | null): string[] {
  const names = userData?.['hubmesh_simulations'];
  if (!Array.isArray(names)) return [];
  return [...new Set(names.filter((n): n is string => typeof n === 'string' && SIM_NAME.test(n)))];
}

/** The room's settings for simulation `name`: `user_data.hubmesh_simulation_settings[name]`, or {}. */
export function simulationSettings(userData: Payload | null, name: string): Payload {
  const all = userData?.['hubmesh_simulation_settings'];
  if (typeof all !== 'object' || all === null || Array.isArray(all)) return {};
  const mine = (all as Payload)[name];
  return typeof mine === 'object' && mine !== null && !Array.isArray(mine) ? (mine as Payload) : {};
}

/**
 * What is wrong with a room's simulation settings, for a server offering
 * `names`: `hubmesh_simulations` must be a list of names it offers, and
 * `hubmesh_simulation_settings` an object. Null when nothing is wrong.
 */
export function simulationSettingsProblem(userData: Payload | null, names: ReadonlySet<string>): string | null {
  const wanted = userData?.['hubmesh_simulations'];
  if (wanted !== undefined) {
    if (!Array.isArray(wanted) || !wanted.every((n) => typeof n === 'string')) return 'user_data.hubmesh_simulations must be a list of simulation names';
    const unknown = wanted.find((n) => !names.has(n as string));
    if (unknown !== undefined) return `user_data.hubmesh_simulations: this server offers no simulation "${String(unknown)}" (it offers: ${[...names].sort().join(', ') || 'none'})`;
  }
  const settings = userData?.['hubmesh_simulation_settings'];
  if (settings !== undefined && (typeof settings !== 'object' || settings === null || Array.isArray(settings))) return 'user_data.hubmesh_simulation_settings must be an object of settings by simulation name';
  return null;
}
