/**
 * Fuzzing the SFU's protoo signaling: hostile peers, each a member of the
 * room on the relay with a real join token, send requests of every method
 * with data drawn from sfu/schemas.ts and broken, plus notifications, stray
 * responses and frames that are not protoo, while two well-behaved peers on
 * the official protoo-client share the room. Each request gets a response
 * or a close code (protoo-fuzzer.ts says how that is judged); afterwards the
 * node has logged no error, and the two peers are still in the room and
 * still get each other's new producers.
 *
 * Short mode by default; `npm run fuzz` runs the long mode (fuzz-run.ts).
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { FakeMedia } from '../../sfu/fake-media.js';
import { joinHub, wsBase } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { SfuClient } from '../support/sfu-client.js';
import { fuzzPlan, fuzzTimeoutMs, runCases } from '../fuzz/fuzz-run.js';
import { faultLogger, nodeFaults } from '../fuzz/node-faults.js';
import { protooFrames } from '../fuzz/protoo-frames.js';
import { ProtooFuzzer } from '../fuzz/protoo-fuzzer.js';

const plan = fuzzPlan('protoo', 3000, 20261122);
const FUZZERS = 3;

describe('fuzzing the SFU signaling', () => {
  it(
    'answers or closes on every hostile message, faults nowhere, and the other peers keep working',
    async () => {
      const { logger, errors } = faultLogger();
      const node = await startTestNode({ env: { HUBMESH_PERMISSIVE_ROOMS: 'true' }, adapters: { store: new MemoryStore(), media: new FakeMedia(), logger } });
      const sid = await createHub(node, 'Fuzz Voice', { room_size: 50 });
      const peers = await Promise.all(
        ['alice', 'bob'].map(async (name) => {
          const { sessionId, permsToken } = await joinHub(node, sid, name);
          const client = await SfuClient.connect(node, sid, sessionId);
          const transports = await client.transports();
          expect((await client.join(permsToken)).ok).toBe(true);
          return { sessionId, client, ...transports };
        }),
      );
      const [alice, bob] = peers as [(typeof peers)[0], (typeof peers)[0]];
      await bob.client.waitOffer(await alice.client.produceId(alice.send, 'audio'));

      const members = await Promise.all(Array.from({ length: FUZZERS }, (_, n) => joinHub(node, sid, `fuzzer${n}`)));
      const peerIds = [alice.sessionId, bob.sessionId, ...members.map((m) => m.sessionId)];
      const tokens = members.map((m) => m.permsToken);
      const fuzzers = await Promise.all(members.map((m) => ProtooFuzzer.open(`${wsBase(node)}/sfu?${new URLSearchParams({ roomId: sid, peerId: m.sessionId })}`, m.permsToken)));

      await runCases(fuzzers, protooFrames(peerIds, tokens), plan, errors);
      await Promise.all(fuzzers.map((f) => f.close()));

      expect(await nodeFaults(node, errors)).toEqual([]);
      expect(alice.client.isClosed || bob.client.isClosed).toBe(false);
      const room = node.sfu!.room(sid)!;
      expect([...room.peers.keys()].sort()).toEqual([alice.sessionId, bob.sessionId].sort());
      // Still working both ways: a new producer of each reaches the other.
      await alice.client.waitOffer(await bob.client.produceId(bob.send, 'audio'));
      await bob.client.waitOffer(await alice.client.produceId(alice.send, 'video'));
    },
    fuzzTimeoutMs(plan, 100),
  );
});
