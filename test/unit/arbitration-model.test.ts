/**
 * Property: with the server arbitrating, every client converges on the
 * server's entity table, and the server only drops what every client would
 * have rejected anyway.
 *
 * K simulated NAF clients create, grab, update and remove M shared entities,
 * join and leave, while fast-check picks the interleaving: which client acts,
 * which queued message reaches the server next, which relayed message a client
 * reads next. The server is the real pure code (src/core: Reticulum's naf
 * rules, the arbiter, leave resolution and the join snapshot); the clients
 * apply NAF's own rules (parity 3.2-3.5) to what the server relays, in the
 * order it relays it. Every message the server drops is delivered to every
 * client as a shadow, which must be rejected by the client rule at the point
 * it would have arrived.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbitrate } from '../../src/core/arbiter.js';
import { EntityTable, nafAccepts } from '../../src/core/entities.js';
import { resolveLeave, snapshotMessages } from '../../src/core/entity-lifecycle.js';
import { decideNaf } from '../../src/core/naf.js';
import type { Payload } from '../../src/protocol/frames.js';
import { permsFor } from '../support/builders.js';

/**
 * The handover lead, in ticks (one tick per step). It must exceed how late a
 * message can arrive, as in a real room (2 s against milliseconds); here every
 * run is shorter than it.
 */
const LEAD = 100_000;
const PERMS = permsFor(0xff);

interface LocalEntity {
  owner: string;
  creator: string;
  lastOwnerTime: number;
  persistent: boolean;
  components: Record<string, unknown>;
}

type Inbound =
  | { kind: 'naf'; message: Payload }
  | { kind: 'shadow'; entries: { entry: Payload; reason: string }[] }
  | { kind: 'join'; who: string }
  | { kind: 'leave'; who: string };

class Client {
  readonly entities = new Map<string, LocalEntity>();
  readonly present = new Set<string>();
  readonly inbox: Inbound[] = [];
  readonly outbox: Payload[] = [];
  /** Entities this client removed itself: messages about them are moot here, its own `r` settles them. */
  readonly removedHere = new Set<string>();
  constructor(readonly id: string) {}

  canSync(e: LocalEntity): boolean {
    return e.owner === this.id || (e.creator === this.id && !this.present.has(e.owner));
  }

  syncData(networkId: string, e: LocalEntity, isFirstSync: boolean): Payload {
    return { networkId, owner: e.owner, creator: e.creator, lastOwnerTime: e.lastOwnerTime, template: '#interactable-media', persistent: e.persistent, parent: null, components: { ...e.components }, ...(isFirstSync ? { isFirstSync: true } : {}) };
  }

  /** NAF networkUpdate / updateEntity for one entry. */
  applyEntry(e: Payload): void {
    const id = e['networkId'] as string;
    const local = this.entities.get(id);
    if (!local) {
      if (e['isFirstSync'] !== true) return;
      const components: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(e['components'] as object)) if (v !== null) components[k] = v;
      this.entities.set(id, { owner: e['owner'] as string, creator: e['creator'] as string, lastOwnerTime: -1, persistent: e['persistent'] === true, components });
      return;
    }
    const claim = { owner: e['owner'] as string, lastOwnerTime: e['lastOwnerTime'] as number };
    if (!nafAccepts(local, claim)) return;
    if (claim.owner !== local.owner) {
      local.owner = claim.owner;
      local.lastOwnerTime = claim.lastOwnerTime;
    }
    if (typeof e['persistent'] === 'boolean') local.persistent = e['persistent'];
    for (const [k, v] of Object.entries(e['components'] as object)) if (v !== null) local.components[k] = v;
  }

  /** Reads the next relayed message. `now` is the shared server clock. */
  readNext(now: number): void {
    const msg = this.inbox.shift();
    if (!msg) return;
    if (msg.kind === 'shadow') {
      for (const { entry: e, reason } of msg.entries) {
        if (this.removedHere.has(e['networkId'] as string)) continue;
        const local = this.entities.get(e['networkId'] as string);
        // A resend about a removed entity: at a client that saw the removal it would bring the entity back.
        if (reason === 'removed') expect(local, `client ${this.id} still holds removed ${String(e['networkId'])}`).toBeUndefined();
        else if (local) expect(nafAccepts(local, { owner: e['owner'] as string, lastOwnerTime: e['lastOwnerTime'] as number }), `client ${this.id} would accept a dropped entry`).toBe(false);
        else expect(e['isFirstSync'], `client ${this.id} would create from a dropped entry`).not.toBe(true);
      }
      return;
    }
    if (msg.kind === 'join') {
      this.present.add(msg.who);
      // NAF completeSync for the newcomer: first syncs of everything this client can sync.
      for (const [id, e] of this.entities) if (this.canSync(e)) this.outbox.push({ dataType: 'u', data: this.syncData(id, e, true) });
      return;
    }
    if (msg.kind === 'leave') {
      this.present.delete(msg.who);
      // NAF removeEntitiesOfClient.
      for (const [id, e] of [...this.entities]) {
        if (e.creator !== msg.who) continue;
        if (!e.persistent) this.entities.delete(id);
        else if (e.owner !== this.id && e.lastOwnerTime < now) this.takeOwnership(id, e, now);
      }
      return;
    }
    const { dataType, data } = msg.message;
    if (dataType === 'u') this.applyEntry(data as Payload);
    else if (dataType === 'um') for (const e of (data as { d: Payload[] }).d) this.applyEntry(e);
    else if (dataType === 'r') this.entities.delete((data as Payload)['networkId'] as string);
  }

  takeOwnership(id: string, e: LocalEntity, now: number): void {
    e.lastOwnerTime = now;
    e.owner = this.id;
    this.outbox.push({ dataType: 'u', data: this.syncData(id, e, false) });
  }
}

type Op =
  | { op: 'create'; client: number; entity: number; persistent: boolean }
  | { op: 'grab' | 'update' | 'remove'; client: number; entity: number; value: number }
  | { op: 'toServer' | 'toClient'; client: number }
  | { op: 'join'; name: string }
  | { op: 'leave'; client: number };

const opArb = (): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.record({ op: fc.constant('create' as const), client: fc.nat(9), entity: fc.nat(9), persistent: fc.boolean() }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('grab' as const, 'update' as const, 'remove' as const), client: fc.nat(9), entity: fc.nat(9), value: fc.nat(99) }) },
    { weight: 8, arbitrary: fc.record({ op: fc.constantFrom('toServer' as const, 'toClient' as const), client: fc.nat(9) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('join' as const), name: fc.stringMatching(/^[a-z0-9]{1,4}$/) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('leave' as const), client: fc.nat(9) }) },
  );

class World {
  readonly table = new EntityTable();
  readonly clients: Client[] = [];
  now = 0;
  created = 0;
  dropped = 0;

  constructor(readonly maxEntities: number) {}

  relayed = 0;

  join(id: string): void {
    if (this.clients.some((c) => c.id === id)) return;
    const joiner = new Client(id);
    for (const c of this.clients) joiner.present.add(c.id);
    joiner.present.add(id);
    this.clients.push(joiner);
    for (const { message } of snapshotMessages(this.table, (s) => this.clients.some((c) => c.id === s))) joiner.inbox.push({ kind: 'naf', message });
    for (const c of this.clients) if (c !== joiner) c.inbox.push({ kind: 'join', who: id });
  }

  leave(index: number): void {
    const leaver = this.clients[index % this.clients.length];
    if (!leaver || this.clients.length <= 1) return;
    this.clients.splice(this.clients.indexOf(leaver), 1);
    const { removals, handovers } = resolveLeave(this.table, leaver.id, this.clients.map((c) => c.id), this.now, LEAD);
    for (const c of this.clients) {
      for (const { message } of [...removals, ...handovers]) c.inbox.push({ kind: 'naf', message });
      c.inbox.push({ kind: 'leave', who: leaver.id });
    }
  }

  /** The server takes the next message from `sender`: Reticulum's rules, then arbitration, then relay. */
  serve(sender: Client): void {
    const message = sender.outbox.shift();
    if (!message) return;
    const decision = decideNaf(message, { sessionId: sender.id, permissions: PERMS });
    if (decision.action !== 'naf') throw new Error(`unexpected ${decision.action}`);
    const { from_session_id: _from, ...rewritten } = decision.payload;
    const result = arbitrate(this.table, rewritten, { sender: sender.id, isPresent: (s) => this.clients.some((c) => c.id === s), maxEntitiesPerSession: 1000 }, decision.claimed);
    const entries = (m: Payload): Payload[] => (m['dataType'] === 'um' ? ((m['data'] as { d: Payload[] }).d ?? []) : m['dataType'] === 'u' ? [m['data'] as Payload] : []);
    // um entries are kept or cut as they are; a single u may be relayed rewritten, or not at all.
    const kept = new Set(result.message === null ? [] : rewritten['dataType'] === 'um' ? entries(result.message) : entries(rewritten));
    const cut = entries(rewritten)
      .filter((e) => !kept.has(e))
      .map((entry, i) => ({ entry, reason: result.drops[i] ?? 'unknown' }));
    if (rewritten['dataType'] !== 'r') expect(cut.map((c) => c.reason)).toEqual(result.drops);
    if (result.drops.length > 0) {
      expect(result.drops.every((d) => d === 'outdated' || d === 'not_owner' || d === 'removed')).toBe(true);
      this.dropped += result.drops.length;
    }
    for (const c of this.clients) {
      if (c === sender && !result.isEcho) continue;
      if (cut.length > 0) c.inbox.push({ kind: 'shadow', entries: cut });
      if (result.message) c.inbox.push({ kind: 'naf', message: result.message });
    }
    if (result.message) this.relayed++;
    for (const { message: m } of snapshotMessages(this.table, (s) => this.clients.some((c) => c.id === s), result.restore ?? [])) sender.inbox.push({ kind: 'naf', message: m });
  }

  act(op: Op): void {
    this.now++;
    const client = 'client' in op ? this.clients[op.client % this.clients.length] : undefined;
    switch (op.op) {
      case 'join':
        return this.join(op.name);
      case 'leave':
        return this.leave(op.client);
      case 'toServer':
        return client && this.serve(client);
      case 'toClient':
        return client?.readNext(this.now);
    }
    if (!client) return;
    if (op.op === 'create') {
      // NAF ids are random: two clients never create the same one.
      if (this.created >= this.maxEntities) return;
      const id = `n${this.created++}`;
      const e: LocalEntity = { owner: client.id, creator: client.id, lastOwnerTime: this.now, persistent: op.persistent, components: { 0: 0, 1: 'x' } };
      client.entities.set(id, e);
      client.outbox.push({ dataType: 'u', data: client.syncData(id, e, true) });
      return;
    }
    const known = [...client.entities.keys()].sort();
    const id = known[op.entity % Math.max(1, known.length)];
    const local = id === undefined ? undefined : client.entities.get(id);
    if (id === undefined || !local) return;
    if (op.op === 'grab' && local.owner !== '' && local.owner !== client.id && local.lastOwnerTime < this.now) client.takeOwnership(id, local, this.now);
    if (op.op === 'update' && client.canSync(local)) {
      local.components[0] = op.value;
      client.outbox.push({ dataType: 'um', data: { d: [{ networkId: id, owner: local.owner, creator: local.creator, lastOwnerTime: local.lastOwnerTime, template: '#interactable-media', persistent: local.persistent, parent: null, components: { 0: op.value } }] } });
    }
    if (op.op === 'remove' && local.owner === client.id) {
      client.entities.delete(id);
      client.removedHere.add(id);
      client.outbox.push({ dataType: 'r', data: { networkId: id } });
    }
  }

  /** Delivers everything still in flight, including what delivery itself causes. */
  drain(): void {
    for (let round = 0; round < 1000; round++) {
      const busy = this.clients.filter((c) => c.outbox.length > 0 || c.inbox.length > 0);
      if (busy.length === 0) return;
      this.now++;
      for (const c of busy) {
        while (c.outbox.length > 0) this.serve(c);
        while (c.inbox.length > 0) c.readNext(this.now);
      }
    }
    throw new Error('did not quiesce');
  }
}

describe('arbitration model (property)', () => {
  it('converges every client on the server table and drops only what all clients reject', () => {
    let totalDropped = 0;
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,4}$/), { minLength: 2, maxLength: 5 }), fc.integer({ min: 1, max: 6 }), fc.array(opArb(), { minLength: 20, maxLength: 250 }), (ids, m, ops) => {
        const world = new World(m);
        for (const id of ids) world.join(id);
        for (const op of ops) world.act(op);
        world.drain();
        totalDropped += world.dropped;

        const serverIds = [...world.table.values()].map((e) => e.networkId).sort();
        for (const client of world.clients) {
          expect([...client.entities.keys()].sort(), `entities at ${client.id}`).toEqual(serverIds);
          for (const entity of world.table.values()) {
            const local = client.entities.get(entity.networkId)!;
            expect(local.owner, `owner of ${entity.networkId} at ${client.id}`).toBe(entity.owner);
            expect(local.components, `state of ${entity.networkId} at ${client.id}`).toEqual(entity.components);
          }
        }
      }),
      { numRuns: Number(process.env['HUBMESH_PROPERTY_RUNS'] ?? 300), seed: Number(process.env['HUBMESH_PROPERTY_SEED'] ?? 424242) },
    );
    // The interleavings must exercise the dropping path, or the second half of the property says nothing.
    expect(totalDropped).toBeGreaterThan(0);
  });
});
