/**
 * NAF entities in the client library (src/client/entities.ts) between
 * clients on the official `phoenix` client, through a real node and its
 * server-side arbitration: first syncs reach the others, component updates
 * go out at the tick rate, a newcomer gets the state, ownership moves and
 * converges on one owner, and a leaver's entities go or are claimed as NAF
 * would have them.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { NafEntities, type NetworkedEntity } from '../../src/client/entities.js';
import { HubClient } from '../../src/client/hub-client.js';
import { createHub, startTestNode } from '../support/node.js';
import { waitFor } from '../support/wait.js';

const TIMEOUT_MS = 5000;

interface Member {
  readonly client: HubClient;
  readonly entities: NafEntities;
  readonly me: string;
  /** Every `um` and `u` this member received, by data type. */
  readonly received: Map<string, number>;
}

describe('NAF entities in the client library', async () => {
  // Guests may spawn `-media` templates only in permissive rooms.
  const node = await startTestNode({ scope: 'file', env: { HUBMESH_PERMISSIVE_ROOMS: 'true' } });

  async function enter(sid: string, name: string, opts: { readonly updateRateHz?: number } = {}): Promise<Member> {
    const client = new HubClient();
    const entities = new NafEntities(client, opts);
    onTestFinished(async () => {
      entities.close();
      await client.disconnect();
    });
    const received = new Map<string, number>();
    client.onNaf((m) => void received.set(m.dataType, (received.get(m.dataType) ?? 0) + 1));
    await client.connect({ url: node.url, transport: WebSocket });
    const session = await client.join(sid, { profile: { displayName: name } });
    return { client, entities, me: session.sessionId, received };
  }

  const inRoom = (members: readonly Member[]) => waitFor(() => members.every((m) => m.client.people.length === members.length), TIMEOUT_MS, 'everyone in everyone\'s people list');
  const seen = (m: Member, id: string): NetworkedEntity | undefined => m.entities.get(id);

  it('sends a first sync, then dirty components at the tick rate, to the others only', async () => {
    const sid = await createHub(node, 'Entities');
    const ada = await enter(sid, 'ada');
    const bob = await enter(sid, 'bob');
    await inRoom([ada, bob]);

    const cube = ada.entities.create('#hubmesh-cube-media', { '0': { x: 1, y: 0.25, z: 0 } });
    expect(cube.owner).toBe(ada.me);
    await waitFor(() => seen(bob, cube.networkId) !== undefined, TIMEOUT_MS, 'the cube at bob');
    expect(seen(bob, cube.networkId)).toMatchObject({ owner: ada.me, creator: ada.me, template: '#hubmesh-cube-media', components: { '0': { x: 1, y: 0.25, z: 0 } } });

    // Thirty changes within one tick go out as one update with the last value.
    const umBefore = bob.received.get('um') ?? 0;
    for (let i = 1; i <= 30; i++) ada.entities.set(cube.networkId, { '0': { x: 1 + i / 10, y: 0.25, z: 0 } });
    await waitFor(() => (seen(bob, cube.networkId)?.components['0'] as { x: number }).x === 4, TIMEOUT_MS, 'the last position at bob');
    expect((bob.received.get('um') ?? 0) - umBefore).toBeLessThanOrEqual(2);
    // Setting the same value again sends nothing.
    const umAfter = bob.received.get('um') ?? 0;
    ada.entities.set(cube.networkId, { '0': { x: 4, y: 0.25, z: 0 } });
    ada.entities.set(cube.networkId, { '1': { x: 0, y: 1, z: 0 } });
    await waitFor(() => seen(bob, cube.networkId)?.components['1'] !== undefined, TIMEOUT_MS, 'the rotation at bob');
    expect((bob.received.get('um') ?? 0) - umAfter).toBe(1);
    // Bob may not move Ada's cube without taking it.
    expect(bob.entities.set(cube.networkId, { '0': { x: 9, y: 0, z: 9 } })).toBe(false);
  });

  it('gives a newcomer the entities already in the room', async () => {
    const sid = await createHub(node, 'Late');
    const ada = await enter(sid, 'ada');
    const avatar = ada.entities.create('#hubmesh-avatar', { '0': { x: 3, y: 0, z: 0 } });
    ada.entities.set(avatar.networkId, { '0': { x: 2, y: 0, z: 1 } });
    const cat = await enter(sid, 'cat');
    // The server tells the newcomer what it knows at once; Ada's first sync to the newcomer brings the latest.
    await waitFor(() => (seen(cat, avatar.networkId)?.components['0'] as { x: number } | undefined)?.x === 2, TIMEOUT_MS, 'the latest avatar pose at the newcomer');
    expect(seen(cat, avatar.networkId)).toMatchObject({ owner: ada.me, creator: ada.me, components: { '0': { x: 2, y: 0, z: 1 } } });
  });

  it('moves ownership by a full update and converges on one owner when two claim at once', async () => {
    const sid = await createHub(node, 'Grab');
    const ada = await enter(sid, 'ada');
    const bob = await enter(sid, 'bob');
    const cat = await enter(sid, 'cat');
    const everyone = [ada, bob, cat];
    await inRoom(everyone);
    const cube = ada.entities.create('#hubmesh-cube-media', { '0': { x: 0, y: 0.25, z: 0 } });
    await waitFor(() => everyone.every((m) => seen(m, cube.networkId)), TIMEOUT_MS, 'the cube everywhere');

    const owners: string[] = [];
    ada.entities.on('owner', (e) => void owners.push(e.owner));
    expect(bob.entities.takeOwnership(cube.networkId)).toBe(true);
    bob.entities.set(cube.networkId, { '0': { x: 5, y: 0.25, z: 5 } });
    await waitFor(() => everyone.every((m) => seen(m, cube.networkId)?.owner === bob.me), TIMEOUT_MS, 'bob owns the cube everywhere');
    expect(owners).toEqual([bob.me]);
    await waitFor(() => everyone.every((m) => (seen(m, cube.networkId)?.components['0'] as { x: number }).x === 5), TIMEOUT_MS, 'bob moved it everywhere');
    // Ada no longer owns it: her updates are not hers to send.
    expect(ada.entities.set(cube.networkId, { '0': { x: -1, y: 0, z: 0 } })).toBe(false);

    // Ada and Cat claim in the same instant: everyone ends with the same owner.
    ada.entities.takeOwnership(cube.networkId);
    cat.entities.takeOwnership(cube.networkId);
    await waitFor(
      () => {
        const seenOwners = new Set(everyone.map((m) => seen(m, cube.networkId)?.owner));
        return seenOwners.size === 1 && !seenOwners.has(bob.me);
      },
      TIMEOUT_MS,
      'one owner everywhere',
    );
  });

  it('drops a leaver\'s entities, and has a persistent one claimed by those who stay', async () => {
    const sid = await createHub(node, 'Leave');
    const ada = await enter(sid, 'ada');
    const bob = await enter(sid, 'bob');
    await inRoom([ada, bob]);
    const avatar = ada.entities.create('#hubmesh-avatar', { '0': { x: 0, y: 0, z: 0 } });
    const kept = ada.entities.create('#hubmesh-cube-media', { '0': { x: 1, y: 0.25, z: 1 } }, { persistent: true });
    await waitFor(() => seen(bob, avatar.networkId) !== undefined && seen(bob, kept.networkId) !== undefined, TIMEOUT_MS, 'both at bob');
    const removed: string[] = [];
    bob.entities.on('removed', (e) => void removed.push(e.networkId));

    ada.entities.close();
    await ada.client.disconnect();
    await waitFor(() => seen(bob, avatar.networkId) === undefined, TIMEOUT_MS, 'the avatar gone at bob');
    expect(removed).toEqual([avatar.networkId]);
    await waitFor(() => seen(bob, kept.networkId)?.owner === bob.me, TIMEOUT_MS, 'bob claimed the persistent cube');
    expect(bob.entities.set(kept.networkId, { '0': { x: 2, y: 0.25, z: 2 } })).toBe(true);
  });
});
