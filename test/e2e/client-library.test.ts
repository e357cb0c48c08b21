/**
 * The client library (src/client) against a real node, in Node with `ws` as
 * its transport: joining and the people list, NAF and chat between two
 * clients, join refusals with their reasons, the states a kick and a
 * closed room leave a client in, and signing in and out on the channel.
 */
import { onTestFinished, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { CloseCode } from '../../src/protocol/frames.js';
import { HubClient } from '../../src/client/hub-client.js';
import { JoinRefused, type ClientState, type JoinResult, type NafMessage } from '../../src/client/types.js';
import { accountMaker, api, createHubAs } from '../support/accounts.js';
import { createHub, startTestNode } from '../support/node.js';
import { waitFor } from '../support/wait.js';

interface Joined {
  readonly client: HubClient;
  readonly session: JoinResult;
  readonly states: ClientState['kind'][];
}

describe('the hub client library', async () => {
  const store = new MemoryStore();
  const node = await startTestNode({ scope: 'file', adapters: { store } });
  const makeAccount = await accountMaker(node, store);

  async function connected(): Promise<{ client: HubClient; states: ClientState['kind'][] }> {
    const client = new HubClient();
    onTestFinished(() => client.disconnect());
    const states: ClientState['kind'][] = [];
    client.on('state', (s) => void states.push(s.kind));
    await client.connect({ url: node.url, transport: WebSocket });
    return { client, states };
  }

  async function enter(sid: string, name: string, authToken?: string): Promise<Joined> {
    const { client, states } = await connected();
    const session = await client.join(sid, { profile: { displayName: name, avatarId: 'avatar-1' }, ...(authToken === undefined ? {} : { authToken }) });
    return { client, session, states };
  }

  async function refusal(sid: string): Promise<{ err: unknown; states: ClientState['kind'][] }> {
    const { client, states } = await connected();
    const err = await client.join(sid, { profile: { displayName: 'late' } }).then(
      () => null,
      (e: unknown) => e,
    );
    return { err, states };
  }

  const names = (c: HubClient) => c.people.map((p) => p.profile['displayName']).sort();

  it('joins two clients that see each other in the people list', async () => {
    const sid = await createHub(node, 'People');
    const alice = await enter(sid, 'alice');
    const bob = await enter(sid, 'bob');
    expect(alice.session).toMatchObject({ sessionId: expect.any(String), permsToken: expect.any(String), hub: { hubId: sid, entryMode: 'allow' } });
    expect(alice.session.hub).toHaveProperty('host');
    expect(alice.session.hub).toHaveProperty('port');
    await waitFor(() => names(alice.client).length === 2 && names(bob.client).length === 2, 5000, 'both in both lists');
    expect(names(alice.client)).toEqual(['alice', 'bob']);
    const bobSeen = alice.client.people.find((p) => p.sessionId === bob.session.sessionId);
    expect(bobSeen).toMatchObject({ presence: 'lobby', roles: { owner: false, creator: false, signed_in: false }, permissions: { text_chat: true } });
    expect(alice.client.can('text_chat')).toBe(true);
    expect(alice.client.can('kick_users')).toBe(false);
    expect(alice.states).toEqual(['connecting', 'connecting', 'joined']);
  });

  it('relays NAF first syncs, updates and removals to the other client', async () => {
    const sid = await createHub(node, 'Naf');
    const alice = await enter(sid, 'alice');
    const bob = await enter(sid, 'bob');
    const atAlice: NafMessage[] = [];
    const atBob: NafMessage[] = [];
    alice.client.onNaf((m) => void atAlice.push(m));
    bob.client.onNaf((m) => void atBob.push(m));

    const from = alice.session.sessionId;
    const firstSync = { networkId: 'n1', owner: 'x', creator: 'x', lastOwnerTime: 1, template: '#remote-avatar', persistent: false, parent: null, isFirstSync: true, components: { 0: [1, 2, 3] } };
    const update = { networkId: 'n1', owner: from, creator: from, lastOwnerTime: 1, template: '#remote-avatar', persistent: false, parent: null, components: { 0: [4, 5, 6] } };
    alice.client.sendNaf('u', firstSync);
    alice.client.sendNaf('u', { ...update, isFirstSync: false });
    alice.client.sendNaf('r', { networkId: 'n1' });
    await waitFor(() => atBob.length === 3, 5000, 'three naf messages at bob');
    expect(atBob).toEqual([
      // The server makes the sender owner and creator of what it instantiates.
      { dataType: 'u', data: { ...firstSync, owner: from, creator: from }, fromSessionId: from },
      // Sent as nafr, without the isFirstSync key.
      { dataType: 'u', data: update, fromSessionId: from },
      { dataType: 'r', data: { networkId: 'n1' }, fromSessionId: from },
    ]);
    // The sender hears nothing of its own but the removal of a live entity (src/core/arbiter.ts).
    await waitFor(() => atAlice.length === 1, 5000, 'the removal echo at alice');
    expect(atAlice).toEqual([{ dataType: 'r', data: { networkId: 'n1' }, fromSessionId: from }]);
  });

  it('sends chat both ways, to everyone including the sender', async () => {
    const sid = await createHub(node, 'Chat');
    const alice = await enter(sid, 'alice');
    const bob = await enter(sid, 'bob');
    const heard = (c: HubClient) => {
      const bodies: string[] = [];
      c.onChat((m) => void bodies.push(`${m.sessionId === alice.session.sessionId ? 'alice' : 'bob'}: ${m.body}`));
      return bodies;
    };
    const atAlice = heard(alice.client);
    const atBob = heard(bob.client);
    alice.client.sendChat('hi bob');
    await waitFor(() => atBob.length === 1 && atAlice.length === 1, 5000, 'the first chat');
    bob.client.sendChat('hi alice');
    await waitFor(() => atBob.length === 2 && atAlice.length === 2, 5000, 'the reply');
    expect(atAlice).toEqual(['alice: hi bob', 'bob: hi alice']);
    expect(atBob).toEqual(atAlice);
  });

  it('refuses a full room with room_full and an unknown one with not_found', async () => {
    const sid = await createHub(node, 'Small', { room_size: 1 });
    await enter(sid, 'first');
    const full = await refusal(sid);
    expect(full.err).toBeInstanceOf(JoinRefused);
    expect(full.err).toMatchObject({ reason: 'room_full', message: 'Room is full (1 people)' });
    expect(full.states).toEqual(['connecting', 'connecting', 'refused']);

    const unknown = await refusal('nosuchroom');
    expect(unknown.err).toMatchObject({ name: 'JoinRefused', reason: 'not_found' });
  });

  it('moves a client the owner kicks to kicked, and the others see it leave', async () => {
    const owner = await makeAccount({ email: 'kicker@example.org' });
    const { sid } = await createHubAs(node, owner.token, { name: 'Kick' });
    const mod = await enter(sid, 'mod', owner.token);
    const bob = await enter(sid, 'bob');
    await waitFor(() => mod.client.people.length === 2, 5000, 'bob at mod');
    expect(mod.client.can('kick_users')).toBe(true);

    await mod.client.kick(bob.session.sessionId);
    await waitFor(() => bob.client.state.kind === 'kicked', 5000, 'bob kicked');
    await waitFor(() => mod.client.people.length === 1, 5000, 'bob gone at mod');
    expect(bob.states).toEqual(['connecting', 'connecting', 'joined', 'kicked']);
    expect(mod.client.state.kind).toBe('joined');
  });

  it('moves a client a ban puts out to banned, told apart from a kick by the close', async () => {
    const owner = await makeAccount({ email: 'banner@example.org' });
    const { sid } = await createHubAs(node, owner.token, { name: 'Ban' });
    const bob = await enter(sid, 'bob');
    const banned = await api(node, 'POST', `/api/v1/hubs/${sid}/bans`, { token: owner.token, body: { session_id: bob.session.sessionId } });
    expect(banned.status).toBe(201);
    await waitFor(() => bob.client.state.kind === 'banned', 5000, 'bob banned');
    expect(bob.states).toEqual(['connecting', 'connecting', 'joined', 'banned']);
  });

  it('refuses a kick from a member without kick_users', async () => {
    const sid = await createHub(node, 'NoKick');
    const alice = await enter(sid, 'alice');
    const bob = await enter(sid, 'bob');
    await expect(alice.client.kick(bob.session.sessionId)).rejects.toMatchObject({ name: 'ActionRefused', reason: 'unauthorized' });
  });

  it('moves everyone to closed when the owner closes the room, and later joins are refused with closed', async () => {
    const owner = await makeAccount({ email: 'closer@example.org' });
    const { sid } = await createHubAs(node, owner.token, { name: 'Closing' });
    const mod = await enter(sid, 'mod', owner.token);
    const alice = await enter(sid, 'alice');
    await mod.client.closeHub();
    for (const m of [mod, alice]) await waitFor(() => m.client.state.kind === 'closed', 5000, 'closed');
    expect(alice.states).toEqual(['connecting', 'connecting', 'joined', 'closed']);
    expect((await refusal(sid)).err).toMatchObject({ reason: 'closed' });
  });

  it('signs in on the channel, claiming the room with its creator assignment token, keeps the account across a reconnect, and signs out', async () => {
    const account = await makeAccount({ email: 'claimer@example.org' });
    const { sid, creatorAssignmentToken } = await createHubAs(node, undefined, { name: 'Claim' });
    const ada = await enter(sid, 'ada');
    const isCreator = () => ada.client.people.find((p) => p.sessionId === ada.session.sessionId)?.roles.creator === true;
    expect(ada.client.isSignedIn).toBe(false);
    expect(ada.client.can('close_hub')).toBe(false);

    await expect(ada.client.signIn('not-a-token')).rejects.toMatchObject({ name: 'ActionRefused', event: 'sign_in', reason: 'invalid_token' });
    expect(ada.client.isSignedIn).toBe(false);

    await ada.client.signIn(account.token, creatorAssignmentToken);
    await waitFor(isCreator, 5000, 'ada the creator in presence');
    expect(ada.client.isSignedIn).toBe(true);
    expect(ada.client.can('close_hub')).toBe(true);
    expect(ada.client.session?.permsToken).toBeTruthy();

    // A dropped connection: phoenix comes back with the same session and rejoins with the account.
    expect(node.sockets.disconnectSession(ada.session.sessionId, CloseCode.SERVER_SHUTDOWN, 'test')).toBe(1);
    await waitFor(() => ada.client.state.kind === 'reconnected', 5000, 'ada reconnected');
    expect(ada.client.session?.sessionId).toBe(ada.session.sessionId);
    await waitFor(() => ada.client.people.length === 1 && isCreator(), 5000, 'ada the creator after the rejoin');
    expect(ada.states).toEqual(['connecting', 'connecting', 'joined', 'reconnecting', 'reconnected']);

    await ada.client.signOut();
    await waitFor(() => !ada.client.isSignedIn, 5000, 'ada a guest in presence');
    expect(ada.client.can('close_hub')).toBe(false);
  });
});
