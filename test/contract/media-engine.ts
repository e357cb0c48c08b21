/**
 * The MediaEngine port's contract (src/ports/media-engine.ts), run against
 * every engine: the lifecycle sentences of the port's doc comment, with
 * parameters shaped as mediasoup-client sends them. Media that really flows
 * is checked for engines that move packets, with headless clients, in
 * test/integration/sfu-wrtc.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import type { CloseReason, MediaEngine, MediaRouter, RtpCapabilities, RtpParameters } from '../../src/ports/media-engine.js';

/** What mediasoup-client sends to produce a microphone (Chromium's Opus). */
export function opusParameters(ssrc: number, mid = '0'): RtpParameters {
  return {
    mid,
    codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { minptime: 10, useinbandfec: 1 }, rtcpFeedback: [{ type: 'transport-cc' }] }],
    headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 4 }, { uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 1 }],
    encodings: [{ ssrc, dtx: false }],
    rtcp: { cname: 'contract', reducedSize: true },
  };
}

export function vp8Parameters(ssrc: number, mid = '1'): RtpParameters {
  return {
    mid,
    codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] }],
    headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 4 }],
    encodings: [{ ssrc }],
    rtcp: { cname: 'contract', reducedSize: true },
  };
}

/** A receiving device's capabilities (a subset of Chromium's). */
export const deviceCapabilities: RtpCapabilities = {
  codecs: [
    { kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: 100, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [{ type: 'nack' }] },
    { kind: 'video', mimeType: 'video/VP8', preferredPayloadType: 101, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] },
  ],
  headerExtensions: [],
};

const closeReasons = () => {
  const seen: string[] = [];
  return { seen, track: (label: string) => (reason: CloseReason) => seen.push(`${label}:${reason}`) };
};

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
}

/** `makeEngine()` returns a fresh engine; the caller's teardown closes it. */
export function mediaEngineContract(name: string, makeEngine: () => Promise<MediaEngine>, opts: { announcedIp: string }): void {
  describe(`MediaEngine contract: ${name}`, () => {
    const routerOf = async (): Promise<[MediaEngine, MediaRouter]> => {
      const engine = await makeEngine();
      return [engine, await engine.createRouter()];
    };

    it('offers Opus and VP8 with the MID extension, in mediasoup capability shape', async () => {
      const [, router] = await routerOf();
      const codecs = router.rtpCapabilities.codecs ?? [];
      expect(codecs.map((c) => c.mimeType.toLowerCase())).toEqual(expect.arrayContaining(['audio/opus', 'video/vp8']));
      for (const c of codecs) expect(c).toMatchObject({ kind: expect.stringMatching(/^(audio|video)$/), preferredPayloadType: expect.any(Number), clockRate: expect.any(Number) });
      expect(router.rtpCapabilities.headerExtensions?.some((h) => h.uri === 'urn:ietf:params:rtp-hdrext:sdes:mid')).toBe(true);
    });

    it('creates ICE-lite transports with host candidates on the announced address and DTLS fingerprints', async () => {
      const [, router] = await routerOf();
      const t = await router.createWebRtcTransport({ producing: true, consuming: false });
      expect(t.iceParameters).toMatchObject({ usernameFragment: expect.any(String), password: expect.any(String), iceLite: true });
      expect(t.iceCandidates.length).toBeGreaterThan(0);
      for (const c of t.iceCandidates) expect(c).toMatchObject({ address: opts.announcedIp, protocol: 'udp', type: 'host', port: expect.any(Number) });
      expect(t.dtlsParameters.fingerprints.some((f) => f.algorithm === 'sha-256' && /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/i.test(f.value))).toBe(true);
      const other = await router.createWebRtcTransport({ producing: false, consuming: true });
      expect(other.id).not.toBe(t.id);
      expect(other.iceParameters.usernameFragment).not.toBe(t.iceParameters.usernameFragment);
    });

    it('rejects malformed DTLS parameters with TypeError, and a second connect with BAD_REQUEST', async () => {
      const [, router] = await routerOf();
      const t = await router.createWebRtcTransport({ producing: true, consuming: false });
      await expect(t.connect({ dtlsParameters: { fingerprints: [] } })).rejects.toBeInstanceOf(TypeError);
      await expect(t.connect({} as never)).rejects.toBeInstanceOf(TypeError);
      const dtlsParameters = { role: 'client' as const, fingerprints: [{ algorithm: 'sha-256', value: 'AA:'.repeat(31) + 'AA' }] };
      await t.connect({ dtlsParameters });
      await rejectsWith(t.connect({ dtlsParameters }), 'BAD_REQUEST');
    });

    it('produces what the router supports and refuses the rest', async () => {
      const [, router] = await routerOf();
      const t = await router.createWebRtcTransport({ producing: true, consuming: false });
      const p = await t.produce({ kind: 'audio', rtpParameters: opusParameters(1111) });
      expect(p).toMatchObject({ kind: 'audio', paused: false, closed: false });
      await rejectsWith(t.produce({ kind: 'video', rtpParameters: opusParameters(2222, '5') }), 'BAD_REQUEST');
      const h265 = { ...vp8Parameters(3333, '6'), codecs: [{ mimeType: 'video/H265', payloadType: 98, clockRate: 90000 }] };
      await rejectsWith(t.produce({ kind: 'video', rtpParameters: h265 }), 'BAD_REQUEST');
      await rejectsWith(t.produce({ kind: 'audio', rtpParameters: opusParameters(1111, '7') }), 'BAD_REQUEST');
      await expect(t.produce({ kind: 'audio', rtpParameters: { codecs: [] } })).rejects.toBeInstanceOf(TypeError);
      await expect(t.produce({ kind: 'smell' as never, rtpParameters: opusParameters(4444, '8') })).rejects.toBeInstanceOf(TypeError);
    });

    it('gives each consumer its own SSRC and the router payload type', async () => {
      const [, router] = await routerOf();
      const send = await router.createWebRtcTransport({ producing: true, consuming: false });
      const recv = await router.createWebRtcTransport({ producing: false, consuming: true });
      const p = await send.produce({ kind: 'audio', rtpParameters: opusParameters(5555) });
      const a = await recv.consume({ producerId: p.id, rtpCapabilities: deviceCapabilities, paused: true });
      const b = await recv.consume({ producerId: p.id, rtpCapabilities: deviceCapabilities });
      expect(a).toMatchObject({ producerId: p.id, kind: 'audio', type: 'simple', paused: true, producerPaused: false });
      expect(b.paused).toBe(false);
      const ssrcs = [a, b].map((c) => c.rtpParameters.encodings?.[0]?.ssrc);
      expect(new Set([...ssrcs, 5555]).size).toBe(3);
      const routerOpus = router.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === 'audio/opus');
      expect(a.rtpParameters.codecs[0]).toMatchObject({ mimeType: expect.stringMatching(/^audio\/opus$/i), payloadType: routerOpus?.preferredPayloadType, clockRate: 48000 });
      await rejectsWith(recv.consume({ producerId: 'no-such-producer', rtpCapabilities: deviceCapabilities }), 'BAD_REQUEST');
      await rejectsWith(recv.consume({ producerId: p.id, rtpCapabilities: { codecs: [deviceCapabilities.codecs![1]!] } }), 'BAD_REQUEST');
    });

    it('gives each consumer of a transport its own mid, never reusing one after a close', async () => {
      const [, router] = await routerOf();
      const send = await router.createWebRtcTransport({ producing: true, consuming: false });
      const recv = await router.createWebRtcTransport({ producing: false, consuming: true });
      const p = await send.produce({ kind: 'audio', rtpParameters: opusParameters(5556) });
      const a = await recv.consume({ producerId: p.id, rtpCapabilities: deviceCapabilities });
      const b = await recv.consume({ producerId: p.id, rtpCapabilities: deviceCapabilities });
      a.close();
      const c = await recv.consume({ producerId: p.id, rtpCapabilities: deviceCapabilities });
      const mids = [a, b, c].map((x) => x.rtpParameters.mid);
      expect(mids.every((m) => typeof m === 'string' && m !== '')).toBe(true);
      expect(new Set(mids).size).toBe(3);
    });

    it('tells consumers when their producer pauses and resumes', async () => {
      const [, router] = await routerOf();
      const send = await router.createWebRtcTransport({ producing: true, consuming: false });
      const recv = await router.createWebRtcTransport({ producing: false, consuming: true });
      const p = await send.produce({ kind: 'video', rtpParameters: vp8Parameters(6666) });
      const c = await recv.consume({ producerId: p.id, rtpCapabilities: deviceCapabilities });
      const events: string[] = [];
      c.on('producerpause', () => events.push('pause'));
      c.on('producerresume', () => events.push('resume'));
      await p.pause();
      expect([p.paused, c.producerPaused]).toEqual([true, true]);
      await p.pause();
      await p.resume();
      expect([p.paused, c.producerPaused]).toEqual([false, false]);
      expect(events).toEqual(['pause', 'resume']);
      const late = await recv.consume({ producerId: (await send.produce({ kind: 'audio', rtpParameters: opusParameters(6667, '2'), paused: true })).id, rtpCapabilities: deviceCapabilities });
      expect(late.producerPaused).toBe(true);
      await c.pause();
      expect(c.paused).toBe(true);
      await c.resume();
      await c.requestKeyFrame();
      expect(await c.getStats()).toMatchObject({ packetsSent: 0, bytesSent: 0 });
      expect(await p.getStats()).toMatchObject({ packetsReceived: 0, packetsLost: 0 });
    });

    it('cascades close down with the reason, once, and refuses calls after close', async () => {
      const [engine, router] = await routerOf();
      const send = await router.createWebRtcTransport({ producing: true, consuming: false });
      const recv = await router.createWebRtcTransport({ producing: false, consuming: true });
      const { seen, track } = closeReasons();
      const mic = await send.produce({ kind: 'audio', rtpParameters: opusParameters(7777) });
      const cam = await send.produce({ kind: 'video', rtpParameters: vp8Parameters(7778) });
      const micC = await recv.consume({ producerId: mic.id, rtpCapabilities: deviceCapabilities });
      const camC = await recv.consume({ producerId: cam.id, rtpCapabilities: deviceCapabilities });
      mic.on('close', track('mic'));
      cam.on('close', track('cam'));
      micC.on('close', track('micC'));
      camC.on('close', track('camC'));
      send.on('close', track('send'));
      recv.on('close', track('recv'));
      router.on('close', track('router'));
      expect(await engine.stats()).toEqual({ routers: 1, transports: 2, producers: 2, consumers: 2 });

      await mic.close();
      await mic.close();
      expect(seen).toEqual(['micC:producerclose', 'mic:closed']);
      expect(micC.closed).toBe(true);
      await rejectsWith(mic.pause(), 'CLOSED');
      await rejectsWith(micC.resume(), 'CLOSED');
      await rejectsWith(recv.consume({ producerId: mic.id, rtpCapabilities: deviceCapabilities }), 'BAD_REQUEST');

      await send.close();
      expect(seen.slice(2).sort()).toEqual(['cam:transportclose', 'camC:producerclose', 'send:closed']);
      await rejectsWith(send.produce({ kind: 'audio', rtpParameters: opusParameters(7779) }), 'CLOSED');
      await rejectsWith(send.getStats(), 'CLOSED');

      await router.close();
      expect(seen.slice(5)).toEqual(['recv:routerclose', 'router:closed']);
      await rejectsWith(router.createWebRtcTransport({ producing: true, consuming: true }), 'CLOSED');
      expect(await engine.stats()).toEqual({ routers: 0, transports: 0, producers: 0, consumers: 0 });
    });

    it('closes every router when the engine closes, and creates none after', async () => {
      const engine = await makeEngine();
      const routers = [await engine.createRouter(), await engine.createRouter()];
      const t = await routers[0]!.createWebRtcTransport({ producing: true, consuming: true });
      const { seen, track } = closeReasons();
      t.on('close', track('t'));
      await engine.close();
      await engine.close();
      expect(routers.every((r) => r.closed)).toBe(true);
      expect(seen).toEqual(['t:routerclose']);
      await rejectsWith(engine.createRouter(), 'CLOSED');
    });

    it('keeps delivering to other listeners when one throws', async () => {
      const [, router] = await routerOf();
      const t = await router.createWebRtcTransport({ producing: true, consuming: false });
      const p = await t.produce({ kind: 'audio', rtpParameters: opusParameters(8888) });
      const { seen, track } = closeReasons();
      p.on('close', () => {
        throw new Error('listener bug');
      });
      p.on('close', track('p'));
      const off = p.on('close', track('removed'));
      off();
      await p.close();
      expect(seen).toEqual(['p:closed']);
    });
  });
}
