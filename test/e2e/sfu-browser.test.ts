/**
 * Voice and video end to end (issue 7), all on 127.0.0.1: pages of the SFU
 * test page (mediasoup-client and protoo-client, as the Hubs client uses
 * them) in Debian's Chromium, against a node's SFU at `/sfu`. Each peer first
 * joins the hub channel with phoenix.js for its session id and perms token,
 * as the Hubs client does.
 *
 * A produces its fake microphone and camera; B (joined before) and C (joined
 * after) consume them, hear audio energy and decode video frames. A kick of
 * A over the moderation API ends their consumers within 2 s. Peers with a bad
 * token are refused at join and get no consumers.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import type { ConsumerState, PageState } from '../fixtures/sfu-page/api.js';
import { accountMaker, api, createHubAs } from '../support/accounts.js';
import { launchChromium, needsChromium, resultPath } from '../support/browser.js';
import { wsBase } from '../support/clients.js';
import { startTestNode } from '../support/node.js';
import { enterHub, serveSfuPage, SfuPage, type HubMember as Member } from '../support/sfu-page.js';
import { eventually, waitFor } from '../support/wait.js';

/** The acceptance bound from a kick to the end of the kicked peer's consumers elsewhere. */
const KICK_BOUND_MS = 2000;
/** ICE, DTLS, the first key frame and some audio through a JS media engine on a busy 2-core machine. */
const MEDIA_TIMEOUT_MS = 15_000;
/** Decoded frames that show video flowing, not just a first key frame (the fake camera runs at 15 fps). */
const MIN_FRAMES = 10;

const consumersOf = (state: PageState, peerId: string) => state.consumers.filter((c) => c.peerId === peerId);
const kinds = (consumers: readonly ConsumerState[]) => consumers.map((c) => c.kind).sort();

/** Both of `peerId`'s tracks are live, with audio energy and a stream of decoded video frames. */
function hasMediaFrom(state: PageState, peerId: string): boolean {
  const live = consumersOf(state, peerId).filter((c) => !c.closed);
  return (
    live.length === 2 &&
    live.some((c) => c.kind === 'audio' && c.totalAudioEnergy > 0) &&
    live.some((c) => c.kind === 'video' && c.framesDecoded >= MIN_FRAMES)
  );
}

/** The signature's first character changed: every one of its bits counts. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  return `${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
}

if (needsChromium()) {
  describe('SFU with mediasoup-client in Chromium', async () => {
    const store = new MemoryStore();
    const [pageServer, browser, node] = await Promise.all([
      serveSfuPage({ scope: 'file' }),
      launchChromium({ scope: 'file' }),
      startTestNode({ scope: 'file', adapters: { store } }),
    ]);
    const owner = await (await accountMaker(node, store))({ email: 'owner@example.org' });
    const sfuUrl = `${wsBase(node)}/sfu`;

    /** A room where guests may talk and show their camera. */
    async function mediaRoom(): Promise<string> {
      const { sid } = await createHubAs(node, owner.token, { name: 'Media Room' });
      const patched = await api(node, 'PATCH', `/api/v1/hubs/${sid}`, {
        token: owner.token,
        body: { hub: { member_permissions: { voice_chat: true, spawn_camera: true, spawn_and_move_media: true } } },
      });
      expect(patched.status).toBe(200);
      return sid;
    }

    /** A page connected to the room's SFU as `member`, joined with `token` (its own by default). */
    async function sfuPeer(sid: string, member: Member, token = member.permsToken) {
      const page = await SfuPage.open(browser, pageServer);
      await page.connect(sfuUrl, sid, member.sessionId);
      return { page, joined: await page.join(token) };
    }

    /** No console errors or handler failures in the pages, and nothing left 127.0.0.1. */
    const expectCleanPages = async (...pages: SfuPage[]) => {
      for (const page of pages) {
        expect(page.tab.errors).toEqual([]);
        expect((await page.state()).errors).toEqual([]);
      }
      expect(browser.offLoopback).toEqual([]);
    };

    it('sends A\'s microphone and camera to B and C, and a kick of A ends their consumers within 2 s', async ({ annotate }) => {
      const sid = await mediaRoom();
      const [a, b, c] = await Promise.all(['A', 'B', 'C'].map((name) => enterHub(node, sid, name))) as [Member, Member, Member];

      // B joins before A produces (consumers made on produce), C after (consumers made on join).
      const [peerA, peerB] = await Promise.all([sfuPeer(sid, a), sfuPeer(sid, b)]);
      expect(peerA.joined).toMatchObject({ ok: true });
      expect(peerB.joined).toMatchObject({ ok: true });
      const produced = await peerA.page.produce();
      const peerC = await sfuPeer(sid, c);
      expect(peerC.joined).toMatchObject({ ok: true });

      for (const [name, page] of [['B', peerB.page], ['C', peerC.page]] as const) {
        const state = await eventually(() => page.state(), (s) => hasMediaFrom(s, a.sessionId), MEDIA_TIMEOUT_MS, 'audio energy and decoded frames from A');
        const fromA = consumersOf(state, a.sessionId);
        expect(kinds(fromA)).toEqual(['audio', 'video']);
        const audio = fromA.find((x) => x.kind === 'audio')!;
        const video = fromA.find((x) => x.kind === 'video')!;
        expect(audio.producerId).toBe(produced.audio);
        expect(video.producerId).toBe(produced.video);
        await annotate(`${name} from A: audio energy ${audio.totalAudioEnergy.toPrecision(3)} (${audio.packetsReceived} packets), ${video.framesDecoded} video frames decoded`);
      }
      // A consumes nothing: nobody else produces.
      expect((await peerA.page.state()).consumers).toEqual([]);
      await peerB.page.tab.page.screenshot({ path: await resultPath('sfu-browser-b.png') });

      const kickedAt = Date.now();
      const kicked = await api(node, 'POST', `/api/v1/hubs/${sid}/kick`, { token: owner.token, body: { session_id: a.sessionId } });
      expect(kicked.status).toBe(200);
      const ended = await Promise.all(
        [peerB.page, peerC.page].map((page) =>
          eventually(
            () => page.state(),
            (s) => consumersOf(s, a.sessionId).every((x) => x.closed),
            Math.max(0, kickedAt + KICK_BOUND_MS - Date.now()),
            'A\'s consumers to end',
          ),
        ),
      );
      const delays = ended.map((s) => Math.max(...consumersOf(s, a.sessionId).map((x) => x.closedAt! - kickedAt)));
      await annotate(`kick to the end of A's consumers: B ${delays[0]} ms, C ${delays[1]} ms (by ${ended.flatMap((s) => consumersOf(s, a.sessionId).map((x) => x.closedBy)).join(', ')})`);
      for (const delay of delays) expect(delay).toBeLessThanOrEqual(KICK_BOUND_MS);
      // A is out of the SFU too, and B and C stay in.
      await waitFor(() => a.socket.isConnected() === false, 5000, 'A\'s hub socket to close');
      await eventually(() => peerA.page.state(), (s) => !s.connected, 5000, 'A\'s signaling to close');
      for (const page of [peerB.page, peerC.page]) expect((await page.state()).connected).toBe(true);
      await expectCleanPages(peerA.page, peerB.page, peerC.page);
    });

    it('refuses peers with a bad token at join; they get no consumers', async ({ annotate }) => {
      const sid = await mediaRoom();
      const otherSid = await mediaRoom();
      const [a, b, c, d, f, e] = (await Promise.all(['A', 'B', 'C', 'D', 'F'].map((name) => enterHub(node, sid, name)).concat(enterHub(node, otherSid, 'E')))) as [Member, Member, Member, Member, Member, Member];
      const peerA = await sfuPeer(sid, a);
      expect(peerA.joined).toMatchObject({ ok: true });
      const produced = await peerA.page.produce();

      const refused = await Promise.all([
        sfuPeer(sid, b, tamper(b.permsToken)),
        // A token binds its session: D's token does not admit C.
        sfuPeer(sid, c, d.permsToken),
        // A token binds its room: E's, for another room, does not admit E here.
        sfuPeer(sid, e),
        sfuPeer(sid, f, 'not-a-token'),
      ]);
      for (const { joined } of refused) {
        expect(joined).toEqual({ ok: false, code: expect.anything(), reason: expect.any(String) });
      }
      await annotate(`refused: ${refused.map(({ joined }) => (joined.ok ? 'admitted' : `${String(joined.code)} ${joined.reason}`)).join('; ')}`);
      // A refused peer may not produce either.
      await expect(refused[0]!.page.produce()).rejects.toThrow();

      // D joins with its own token: once its consumers of A arrive, any consumer made for a refused peer would have too.
      const peerD = await sfuPeer(sid, d);
      expect(peerD.joined).toMatchObject({ ok: true });
      const state = await eventually(() => peerD.page.state(), (s) => consumersOf(s, a.sessionId).length === 2, MEDIA_TIMEOUT_MS, 'D\'s consumers of A');
      expect(consumersOf(state, a.sessionId).map((x) => x.producerId).sort()).toEqual([produced.audio, produced.video].sort());
      const refusedIds = [b.sessionId, c.sessionId, e.sessionId, f.sessionId];
      for (const { page } of refused) {
        const s = await page.state();
        expect({ joined: s.joined, newConsumerRequests: s.newConsumerRequests, consumers: s.consumers }).toEqual({ joined: false, newConsumerRequests: 0, consumers: [] });
      }
      // Nobody was told of a refused peer.
      for (const page of [peerA.page, peerD.page]) {
        const told = (await page.state()).notifications.filter((n) => n.method === 'newPeer').map((n) => (n.data as { id: string }).id);
        expect(told.filter((id) => refusedIds.includes(id))).toEqual([]);
      }
      await expectCleanPages(peerA.page, peerD.page, ...refused.map(({ page }) => page));
    });
  });
}
