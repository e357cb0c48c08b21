/**
 * Media that really flows: headless mediasoup-client peers on libwebrtc
 * (test/support/wrtc-client.ts) against the werift engine driven directly,
 * everything on 127.0.0.1.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { WeriftMedia } from '../../sfu/werift-media.js';
import { eventually } from '../support/wait.js';
import { engineSignaling, WrtcClient, type ReceiveStats } from '../support/wrtc-client.js';

const lossOf = (s: ReceiveStats) => s.packetsLost / Math.max(1, s.packetsLost + s.packetsReceived);

describe('werift engine with wrtc clients', () => {
  it('forwards one audio producer to five consumers with under 1% loss, then closes cleanly', async () => {
    const engine = new WeriftMedia({ announcedIp: '127.0.0.1' });
    onTestFinished(() => engine.close());
    const router = await engine.createRouter();
    const signaling = engineSignaling(router);
    const clients: WrtcClient[] = [];
    onTestFinished(async () => {
      for (const c of clients) await c.close();
    });
    const open = async () => {
      const c = await WrtcClient.create(signaling, { maxSendMs: 20_000 });
      clients.push(c);
      return c;
    };

    const speaker = await open();
    const producerId = await speaker.produceAudio();
    const listeners = await Promise.all(Array.from({ length: 5 }, open));
    for (const [i, l] of listeners.entries()) await l.consume(producerId, { energy: i === 0 });
    expect(await engine.stats()).toEqual({ routers: 1, transports: 6, producers: 1, consumers: 5 });

    // Two seconds of 20 ms Opus packets at each consumer.
    const stats = await eventually(
      async () => (await Promise.all(listeners.map((l) => l.receiveStats()))).flat(),
      (all) => all.length === 5 && all.every((s) => s.packetsReceived >= 100),
      15_000,
      'every consumer to receive 100 packets',
    );
    for (const s of stats) {
      expect(s).toMatchObject({ producerId, kind: 'audio' });
      expect(lossOf(s)).toBeLessThan(0.01);
    }
    expect(stats[0]!.audioRms).toBeGreaterThan(0.01);
    expect(await speaker.packetsSent()).toBeGreaterThanOrEqual(100);

    for (const c of clients) await c.close();
    await router.close();
    expect(await engine.stats()).toEqual({ routers: 0, transports: 0, producers: 0, consumers: 0 });
  });

  it('forwards VP8 that the consumers decode', async () => {
    const engine = new WeriftMedia({ announcedIp: '127.0.0.1' });
    onTestFinished(() => engine.close());
    const signaling = engineSignaling(await engine.createRouter());
    const camera = await WrtcClient.create(signaling, { maxSendMs: 20_000 });
    onTestFinished(() => camera.close());
    const producerId = await camera.produceVideo();
    const viewers = await Promise.all([1, 2].map(() => WrtcClient.create(signaling)));
    for (const v of viewers) {
      onTestFinished(() => v.close());
      await v.consume(producerId);
    }
    const stats = await eventually(
      async () => (await Promise.all(viewers.map((v) => v.receiveStats()))).flat(),
      (all) => all.length === 2 && all.every((s) => s.framesDecoded >= 10),
      15_000,
      'both viewers to decode 10 frames',
    );
    for (const s of stats) expect(s).toMatchObject({ producerId, kind: 'video' });
  });
});
