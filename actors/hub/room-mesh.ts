/**
 * The half of a room that faces the other nodes holding it: what they
 * publish (presence, broadcasts, blocks, syncs) applied here, the syncs this
 * node publishes, a dead node's members let go, and the room's state handed
 * to a node that starts holding it. The room (room.ts) delegates to these.
 */
import { applyDecided, arbitrate } from '../../src/core/arbiter.js';
import { mergeRemoteEntities } from '../../src/core/entity-lifecycle.js';
import type { Envelope, InEnvelope, RoomState } from '../../src/core/mesh.js';
import { presenceMeta } from '../../src/core/member.js';
import { parseSfuHost } from '../../src/core/sfu-placement.js';
import type { Payload } from '../../src/protocol/frames.js';
import type { Room } from './room.js';

/** Tracks a member of another node. */
function addRemote(room: Room, node: string, session: string, ref: string, meta: Payload): void {
  room.remoteRefs.set(ref, { node, session });
  room.broadcastDiff(room.presence.track(session, ref, meta));
}

/** Drops a member of another node; resolves to its session when that was the session's last presence. */
function dropRemote(room: Room, ref: string): string | undefined {
  const remote = room.remoteRefs.get(ref);
  if (!remote) return undefined;
  room.remoteRefs.delete(ref);
  room.broadcastDiff(room.presence.untrack(remote.session, ref));
  return room.presence.has(remote.session) ? undefined : remote.session;
}

/** Applies what another node published about the room. */
export function applyRemote(room: Room, env: InEnvelope): void {
  room.seen[env.n] = env.q;
  switch (env.t) {
    case 'p':
      return applyRemotePresence(room, env);
    case 'blk':
      return room.setBlock(env.s, env.o, env.on);
    case 'sync':
      return applySync(room, env);
    case 'ask':
      return publishSync(room);
    case 'b':
      if (env.naf === true) followEntities(room, env);
      room.broadcast(env.e, env.p, { from: env.f, to: env.to, isDroppable: env.d, isNaf: env.naf }, env.pj);
      return;
  }
}

/** Makes this node's view of node `env.n`'s members match what it says it has, and takes in the entities it missed. */
function applySync(room: Room, env: Extract<Envelope, { t: 'sync' }>): void {
  const claimed = new Set(env.e.map((x) => x.r));
  for (const [ref, { node }] of [...room.remoteRefs]) if (node === env.n && !claimed.has(ref)) dropRemote(room, ref);
  for (const { s, r, m } of env.e) if (!room.remoteRefs.has(r)) addRemote(room, env.n, s, r, m);
  const { added, claims } = mergeRemoteEntities(room.entities, env.ents ?? []);
  if (added.length > 0) for (const seat of room.seats.values()) room.pushEntities(seat, added);
  // Each node merges every sync itself: these go to this node's members only.
  for (const { from, message } of claims) {
    room.broadcast('naf', { ...message, from_session_id: from }, { from, isNaf: true });
    room.sims?.entitiesChanged(message);
  }
}

/** Tells the other nodes every member this node has in the room, and its entities. */
export function publishSync(room: Room): void {
  const e = [...room.seats.values()].map((seat) => ({ s: seat.member.sessionId, r: seat.phxRef, m: presenceMeta(seat.member) }));
  room.link.publish({ t: 'sync', e, ents: [...room.entities.values()].filter((entity) => entity.protocol === 'naf') });
}

function applyRemotePresence(room: Room, env: Extract<Envelope, { t: 'p' }>): void {
  if (env.op === 'join' && env.m) {
    addRemote(room, env.n, env.s, env.r, env.m);
  } else if (env.op === 'update' && env.m && env.pr !== undefined) {
    room.remoteRefs.delete(env.pr);
    room.remoteRefs.set(env.r, { node: env.n, session: env.s });
    room.broadcastDiff(room.presence.update(env.s, env.pr, env.r, env.m));
  } else if (env.op === 'leave') {
    room.remoteRefs.delete(env.r);
    room.broadcastDiff(room.presence.untrack(env.s, env.r));
  }
}

/**
 * Node `node` is down: its members leave here. Their entities are resolved
 * by one node only, the one with the smallest id among those still holding
 * members of the room, so clients hear each decision once; the others take
 * it from the bus as decided.
 */
export function applyNodeDown(room: Room, node: string): void {
  const gone = [...room.remoteRefs].filter(([, r]) => r.node === node).map(([ref]) => ref);
  if (gone.length === 0) return;
  const holders = new Set([...room.remoteRefs.values()].map((r) => r.node).filter((n) => n !== node));
  if (room.seats.size > 0) holders.add(room.nodeId);
  const resolver = [...holders].sort()[0];
  const left = gone.map((ref) => dropRemote(room, ref)).filter((s): s is string => s !== undefined);
  if (resolver === room.nodeId) for (const session of new Set(left)) room.resolveLeaver(session);
}

/** Keeps this node's entity table in step with what another node relayed. */
function followEntities(room: Room, env: Extract<Envelope, { t: 'b' }>): void {
  const from = env.f ?? '';
  let message: unknown = env.p;
  if (env.e === 'nafr') {
    try {
      message = JSON.parse(env.p['naf'] as string);
    } catch {
      return;
    }
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return;
  if (env.sys === true) applyDecided(room.entities, message as Payload, from);
  else arbitrate(room.entities, message as Payload, { sender: from, isPresent: (s) => room.isPresent(s), maxEntitiesPerSession: Number.MAX_SAFE_INTEGER });
  room.sims?.entitiesChanged(message as Payload);
}

/** This node's view of the room, for a node that starts holding it. */
export function roomState(room: Room, seq: Readonly<Record<string, number>>): RoomState {
  const presence: { node: string; s: string; r: string; m: Payload }[] = [];
  for (const [s, entry] of Object.entries(room.presence.list())) {
    for (const meta of entry.metas) {
      const { phx_ref: r, phx_ref_prev: _prev, ...m } = meta;
      presence.push({ node: room.remoteRefs.get(r)?.node ?? room.nodeId, s, r, m });
    }
  }
  return { presence, entities: [...room.entities.values()], blocks: [...room.blocks].map(([k, v]) => [k, [...v]] as const), seq, host: room.hub.host };
}

/** Takes over another node's view of the room; only before any member joined here. */
export function adoptState(room: Room, state: RoomState): void {
  for (const { node, s, r, m } of state.presence) {
    room.remoteRefs.set(r, { node, session: s });
    room.presence.track(s, r, m);
  }
  for (const entity of state.entities) if (!room.entities.get(entity.networkId)) room.entities.add({ ...entity, components: { ...entity.components } });
  for (const [blocker, targets] of state.blocks) room.blocks.set(blocker, new Set(targets));
  // The sender heard the home's last `host` command; the store may not hold it yet.
  if (typeof state.host === 'string' && parseSfuHost(state.host)) room.hub = { ...room.hub, host: state.host };
}
