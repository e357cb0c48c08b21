/**
 * FakeMedia, the in-process MediaEngine: the port's contract, and what it
 * shows in place of traffic (key-frame requests counted as PLIs, DTLS
 * reported connected on `connect()`).
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { FakeMedia } from '../../sfu/fake-media.js';
import { deviceCapabilities, mediaEngineContract, opusParameters, vp8Parameters } from './media-engine.js';

async function makeFake(): Promise<FakeMedia> {
  const engine = new FakeMedia({ announcedIp: '127.0.0.1' });
  onTestFinished(() => engine.close());
  return engine;
}

mediaEngineContract('FakeMedia', makeFake, { announcedIp: '127.0.0.1' });

describe('FakeMedia', () => {
  it('counts the key frames its video consumers ask for as PLIs, and none for audio', async () => {
    const router = await (await makeFake()).createRouter();
    const send = await router.createWebRtcTransport({ producing: true, consuming: false });
    const recv = await router.createWebRtcTransport({ producing: false, consuming: true });
    const cam = await send.produce({ kind: 'video', rtpParameters: vp8Parameters(1) });
    const mic = await send.produce({ kind: 'audio', rtpParameters: opusParameters(2) });
    const pli = async () => (await cam.getStats()).pliCount;

    const active = await recv.consume({ producerId: cam.id, rtpCapabilities: deviceCapabilities });
    expect(await pli()).toBe(1);
    const paused = await recv.consume({ producerId: cam.id, rtpCapabilities: deviceCapabilities, paused: true });
    await paused.requestKeyFrame();
    expect(await pli()).toBe(1);
    await paused.resume();
    expect(await pli()).toBe(2);
    await active.requestKeyFrame();
    expect(await pli()).toBe(3);
    await cam.pause();
    await active.requestKeyFrame();
    await cam.resume();
    // Both consumers are active again and want a key frame.
    expect(await pli()).toBe(5);

    const listener = await recv.consume({ producerId: mic.id, rtpCapabilities: deviceCapabilities });
    await listener.requestKeyFrame();
    expect((await mic.getStats()).pliCount).toBe(0);
  });

  it('reports DTLS connecting then connected on connect(), and new ICE credentials on restartIce()', async () => {
    const router = await (await makeFake()).createRouter();
    const t = await router.createWebRtcTransport({ producing: true, consuming: true });
    const states: string[] = [];
    t.on('dtlsstatechange', (s) => states.push(s));
    expect(await t.getStats()).toMatchObject({ dtlsState: 'new' });
    await t.connect({ dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB:CD' }] } });
    expect(states).toEqual(['connecting', 'connected']);
    expect(await t.getStats()).toMatchObject({ dtlsState: 'connected', iceState: 'completed', bytesReceived: 0, bytesSent: 0 });
    const before = t.iceParameters;
    const after = await t.restartIce();
    expect(after).toEqual(t.iceParameters);
    expect(after.usernameFragment).not.toBe(before.usernameFragment);
    expect(after.password).not.toBe(before.password);
  });

  it('refuses wrong arguments with TypeError', async () => {
    expect(() => new FakeMedia({ announcedIp: '' })).toThrow(TypeError);
    const router = await (await makeFake()).createRouter();
    await expect(router.createWebRtcTransport({ producing: 'yes' } as never)).rejects.toBeInstanceOf(TypeError);
    const t = await router.createWebRtcTransport({ producing: true, consuming: true });
    await expect(t.produce({ kind: 'audio', rtpParameters: opusParameters(3), paused: 1 } as never)).rejects.toBeInstanceOf(TypeError);
    await expect(t.consume({ producerId: 7, rtpCapabilities: deviceCapabilities } as never)).rejects.toBeInstanceOf(TypeError);
    const p = await t.produce({ kind: 'audio', rtpParameters: opusParameters(3) });
    await expect(t.consume({ producerId: p.id, rtpCapabilities: 'all' } as never)).rejects.toBeInstanceOf(TypeError);
    expect(() => t.on('connect' as never, () => {})).toThrow(TypeError);
    expect(() => p.on('close', 'listener' as never)).toThrow(TypeError);
  });

  it("keeps the producer's parameters as they were produced", async () => {
    const router = await (await makeFake()).createRouter();
    const t = await router.createWebRtcTransport({ producing: true, consuming: false });
    const rtpParameters = structuredClone(opusParameters(4)) as unknown as { codecs: { payloadType: number }[] };
    const p = await t.produce({ kind: 'audio', rtpParameters: rtpParameters as never });
    rtpParameters.codecs[0]!.payloadType = 42;
    expect(p.rtpParameters.codecs[0]?.payloadType).toBe(111);
  });
});
