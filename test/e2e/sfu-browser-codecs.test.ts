/**
 * Video codecs and simulcast through the SFU in Debian's Chromium, all on
 * 127.0.0.1, with the SFU test page (mediasoup-client and protoo-client):
 *
 * - H.264: A produces its fake camera with the device's H264 codec (the
 *   router's 42e01f, packetization-mode 1); B receives H264 and decodes it.
 * - Simulcast as the Hubs client sends its camera (its getUserMedia
 *   constraints, and three encodings, scale 4, 2 and 1 at 500 kbps, 1 Mbps
 *   and 5 Mbps; reticulum-parity 7.6): B decodes the largest layer A sends.
 *   When A stops its upper layers (as libwebrtc does when bandwidth or CPU
 *   runs short; here with setMaxSpatialLayer) B gets the lowest within
 *   seconds, and the top one again when A restores them. Chromium sends only
 *   the layers its resolution allows: two for a 720-wide camera.
 * - Bandwidth: the SFU tells a sending browser, with a REMB, the bitrate it
 *   may use, and the browser's estimate rises to it.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import type { ConsumerState, PageState, ProducerState } from '../fixtures/sfu-page/api.js';
import { accountMaker, api, createHubAs } from '../support/accounts.js';
import { launchChromium, needsChromium } from '../support/browser.js';
import { wsBase } from '../support/clients.js';
import { startTestNode } from '../support/node.js';
import { enterHub, serveSfuPage, SfuPage, type HubMember as Member } from '../support/sfu-page.js';
import { eventually } from '../support/wait.js';

/** ICE, DTLS and the first key frame through a JS media engine on a busy 2-core machine. */
const MEDIA_TIMEOUT_MS = 12_000;
/** HUBMESH_SFU_MAX_INCOMING_BITRATE of the test node. */
const REMB_BITRATE = 2_500_000;
/** Connecting and a REMB or two, well short of the ~11 s the estimate takes to get there alone. */
const REMB_TIMEOUT_MS = 8000;
/** Decoded frames that show video flowing, not just a first key frame (the fake camera runs at 15 fps). */
const MIN_FRAMES = 10;
/** The Hubs client's camera (hub.js, action_share_camera). */
const HUBS_CAMERA = { width: { max: 1280, ideal: 720 }, frameRate: 30 } as const;
/** The forwarded stream stops after 1.5 s without packets; then a key frame of the next one. */
const LAYER_SWITCH_TIMEOUT_MS = 6000;
/** The Hubs client's camera encodings (naf-dialog-adapter.js). */
const HUBS_CAMERA_ENCODINGS = [
  { scaleResolutionDownBy: 4, maxBitrate: 500_000 },
  { scaleResolutionDownBy: 2, maxBitrate: 1_000_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 5_000_000 },
] as const;

const videoFrom = (state: PageState, peerId: string): ConsumerState | undefined => state.consumers.find((c) => c.peerId === peerId && c.kind === 'video' && !c.closed);
const videoProducer = (state: PageState): ProducerState | undefined => state.producers.find((p) => p.kind === 'video');
const describeOutbound = (p: ProducerState | undefined) =>
  (p?.outbound ?? []).map((o) => `${o.rid ?? '-'} ${o.codec ?? '?'} ${o.frameWidth}x${o.frameHeight} ${o.framesEncoded} frames (${o.encoderImplementation ?? '?'}, ${o.qualityLimitationReason ?? '?'})`).join('; ');

/** The width A sends its lowest encoding at, or its top one (the highest encoding sending frames); 0 if none. */
function layerWidth(producer: ProducerState | undefined, layer: 'top' | 'lowest'): number {
  const rids = producer?.rids ?? [];
  const sending = (producer?.outbound ?? []).filter((o) => o.framesEncoded > 0 && o.frameWidth > 0 && o.rid !== null).sort((x, y) => rids.indexOf(x.rid!) - rids.indexOf(y.rid!));
  const o = layer === 'lowest' ? sending.find((x) => x.rid === rids[0]) : sending.at(-1);
  return o?.frameWidth ?? 0;
}

if (needsChromium()) {
  describe('SFU video codecs and simulcast in Chromium', async () => {
    const store = new MemoryStore();
    const [pageServer, browser, node] = await Promise.all([
      serveSfuPage({ scope: 'file' }),
      launchChromium({ scope: 'file' }),
      startTestNode({ scope: 'file', adapters: { store }, env: { HUBMESH_SFU_MAX_INCOMING_BITRATE: String(REMB_BITRATE) } }),
    ]);
    const owner = await (await accountMaker(node, store))({ email: 'owner@example.org' });
    const sfuUrl = `${wsBase(node)}/sfu`;

    /** A room where guests may talk and show their camera, with A and B joined to its SFU. */
    async function twoPeers() {
      const { sid } = await createHubAs(node, owner.token, { name: 'Codec Room' });
      const patched = await api(node, 'PATCH', `/api/v1/hubs/${sid}`, {
        token: owner.token,
        body: { hub: { member_permissions: { voice_chat: true, spawn_camera: true, spawn_and_move_media: true } } },
      });
      expect(patched.status).toBe(200);
      const [a, b] = await Promise.all(['A', 'B'].map(async (name) => {
        const member = await enterHub(node, sid, name);
        const page = await SfuPage.open(browser, pageServer);
        await page.connect(sfuUrl, sid, member.sessionId);
        expect(await page.join(member.permsToken)).toMatchObject({ ok: true });
        return { member, page };
      })) as [{ member: Member; page: SfuPage }, { member: Member; page: SfuPage }];
      return { a, b };
    }

    const expectCleanPages = async (...pages: SfuPage[]) => {
      for (const page of pages) {
        expect(page.tab.errors).toEqual([]);
        expect((await page.state()).errors).toEqual([]);
      }
      expect(browser.offLoopback).toEqual([]);
    };

    it('sends A\'s camera as H.264 and B decodes it', async ({ annotate }) => {
      const { a, b } = await twoPeers();
      // The router offers H264 42e01f packetization-mode 1: the device has it only if Chromium can send and receive it.
      const h264 = (await a.page.deviceCodecs()).filter((c) => c.mimeType.toLowerCase() === 'video/h264');
      expect(h264).toEqual([expect.objectContaining({ parameters: expect.objectContaining({ 'packetization-mode': 1, 'profile-level-id': '42e01f' }) })]);

      const produced = await a.page.produce({ videoCodec: 'video/H264' });
      const state = await eventually(() => b.page.state(), (s) => (videoFrom(s, a.member.sessionId)?.framesDecoded ?? 0) >= MIN_FRAMES, MEDIA_TIMEOUT_MS, 'decoded H264 frames from A');
      const video = videoFrom(state, a.member.sessionId)!;
      expect(video.producerId).toBe(produced.video);
      expect(video.codec).toBe('video/H264');
      expect(video.frameWidth).toBe(320);
      const sent = videoProducer(await a.page.state());
      expect(sent?.codec).toBe('video/H264');
      expect(sent?.outbound.map((o) => o.codec)).toEqual(['video/H264']);
      await annotate(`A sends ${describeOutbound(sent)}; B decoded ${video.framesDecoded} frames of ${video.codec} at ${video.frameWidth}x${video.frameHeight}`);
      await expectCleanPages(a.page, b.page);
    });

    it('forwards A\'s simulcast camera, sent as the Hubs client sends it, to B: the top layer A sends, the lowest when A drops the others, the top again when A restores them', async ({ annotate }) => {
      const { a, b } = await twoPeers();
      const produced = await a.page.produce({ encodings: HUBS_CAMERA_ENCODINGS, camera: HUBS_CAMERA });
      /** B decodes MIN_FRAMES frames of A's camera at the width A now sends `layer` at; a timeout says what B and A had. */
      const decodes = async (layer: 'top' | 'lowest', what: string) => {
        let base: number | undefined;
        const [bState, aState] = await eventually(
          () => Promise.all([b.page.state(), a.page.state()]),
          ([bs, as]) => {
            const v = videoFrom(bs, a.member.sessionId);
            if (v === undefined || v.frameWidth === 0 || v.frameWidth !== layerWidth(videoProducer(as), layer)) return false;
            base ??= v.framesDecoded;
            return v.framesDecoded >= base + MIN_FRAMES;
          },
          LAYER_SWITCH_TIMEOUT_MS,
          what,
        ).catch(async (error: unknown) => {
          const v = videoFrom(await b.page.state(), a.member.sessionId);
          throw new Error(`${(error as Error).message.split(';')[0]}: B decoded ${v?.framesDecoded ?? 0} frames, the last at ${v?.frameWidth ?? 0}x${v?.frameHeight ?? 0}; A sends ${describeOutbound(videoProducer(await a.page.state()))}`);
        });
        return { video: videoFrom(bState, a.member.sessionId)!, sent: videoProducer(aState)!, estimate: aState.sendBitrateEstimate };
      };

      // libwebrtc sends the layers it has bandwidth and resolution for: the SFU forwards the largest.
      const first = await decodes('top', 'frames of A\'s top layer');
      expect(first.video.producerId).toBe(produced.video);
      expect(first.sent.rids).toHaveLength(3);
      expect(first.video.frameWidth).toBeGreaterThan(layerWidth(first.sent, 'lowest'));
      await annotate(`A sends ${describeOutbound(first.sent)} (its bandwidth estimate ${first.estimate ?? '?'} bit/s); B decodes ${first.video.frameWidth}x${first.video.frameHeight}`);

      await a.page.setMaxSpatialLayer(0);
      let at = Date.now();
      const low = await decodes('lowest', 'frames of A\'s lowest layer once A dropped the others');
      await annotate(`A sends its lowest layer only: B decodes ${low.video.frameWidth}x${low.video.frameHeight} ${Date.now() - at} ms on`);

      await a.page.setMaxSpatialLayer(2);
      at = Date.now();
      const back = await decodes('top', 'frames of A\'s top layer once A restored it');
      expect(back.video.frameWidth).toBeGreaterThan(low.video.frameWidth);
      await annotate(`A sends its layers again: B decodes ${back.video.frameWidth}x${back.video.frameHeight} ${Date.now() - at} ms on (${back.video.keyFramesDecoded} key frames decoded in all)`);
      await expectCleanPages(a.page, b.page);
    });

    it('tells A, sending video, that it may use the configured bitrate (REMB), so its estimate does not creep up from the start bitrate', async ({ annotate }) => {
      const { a } = await twoPeers();
      await a.page.produce({});
      // Without feedback libwebrtc starts from 1 Mbit/s here and rises by about 8% a second (2 Mbit/s after some 10 s,
      // 95% of REMB_BITRATE after 11); the REMB lifts it there within a second or two of connecting.
      const at = Date.now();
      const state = await eventually(() => a.page.state(), (s) => (s.sendBitrateEstimate ?? 0) >= REMB_BITRATE * 0.95, REMB_TIMEOUT_MS, `A's send estimate to reach 95% of ${REMB_BITRATE} bit/s`);
      await annotate(`A's send estimate ${state.sendBitrateEstimate} bit/s after ${Date.now() - at} ms`);
      await expectCleanPages(a.page);
    });
  });
}
