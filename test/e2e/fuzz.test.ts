/**
 * A few thousand random and malformed frames from hostile sockets, while
 * three phoenix.js clients share the room. Afterwards the node is healthy,
 * no handler faulted, and the clients still see each other and relay.
 */
import fc from 'fast-check';
import { Presence } from 'phoenix';
import { describe, expect, it } from 'vitest';
import { join, nextOn, phxSocket, profile, RawClient } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { waitFor } from '../support/wait.js';

const FRAMES = Number(process.env['HUBMESH_FUZZ_FRAMES'] ?? 3000);
const FUZZERS = 4;
const EVENTS = ['phx_join', 'phx_leave', 'heartbeat', 'naf', 'nafr', 'message', 'events:entered', 'events:entering', 'events:profile_updated', 'events:raise_hand', 'pin', 'kick', 'update_hub'];

function frameArbitrary(sid: string): fc.Arbitrary<string | Uint8Array> {
  const ref = fc.oneof(fc.constant(null), fc.string({ maxLength: 8 }), fc.integer(), fc.constant('1'));
  const topic = fc.oneof(fc.constant(`hub:${sid}`), fc.constant('phoenix'), fc.constant('hub:'), fc.string({ maxLength: 20 }));
  const event = fc.oneof(fc.constantFrom(...EVENTS), fc.string({ maxLength: 20 }));
  const payload = fc.oneof(
    fc.object(),
    fc.anything(),
    fc.record({ profile: fc.oneof(fc.object(), fc.string()), context: fc.oneof(fc.object(), fc.constant(null)) }),
    fc.record({ dataType: fc.oneof(fc.constantFrom('u', 'um', 'r', 'nn'), fc.anything()), data: fc.anything() }),
    fc.record({ naf: fc.oneof(fc.string(), fc.json(), fc.constant('{"isFirstSync":'), fc.anything()) }),
    fc.record({ type: fc.oneof(fc.constantFrom('chat', 'photo'), fc.anything()), body: fc.anything() }),
  );
  const structured = fc.tuple(ref, ref, topic, event, payload).map((f) => JSON.stringify(f));
  return fc.oneof(
    { weight: 6, arbitrary: structured },
    { weight: 1, arbitrary: fc.json() },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.tuple(fc.anything(), fc.anything(), fc.anything(), fc.anything(), fc.anything()).map((t) => JSON.stringify(t)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  );
}

describe('fuzzing the socket', () => {
  it('survives random and malformed frames, and every other client still works', async () => {
    const node = await startTestNode({ env: { HUBMESH_RATE_PER_SEC: '100000', HUBMESH_RATE_BURST: '100000' } });
    const sid = await createHub(node, 'Fuzz Room', { room_size: 50 });
    const clients = await Promise.all(
      ['alice', 'bob', 'carol'].map(async (name) => {
        const socket = phxSocket(node);
        const channel = socket.channel(`hub:${sid}`, profile(name));
        const presence = new Presence(channel);
        const reply = await join(channel);
        return { socket, channel, presence, sessionId: reply['session_id'] as string };
      }),
    );

    const frames = fc.sample(frameArbitrary(sid), { numRuns: FRAMES, seed: 20261121 });
    // Each fuzzer joins the room first, so its random events reach the joined-channel paths too.
    const openFuzzer = async () => {
      const f = await RawClient.open(node);
      f.send(['1', 'j', `hub:${sid}`, 'phx_join', profile('fuzzer')]);
      await f.reply('j');
      return f;
    };
    let reopened = 0;
    let closedBy: Record<number, number> = {};
    const fuzzers = await Promise.all(Array.from({ length: FUZZERS }, openFuzzer));
    for (let i = 0; i < frames.length; i++) {
      const slot = i % FUZZERS;
      const fuzzer = fuzzers[slot]!;
      fuzzer.ws.send(frames[i]!);
      // A heartbeat after every frame: the frame was handled once its answer or the close arrives.
      fuzzer.send([null, `hb${i}`, 'phoenix', 'heartbeat', {}]);
      const outcome = await Promise.race([fuzzer.reply(`hb${i}`).then(() => null), fuzzer.closed]);
      fuzzer.frames.length = 0;
      if (outcome) {
        closedBy = { ...closedBy, [outcome.code]: (closedBy[outcome.code] ?? 0) + 1 };
        fuzzers[slot] = await openFuzzer();
        reopened++;
      }
    }
    for (const f of fuzzers) f.ws.close();

    expect(node.metrics.get('ws_frames_in_total')).toBeGreaterThanOrEqual(FRAMES);
    expect(Object.keys(closedBy).map(Number).every((code) => [1003, 1007].includes(code))).toBe(true);
    expect((await node.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect(node.metrics.get('hub_item_faults_total', { type: 'hub/event' })).toBe(0);
    expect(node.metrics.get('hub_item_faults_total', { type: 'hub/join' })).toBe(0);
    expect(node.metrics.get('hub_crashes_total')).toBe(0);
    expect(reopened).toBeGreaterThan(0);

    const [a, b, c] = clients as [(typeof clients)[0], (typeof clients)[0], (typeof clients)[0]];
    for (const client of clients) expect(client.channel.state).toBe('joined');
    const ids = clients.map((x) => x.sessionId).sort();
    await waitFor(() => JSON.stringify(a.presence.list((id) => id).filter((id) => ids.includes(id!)).sort()) === JSON.stringify(ids), 5000, 'presence intact');

    const gotNaf = nextOn(b.channel, 'nafr');
    a.channel.push('nafr', { naf: '{"dataType":"um","data":{"d":[]}}' });
    expect(await gotNaf).toEqual({ naf: '{"dataType":"um","data":{"d":[]}}', from_session_id: a.sessionId });
    const gotChat = nextOn(a.channel, 'message');
    c.channel.push('message', { type: 'chat', body: 'still here' });
    expect(await gotChat).toEqual({ type: 'chat', body: 'still here', session_id: c.sessionId });
  });
});
