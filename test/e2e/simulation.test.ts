/**
 * Server-side simulation (src/sim, actors/hub/sims.ts) with official
 * `phoenix` clients: a room enables simulations in its settings; the server
 * owns what they move, as `reticulum`, and broadcasts it like a client's
 * NAF messages; an NPC walks while nobody is in the room and a newcomer finds
 * it where it got to; a simulation that throws is restarted while the room
 * goes on relaying; snapshots let a new home resume.
 */
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MemoryBusNetwork } from '../../src/adapters/memory-bus.js';
import { MemoryLeaseBoard } from '../../src/adapters/memory-leases.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { SystemClock } from '../../src/adapters/system-clock.js';
import { SERVER_OWNER } from '../../src/sim/simulation.js';
import { accountMaker, api, createHubAs } from '../support/accounts.js';
import { join, joinMember, phxSocket, profile, pushReply } from '../support/clients.js';
import { createHub, sharedStore, startTestNode } from '../support/node.js';
import { waitFor } from '../support/wait.js';

const TIMEOUT_MS = 8000;
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

type Got = Record<string, unknown>[];

interface Entry {
  readonly networkId: string;
  readonly owner: string;
  readonly lastOwnerTime: number;
  readonly template?: string;
  readonly isFirstSync?: boolean;
  readonly components: Record<string, { x: number; y: number; z: number } | undefined>;
}

/** Every NAF entry the member received from the server owner, in order, with when it arrived. */
function serverEntries(got: Got): { entry: Entry; dataType: string }[] {
  const out: { entry: Entry; dataType: string }[] = [];
  for (const m of got) {
    if (m['event'] !== 'naf' || m['from_session_id'] !== SERVER_OWNER) continue;
    const data = m['data'] as Record<string, unknown>;
    const entries = m['dataType'] === 'um' ? (data['d'] as Entry[]) : [data as unknown as Entry];
    for (const entry of entries) out.push({ entry, dataType: m['dataType'] as string });
  }
  return out;
}

/** Resolves once the async `predicate` holds, checking again every few milliseconds; rejects after the timeout. */
async function until(predicate: () => Promise<boolean>, what: string, timeoutMs = TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const positionOf = (got: Got, networkId: string) => serverEntries(got).filter((e) => e.entry.networkId === networkId && e.entry.components['0']).at(-1)?.entry.components['0'];

describe('server-side simulation', async () => {
  const store = new MemoryStore();
  const node = await startTestNode({
    scope: 'file',
    adapters: { store },
    // Guests may spawn `-media` objects only in permissive rooms.
    env: {
      HUBMESH_SIM_SNAPSHOT_MS: '200',
      HUBMESH_SIM_MODULES: `${joinPath(FIXTURES, 'sim-flaky.mjs')},${joinPath(FIXTURES, 'sim-slow.mjs')}`,
      HUBMESH_ROOM_IDLE_MS: '60000',
      HUBMESH_PERMISSIVE_ROOMS: 'true',
    },
  });
  const makeAccount = await accountMaker(node, store);

  /** Joins as the room's owner, signed in, recording what arrives. */
  async function joinOwner(sid: string, token: string) {
    const socket = phxSocket(node);
    const channel = socket.channel(`hub:${sid}`, { ...profile('owner'), auth_token: token });
    const got: Got = [];
    for (const event of ['naf', 'nafr']) channel.on(event, (p: Record<string, unknown>) => void got.push({ event, ...p }));
    await join(channel);
    return { channel, got };
  }

  it('throws an object handed to physics: it falls at the tick rate, comes to rest and goes quiet; a grab takes it back', async () => {
    const sid = await createHub(node, 'Throw', { user_data: { hubmesh_simulations: ['physics'] } });
    const ada = await joinMember(node, sid, 'ada');
    const bob = await joinMember(node, sid, 'bob');
    const arrivals: { at: number; entry: Entry }[] = [];
    bob.channel.on('naf', (m: Record<string, unknown>) => {
      if (m['from_session_id'] === SERVER_OWNER) for (const { entry } of serverEntries([{ event: 'naf', ...m }])) arrivals.push({ at: performance.now(), entry });
    });
    const cube = (owner: string, t: number, components: Record<string, unknown>, isFirstSync = false) => ({
      dataType: 'u',
      data: { networkId: 'cube1', owner, creator: ada.sessionId, lastOwnerTime: t, template: '#hubmesh-cube-media', persistent: false, parent: null, components, isFirstSync },
    });
    ada.channel.push('naf', cube(ada.sessionId, Date.now(), { 0: { x: 0, y: 1, z: 0 } }, true));
    await waitFor(() => bob.got.some((m) => m['event'] === 'naf' && (m['data'] as Entry).networkId === 'cube1'), TIMEOUT_MS, 'the cube at bob');

    // Ada throws it: a full update that hands it to the server, with its velocity.
    const handedAt = Date.now();
    ada.channel.push('naf', cube(SERVER_OWNER, handedAt, { 0: { x: 0, y: 3, z: 0 }, 1: { x: 0, y: 0, z: 0 }, 3: { x: 2, y: 0, z: 0 } }));
    await waitFor(() => arrivals.length > 5, TIMEOUT_MS, 'the server moving the cube');
    expect(arrivals.every((a) => a.entry.networkId === 'cube1' && a.entry.owner === SERVER_OWNER)).toBe(true);
    // It comes to rest on the floor (a 0.5 m cube: its centre at 0.25 m), and the updates stop.
    await waitFor(() => arrivals.length > 0 && performance.now() - arrivals.at(-1)!.at > 700, 15_000, 'the updates to stop');
    const rest = arrivals.at(-1)!.entry.components['0']!;
    expect(rest.y).toBeGreaterThan(0.2);
    expect(rest.y).toBeLessThan(0.3);
    expect(rest.x).toBeGreaterThan(0.5);
    const heights = arrivals.map((a) => a.entry.components['0']!.y);
    expect(Math.max(...heights)).toBeLessThanOrEqual(3);
    // The falling part, at about 30 updates a second.
    const moving = arrivals.filter((a) => a.entry.components['0']!.y > 0.3);
    const rate = (moving.length - 1) / ((moving.at(-1)!.at - moving[0]!.at) / 1000);
    expect(rate).toBeGreaterThan(15);
    expect(rate).toBeLessThan(45);

    // Ada picks it up and throws it again; Bob grabs it in flight: the server yields, and Bob's moves reach Ada.
    const restedAt = Math.max(...arrivals.map((a) => a.entry.lastOwnerTime));
    ada.channel.push('naf', cube(ada.sessionId, Math.max(Date.now(), restedAt + 1), {}));
    ada.channel.push('naf', cube(SERVER_OWNER, Math.max(Date.now(), restedAt + 2), { 0: { x: 0, y: 6, z: 0 }, 3: { x: 0, y: 4, z: 0 } }));
    const before = arrivals.length;
    await waitFor(() => arrivals.length > before + 3, TIMEOUT_MS, 'the server moving it again');
    const serverTime = Math.max(...arrivals.map((a) => a.entry.lastOwnerTime));
    bob.channel.push('naf', cube(bob.sessionId, Math.max(Date.now(), serverTime + 1), { 0: { x: 1, y: 2, z: 1 } }));
    bob.channel.push('nafr', { naf: JSON.stringify({ dataType: 'um', data: { d: [{ networkId: 'cube1', owner: bob.sessionId, creator: ada.sessionId, lastOwnerTime: Math.max(Date.now(), serverTime + 1), template: '#hubmesh-cube-media', persistent: false, parent: null, components: { 0: { x: 1.5, y: 2, z: 1 } } }] } }) });
    await waitFor(() => ada.got.some((m) => m['event'] === 'nafr' && String(m['naf']).includes('1.5')), TIMEOUT_MS, "bob's move at ada");
    const afterGrab = arrivals.length;
    await waitFor(() => performance.now() - (arrivals.at(-1)?.at ?? 0) > 500, TIMEOUT_MS, 'the server to stop');
    expect(arrivals.length - afterGrab).toBeLessThanOrEqual(2);
  });

  it('walks a server-owned NPC at its tick rate, on while the room is empty, where a newcomer finds it', async () => {
    const sid = await createHub(node, 'Wander', { user_data: { hubmesh_simulations: ['wanderer'] } });
    const ada = await joinMember(node, sid, 'ada');
    await waitFor(() => serverEntries(ada.got).length >= 12, TIMEOUT_MS, 'the wanderer at ada');
    const [first] = serverEntries(ada.got);
    expect(first!.entry).toMatchObject({ owner: SERVER_OWNER, template: '#hubmesh-avatar', isFirstSync: true });
    const npc = first!.entry.networkId;
    // About ten updates a second, each one step on.
    const updates = ada.got.filter((m) => m['dataType'] === 'um' && m['from_session_id'] === SERVER_OWNER);
    expect(updates.length).toBeGreaterThanOrEqual(10);
    const seenByAda = positionOf(ada.got, npc)!;

    // Ada leaves; the NPC walks on in the empty room, as its snapshots in the store show.
    ada.socket.disconnect();
    await waitFor(() => node.registry.counts(sid).memberCount === 0, TIMEOUT_MS, 'ada gone');
    await until(async () => {
      const w = (await store.listSimStates(sid)).find((s) => s.name === 'wanderer')?.state as { x: number; z: number } | undefined;
      return w !== undefined && Math.hypot(w.x - seenByAda.x, w.z - seenByAda.z) > 0.5;
    }, 'the wanderer to walk on alone');

    // A newcomer gets it at once, where it is now, and sees it go on walking.
    const bob = await joinMember(node, sid, 'bob');
    await waitFor(() => serverEntries(bob.got).some((e) => e.entry.networkId === npc), TIMEOUT_MS, 'the wanderer at bob');
    const found = serverEntries(bob.got).find((e) => e.entry.networkId === npc)!.entry.components['0']!;
    expect(Math.hypot(found.x - seenByAda.x, found.z - seenByAda.z)).toBeGreaterThan(0.5);
    const count = serverEntries(bob.got).length;
    await waitFor(() => serverEntries(bob.got).length > count + 3, TIMEOUT_MS, 'more steps at bob');
    const later = positionOf(bob.got, npc)!;
    expect(Math.hypot(later.x - found.x, later.z - found.z)).toBeGreaterThan(0);
  });

  it('restarts a simulation that throws, with back-off, while the room keeps relaying', async () => {
    const sid = await createHub(node, 'Flaky', { user_data: { hubmesh_simulations: ['flaky'] } });
    const ada = await joinMember(node, sid, 'ada');
    const bob = await joinMember(node, sid, 'bob');
    // The fixture throws on its third tick, every time it starts: it is started again and again.
    await waitFor(() => serverEntries(ada.got).filter((e) => e.entry.isFirstSync === true).length >= 2, TIMEOUT_MS, 'a restart');
    // Meanwhile the room relays chat and NAF between its members as ever.
    ada.channel.push('message', { type: 'chat', body: 'still here?' });
    await waitFor(() => bob.got.some((m) => m['event'] === 'message' && m['body'] === 'still here?'), TIMEOUT_MS, 'chat at bob');
    ada.channel.push('nafr', { naf: JSON.stringify({ dataType: 'u', data: { networkId: 'ball1', owner: ada.sessionId, creator: ada.sessionId, lastOwnerTime: 1, template: '#x-avatar', persistent: false, parent: null, components: {}, isFirstSync: true } }) });
    await waitFor(() => bob.got.some((m) => m['event'] === 'naf' && (m['data'] as Record<string, unknown>)['networkId'] === 'ball1'), TIMEOUT_MS, 'naf at bob');
  });

  it('resumes a simulation on the new home from its last snapshot when the home moves', async () => {
    const shared = new MemoryStore();
    const network = new MemoryBusNetwork();
    const board = new MemoryLeaseBoard(new SystemClock(), 1000);
    const env = { HUBMESH_SIM_SNAPSHOT_MS: '200', HUBMESH_LEASE_TTL_MS: '1000' };
    const start = () => startTestNode({ env, adapters: { store: sharedStore(shared), bus: network.connect(), leases: board.leases() } });
    const [home, other] = [await start(), await start()];
    const sid = await createHub(home, 'Moving', { user_data: { hubmesh_simulations: ['wanderer'] } });
    // The first node to hold the room is its home and runs the wanderer; the second follows it over the bus.
    const ada = await joinMember(home, sid, 'ada');
    await waitFor(() => serverEntries(ada.got).length > 3, TIMEOUT_MS, 'the wanderer at ada');
    const npc = serverEntries(ada.got)[0]!.entry.networkId;
    const bob = await joinMember(other, sid, 'bob');
    await waitFor(() => serverEntries(bob.got).filter((e) => e.entry.networkId === npc).length > 3, TIMEOUT_MS, 'the wanderer at bob, from the home');

    // The home goes away: it saves the snapshot and lets the lease go; the other node takes the room and the wanderer walks on from there.
    await home.close();
    const lastFromOldHome = positionOf(bob.got, npc)!;
    const count = bob.got.length;
    await waitFor(() => bob.got.slice(count).filter((m) => m['from_session_id'] === SERVER_OWNER).length > 5, TIMEOUT_MS, 'the wanderer moving again at bob');
    const resumed = serverEntries(bob.got.slice(count)).filter((e) => e.entry.networkId === npc);
    expect(resumed.length).toBeGreaterThan(5);
    // The same NPC, resumed near where it was (a snapshot is at most 200 ms old; it walks 1.2 m/s), not started anew.
    const firstResumed = resumed.find((e) => e.entry.components['0'])!.entry.components['0']!;
    expect(Math.hypot(firstResumed.x - lastFromOldHome.x, firstResumed.z - lastFromOldHome.z)).toBeLessThan(1.5);
    expect(serverEntries(bob.got.slice(count)).every((e) => e.entry.networkId === npc)).toBe(true);
  });

  it('refuses simulations the server does not offer, on creation, update_hub and PATCH', async () => {
    const created = await api(node, 'POST', '/api/v1/hubs', { body: { hub: { name: 'Nope', user_data: { hubmesh_simulations: ['nope'] } } } });
    expect(created.status).toBe(422);
    expect(JSON.stringify(created.body)).toContain('this server offers no simulation \\"nope\\" (it offers: flaky, physics, slow, wanderer)');
    const owner = await makeAccount({ email: 'sim-owner@example.org' });
    const { sid } = await createHubAs(node, owner.token, { name: 'Settings' });
    const patched = await api(node, 'PATCH', `/api/v1/hubs/${sid}`, { token: owner.token, body: { hub: { user_data: { hubmesh_simulations: 'wanderer' } } } });
    expect(patched.status).toBe(422);
    const { channel } = await joinOwner(sid, owner.token);
    const refused = await pushReply(channel, 'update_hub', { member_permissions: {}, user_data: { hubmesh_simulations: ['physics', 'nope'] } });
    expect(refused).toMatchObject({ status: 'error', response: { reason: 'bad_request', message: expect.stringContaining('no simulation "nope"') } });
  });

  it('starts and stops simulations as the room settings change, removing what they made', async () => {
    const owner = await makeAccount({ email: 'sim-toggler@example.org' });
    const { sid } = await createHubAs(node, owner.token, { name: 'Toggle' });
    const { channel, got } = await joinOwner(sid, owner.token);
    // Reticulum's update_hub always carries member_permissions.
    expect(await pushReply(channel, 'update_hub', { member_permissions: {}, user_data: { hubmesh_simulations: ['wanderer'] } })).toMatchObject({ status: 'ok' });
    await waitFor(() => serverEntries(got).length > 3, TIMEOUT_MS, 'the wanderer once enabled');
    const npc = serverEntries(got)[0]!.entry.networkId;
    await until(async () => (await store.listSimStates(sid)).length === 1, 'its first snapshot');

    // Turned off through the HTTP API: the NPC leaves the room and its snapshot goes.
    const off = await api(node, 'PATCH', `/api/v1/hubs/${sid}`, { token: owner.token, body: { hub: { user_data: {} } } });
    expect(off.status).toBe(200);
    await waitFor(() => got.some((m) => m['dataType'] === 'r' && (m['data'] as Entry).networkId === npc), TIMEOUT_MS, 'the wanderer removed');
    await until(async () => (await store.listSimStates(sid)).length === 0, 'its snapshot deleted');
  });

  it('skips the ticks a slow simulation cannot keep up with, and counts them', async () => {
    const sid = await createHub(node, 'Slow', { user_data: { hubmesh_simulations: ['slow'] } });
    const ada = await joinMember(node, sid, 'ada');
    const bob = await joinMember(node, sid, 'bob');
    const skipped = () => node.metrics.get('sim_ticks_skipped_total', { simulation: 'slow' });
    await waitFor(() => skipped() > 10, TIMEOUT_MS, 'skipped ticks');
    // At 40 ms a tick and 50 ticks due a second, each firing runs one tick, over the budget, and skips the rest; the room still relays.
    expect(node.metrics.get('sim_over_budget_total', { simulation: 'slow' })).toBeGreaterThan(0);
    ada.channel.push('message', { type: 'chat', body: 'slow but alive' });
    await waitFor(() => bob.got.some((m) => m['body'] === 'slow but alive'), TIMEOUT_MS, 'chat at bob');
    // Turned off, it stops burning the CPU of the other tests.
    const hub = await store.updateHub(sid, { userData: {} });
    node.registry.command(sid, { op: 'hub', hub: hub!, stale: ['user_data'], by: null });
  });
});
