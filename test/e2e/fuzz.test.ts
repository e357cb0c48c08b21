/**
 * Fuzzing the Phoenix socket: hostile sockets send every inbound event of
 * `hub:<sid>`, `ret` and `phoenix`, with payloads drawn from the events'
 * schemas and broken, plus frames that are not Phoenix at all, while three
 * official phoenix.js clients share the room. Each frame gets its reply or a
 * close code (socket-fuzzer.ts says how that is judged); afterwards the node
 * has logged no error and faulted nowhere, and the clients still see exactly
 * each other in presence and relay to each other.
 *
 * Short mode by default; `npm run fuzz` runs the long mode (fuzz-run.ts).
 */
import { Presence } from 'phoenix';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { accountMaker, api } from '../support/accounts.js';
import { disconnectAll, join, nextOn, phxSocket, profile, wsBase } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { waitFor } from '../support/wait.js';
import { fuzzPlan, fuzzTimeoutMs, runCases } from '../fuzz/fuzz-run.js';
import { faultLogger, nodeFaults } from '../fuzz/node-faults.js';
import { socketFrames } from '../fuzz/socket-frames.js';
import { SocketFuzzer } from '../fuzz/socket-fuzzer.js';

const plan = fuzzPlan('socket', 4000, 20261121);
/** Guest sockets fuzzing the shared room at once; the last speaks the V1 wire format. */
const FUZZERS = 3;

async function member(node: { url: string }, sid: string, name: string) {
  const socket = phxSocket(node);
  const channel = socket.channel(`hub:${sid}`, profile(name));
  const presence = new Presence(channel);
  const closes: unknown[] = [];
  socket.onClose((e: unknown) => void closes.push((e as { code?: unknown }).code));
  const reply = await join(channel);
  return { socket, channel, presence, closes, sessionId: reply['session_id'] as string };
}

describe('fuzzing the socket', () => {
  it(
    'answers or closes on every hostile frame, faults nowhere, and the other clients keep working',
    async () => {
      const { logger, errors } = faultLogger();
      const store = new MemoryStore();
      const node = await startTestNode({ env: { HUBMESH_RATE_PER_SEC: '1000000', HUBMESH_RATE_BURST: '1000000' }, adapters: { store, logger } });
      const makeAccount = await accountMaker(node, store);
      const sid = await createHub(node, 'Fuzz Room', { room_size: 50 });
      const ownedSid = await createHub(node, 'Owned Room', { room_size: 50 });
      const [owner, admin] = await Promise.all([makeAccount({ ownerOf: [ownedSid] }), makeAccount({ isAdmin: true })]);
      const clients = await Promise.all(['alice', 'bob', 'carol'].map((name) => member(node, sid, name)));
      const ids = { sessionIds: clients.map((c) => c.sessionId), hubSids: [sid, ownedSid] };

      const base = wsBase(node);
      const guests = Array.from({ length: FUZZERS }, (_, n) => SocketFuzzer.open({ base, vsn: n === FUZZERS - 1 ? 1 : 2, roomTopic: `hub:${sid}`, joinParams: profile(`fuzzer${n}`) }));
      // One more fuzzer owns a room of its own, so the moderation, room and pin events run past their permission checks there.
      const reopen = { entry_mode: 'allow', room_size: 50 };
      const heal = async () => void (await api(node, 'PATCH', `/api/v1/hubs/${ownedSid}`, { token: admin.token, body: { hub: reopen } }));
      const moderator = SocketFuzzer.open({ base, vsn: 2, roomTopic: `hub:${ownedSid}`, joinParams: { ...profile('owner'), auth_token: owner.token }, heal });
      const fuzzers = await Promise.all([...guests, moderator]);
      await runCases(fuzzers, socketFrames(ids), plan, errors);
      await Promise.all(fuzzers.map((f) => f.close()));

      expect(fuzzers.flatMap((f) => f.problems)).toEqual([]);
      expect(await nodeFaults(node, errors)).toEqual([]);

      const [a, b, c] = clients as [(typeof clients)[0], (typeof clients)[0], (typeof clients)[0]];
      // Never disconnected (phoenix.js would reconnect and rejoin, hiding it): no kick reached them from the other room.
      expect(clients.map((x) => x.closes)).toEqual([[], [], []]);
      for (const client of clients) expect(client.channel.state).toBe('joined');
      const names = (list: { metas: { profile: { displayName: string } }[] }[]) => list.map((e) => e.metas[0]!.profile.displayName).sort();
      for (const client of clients) {
        await waitFor(() => JSON.stringify(names(client.presence.list((_id, entry) => entry))) === '["alice","bob","carol"]', 10_000, 'presence of exactly the three clients');
      }
      const gotNaf = nextOn(b.channel, 'nafr');
      a.channel.push('nafr', { naf: '{"dataType":"um","data":{"d":[]}}' });
      expect(await gotNaf).toEqual({ naf: '{"dataType":"um","data":{"d":[]}}', from_session_id: a.sessionId });
      const gotChat = nextOn(a.channel, 'message');
      c.channel.push('message', { type: 'chat', body: 'still here' });
      expect(await gotChat).toEqual({ type: 'chat', body: 'still here', session_id: c.sessionId });
      await disconnectAll(clients.map((x) => x.socket));
    },
    fuzzTimeoutMs(plan, 150),
  );
});
