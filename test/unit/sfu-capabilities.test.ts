/**
 * The router capabilities and the RTP-parameter rules of sfu/capabilities.ts,
 * checked against mediasoup-client's own ORTC functions fed with the native
 * capabilities of libwebrtc (test/fixtures/wrtc-rtp-capabilities.json, what
 * mediasoup-client's Chrome111 handler reads from @roamhq/wrtc).
 */
import * as ortc from 'mediasoup-client/ortc';
import type { RtpCapabilities as ClientCapabilities, RtpParameters as ClientParameters } from 'mediasoup-client/types';
import { describe, expect, it } from 'vitest';
import { buildConsumerRtpParameters, matchProducerCodec, routerRtpCapabilities, validateRtpCapabilities, validateRtpParameters } from '../../sfu/capabilities.js';
import { AppError } from '../../src/errors.js';
import type { MediaKind, RtpCapabilities, RtpParameters } from '../../src/ports/media-engine.js';
import wrtcCapabilities from '../fixtures/wrtc-rtp-capabilities.json' with { type: 'json' };

const clone = <T>(v: T): T => structuredClone(v) as T;

/** What mediasoup-client computes in `device.load()` against our router. */
function clientSide() {
  const extended = ortc.getExtendedRtpCapabilities(clone(wrtcCapabilities) as ClientCapabilities, clone(routerRtpCapabilities) as ClientCapabilities, false);
  const sending = (kind: MediaKind): RtpParameters => {
    const p = ortc.getSendingRtpParameters(kind, extended);
    // What transport.produce() adds before it signals: the encoding and the cname.
    return { ...p, encodings: [{ ssrc: 1234 }], rtcp: { cname: 'producer-cname', reducedSize: true } } as RtpParameters;
  };
  return { recvCapabilities: ortc.getRecvRtpCapabilities(extended) as RtpCapabilities, sending };
}

function h264(profileLevelId: string, packetizationMode = 1): RtpParameters {
  return { codecs: [{ mimeType: 'video/H264', payloadType: 125, clockRate: 90000, parameters: { 'packetization-mode': packetizationMode, 'profile-level-id': profileLevelId } }], encodings: [{ ssrc: 99 }] };
}

const opus: RtpParameters = { codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 1 }] };

function expectAppError(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect((caught as AppError).code).toBe(code);
}

describe('router rtpCapabilities', () => {
  it('are what mediasoup-client accepts, unchanged by its normalization', () => {
    const normalized = clone(routerRtpCapabilities) as ClientCapabilities;
    ortc.validateAndNormalizeRtpCapabilities(normalized);
    expect(normalized).toEqual(routerRtpCapabilities);
  });

  it('offer Opus, VP8 and H264 on payload types 100-102, no RTX, and the agreed header extensions', () => {
    expect(routerRtpCapabilities.codecs?.map((c) => [c.mimeType, c.preferredPayloadType, c.clockRate])).toEqual([
      ['audio/opus', 100, 48000],
      ['video/VP8', 101, 90000],
      ['video/H264', 102, 90000],
    ]);
    expect(routerRtpCapabilities.codecs?.[0]?.channels).toBe(2);
    expect(routerRtpCapabilities.codecs?.[2]?.parameters).toEqual({ 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 });
    expect(routerRtpCapabilities.headerExtensions?.map((h) => [h.kind, h.uri, h.preferredId])).toEqual([
      ['audio', 'urn:ietf:params:rtp-hdrext:sdes:mid', 1],
      ['video', 'urn:ietf:params:rtp-hdrext:sdes:mid', 1],
      ['audio', 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', 10],
      ['video', 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', 4],
      ['video', 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id', 5],
    ]);
  });

  it('are frozen all the way down', () => {
    expect(Object.isFrozen(routerRtpCapabilities)).toBe(true);
    expect(Object.isFrozen(routerRtpCapabilities.codecs?.[1]?.rtcpFeedback?.[0])).toBe(true);
  });
});

describe('matchProducerCodec', () => {
  it("maps what mediasoup-client sends for audio and video to the router's codec", () => {
    const { sending } = clientSide();
    const audio = matchProducerCodec('audio', sending('audio'));
    // mediasoup-client sends its own payload type; the engine maps it to the router's.
    expect(audio.codec).toMatchObject({ mimeType: 'audio/opus', payloadType: 111 });
    expect(audio.routerCodec.preferredPayloadType).toBe(100);
    expect(matchProducerCodec('video', sending('video')).routerCodec.mimeType).toBe('video/VP8');
  });

  it('ignores RTX and matches names case-insensitively', () => {
    const params: RtpParameters = {
      codecs: [
        { mimeType: 'video/vp8', payloadType: 96, clockRate: 90000 },
        { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 } },
      ],
      encodings: [{ ssrc: 5, rtx: { ssrc: 6 } }],
    };
    expect(matchProducerCodec('video', params)).toMatchObject({ codec: { payloadType: 96 }, routerCodec: { preferredPayloadType: 101 } });
  });

  it('accepts H264 of the same profile (constrained baseline) and packetization mode 1 only', () => {
    expect(matchProducerCodec('video', h264('42e01f')).routerCodec.preferredPayloadType).toBe(102);
    expect(matchProducerCodec('video', h264('42c034')).routerCodec.preferredPayloadType).toBe(102);
    expect(matchProducerCodec('video', h264('4de01f')).routerCodec.preferredPayloadType).toBe(102);
    for (const other of ['42001f', '4d001f', '640c1f', '64001f', 'zz', '42e01']) expectAppError(() => matchProducerCodec('video', h264(other)), 'BAD_REQUEST');
    expectAppError(() => matchProducerCodec('video', h264('42e01f', 0)), 'BAD_REQUEST');
  });

  it('refuses a codec the router lacks, a codec of the other kind and parameters with no media codec', () => {
    expectAppError(() => matchProducerCodec('audio', { codecs: [{ mimeType: 'audio/PCMU', payloadType: 0, clockRate: 8000 }] }), 'BAD_REQUEST');
    expectAppError(() => matchProducerCodec('audio', { codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 1 }] }), 'BAD_REQUEST');
    expectAppError(() => matchProducerCodec('video', opus), 'BAD_REQUEST');
    expectAppError(() => matchProducerCodec('audio', { codecs: [{ mimeType: 'audio/rtx', payloadType: 97, clockRate: 48000 }] }), 'BAD_REQUEST');
  });

  it('throws TypeError for malformed arguments', () => {
    const bad: unknown[] = [
      null,
      'opus',
      {},
      { codecs: [] },
      { codecs: [{ mimeType: 'opus', payloadType: 100, clockRate: 48000 }] },
      { codecs: [{ mimeType: 'audio/opus', payloadType: 200, clockRate: 48000 }] },
      { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 0 }] },
      { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, parameters: { a: {} } }] },
      { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, rtcpFeedback: 'nack' }] },
      { ...opus, encodings: [{ ssrc: -1 }] },
      { ...opus, encodings: {} },
      { ...opus, headerExtensions: [{ uri: 'urn:x', id: 0 }] },
      { ...opus, rtcp: { cname: 7 } },
      { ...opus, mid: 3 },
    ];
    for (const params of bad) expect(() => matchProducerCodec('audio', params), JSON.stringify(params)).toThrow(TypeError);
    expect(() => matchProducerCodec('data', opus)).toThrow(TypeError);
    expect(() => validateRtpParameters(opus)).not.toThrow();
  });
});

describe('buildConsumerRtpParameters', () => {
  it("gives what mediasoup-client's consume() accepts: router payload type, own SSRC, the producer's cname, no extensions, the mid it is given", () => {
    const { sending, recvCapabilities } = clientSide();
    const producer = { kind: 'audio' as const, rtpParameters: sending('audio') };
    const params = buildConsumerRtpParameters({ producer, rtpCapabilities: recvCapabilities });
    expect(params.codecs).toEqual([{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: producer.rtpParameters.codecs[0]!.parameters, rtcpFeedback: [{ type: 'nack', parameter: '' }] }]);
    expect(params.headerExtensions).toEqual([]);
    expect(params.mid).toBeUndefined();
    expect(buildConsumerRtpParameters({ producer, rtpCapabilities: recvCapabilities, mid: '7' }).mid).toBe('7');
    expect(params.rtcp).toEqual({ cname: 'producer-cname', reducedSize: true, mux: true });
    const ssrc = params.encodings?.[0]?.ssrc;
    expect(ssrc).toBeGreaterThanOrEqual(100_000_000);
    expect(ssrc).toBeLessThan(1_000_000_000);
    expect(ortc.canReceive(clone(params) as ClientParameters, clone(recvCapabilities) as Parameters<typeof ortc.canReceive>[1])).toBe(true);
    const normalized = clone(params) as ClientParameters;
    ortc.validateAndNormalizeRtpParameters(normalized);
  });

  it('gives every consumer its own SSRC', () => {
    const { sending, recvCapabilities } = clientSide();
    const producer = { kind: 'video' as const, rtpParameters: sending('video') };
    const ssrcs = new Set(Array.from({ length: 20 }, () => buildConsumerRtpParameters({ producer, rtpCapabilities: recvCapabilities }).encodings?.[0]?.ssrc));
    expect(ssrcs.size).toBe(20);
  });

  it('keeps only the RTCP feedback the consumer supports', () => {
    const { sending } = clientSide();
    const producer = { kind: 'video' as const, rtpParameters: sending('video') };
    const rtpCapabilities = { codecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000, preferredPayloadType: 101, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }, { type: 'transport-cc' }] }] };
    const params = buildConsumerRtpParameters({ producer, rtpCapabilities });
    expect(params.codecs[0]?.rtcpFeedback).toEqual([{ type: 'nack', parameter: 'pli' }]);
  });

  it('makes a cname when the producer sent none', () => {
    const params = buildConsumerRtpParameters({ producer: { kind: 'audio', rtpParameters: opus }, rtpCapabilities: routerRtpCapabilities });
    expect(params.rtcp?.cname).toMatch(/^[0-9a-f]{16}$/);
  });

  it('makes a cname when the producer sent an empty one, as mediasoup-client does for a simulcast camera', () => {
    const simulcast = { ...clientSide().sending('video'), encodings: [{ rid: 'r0' }, { rid: 'r1' }, { rid: 'r2' }], rtcp: { cname: '', reducedSize: true } } as RtpParameters;
    const params = buildConsumerRtpParameters({ producer: { kind: 'video', rtpParameters: simulcast }, rtpCapabilities: routerRtpCapabilities });
    expect(params.rtcp?.cname).toMatch(/^[0-9a-f]{16}$/);
  });

  it("refuses a consumer whose capabilities lack the producer's codec", () => {
    const { recvCapabilities } = clientSide();
    // libwebrtc in @roamhq/wrtc has no H264.
    expectAppError(() => buildConsumerRtpParameters({ producer: { kind: 'video', rtpParameters: h264('42e01f') }, rtpCapabilities: recvCapabilities }), 'BAD_REQUEST');
    expectAppError(() => buildConsumerRtpParameters({ producer: { kind: 'audio', rtpParameters: opus }, rtpCapabilities: {} }), 'BAD_REQUEST');
    const videoOnly = { codecs: routerRtpCapabilities.codecs?.filter((c) => c.kind === 'video') };
    expectAppError(() => buildConsumerRtpParameters({ producer: { kind: 'audio', rtpParameters: opus }, rtpCapabilities: videoOnly }), 'BAD_REQUEST');
  });

  it('throws TypeError for malformed rtpCapabilities', () => {
    for (const caps of [null, 'caps', { codecs: {} }, { codecs: [{ mimeType: 'audio/opus' }] }, { codecs: [{ mimeType: 'audio/opus', clockRate: 48000, kind: 'data' }] }, { headerExtensions: [{}] }]) {
      expect(() => buildConsumerRtpParameters({ producer: { kind: 'audio', rtpParameters: opus }, rtpCapabilities: caps }), JSON.stringify(caps)).toThrow(TypeError);
    }
    expect(() => validateRtpCapabilities(routerRtpCapabilities)).not.toThrow();
  });
});
