/**
 * The werift engine's forwarding rules without sockets: what a consumer
 * writes for each packet its producer receives (SSRC, payload type, sequence
 * numbers and timestamps rewritten, continuous across pauses and stream
 * switches), NACK answers from its buffer, key-frame relay, and what the
 * producer counts and asks of its client.
 */
import { GenericNack, PictureLossIndication, RtcpReceiverInfo, RtpHeader, RtpPacket, type RtcpRrPacket } from 'werift';
import { describe, expect, it } from 'vitest';
import type { RtpParameters } from '../../src/ports/media-engine.js';
import { WeriftConsumer } from '../../sfu/werift/werift-consumer.js';
import { WeriftProducer } from '../../sfu/werift/werift-producer.js';
import { opusParameters, vp8Parameters } from '../contract/media-engine.js';

interface Sent {
  seq: number;
  ts: number;
  ssrc: number;
  pt: number;
  marker: boolean;
  payload: string;
}

function harness(kind: 'audio' | 'video', producerParameters: RtpParameters) {
  let now = 1_000_000;
  const rtcp: unknown[] = [];
  const producer = new WeriftProducer({
    kind,
    rtpParameters: producerParameters,
    mediaPayloadType: producerParameters.codecs[0]!.payloadType,
    paused: false,
    link: { sendRtcp: (packets) => rtcp.push(...packets), now: () => now, forget: () => {} },
  });
  const sent: Sent[] = [];
  let connected = true;
  const consumerPt = kind === 'audio' ? 100 : 101;
  const consumer = new WeriftConsumer({
    producer,
    rtpParameters: { codecs: [{ mimeType: kind === 'audio' ? 'audio/opus' : 'video/VP8', payloadType: consumerPt, clockRate: kind === 'audio' ? 48000 : 90000 }], encodings: [{ ssrc: 424242 }] },
    payloadTypes: new Map([[producerParameters.codecs[0]!.payloadType, consumerPt]]),
    paused: false,
    link: {
      isConnected: () => connected,
      sendRtp: (payload, h) => sent.push({ seq: h.sequenceNumber, ts: h.timestamp, ssrc: h.ssrc, pt: h.payloadType, marker: h.marker, payload: payload.toString() }),
      now: () => now,
      forget: () => {},
    },
  });
  producer.addConsumer(consumer);
  const packet = (ssrc: number, seq: number, ts: number, pt = producerParameters.codecs[0]!.payloadType, payload = `p${seq & 0xffff}`) =>
    new RtpPacket(new RtpHeader({ ssrc, sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, payloadType: pt, marker: seq % 2 === 0, extension: true, extensions: [{ id: 4, payload: Buffer.from('0') }] }), Buffer.from(payload));
  return {
    producer,
    consumer,
    sent,
    rtcp,
    packet,
    advance: (ms: number) => void (now += ms),
    disconnect: () => void (connected = false),
  };
}

const steps = (xs: number[]) => xs.slice(1).map((x, i) => (x - xs[i]!) & 0xffff);

describe('werift forwarding', () => {
  it('rewrites SSRC and payload type, keeps the payload and marker, and offsets sequence numbers and timestamps', () => {
    const h = harness('audio', opusParameters(1111));
    for (let i = 0; i < 5; i++) h.producer.receive(h.packet(1111, 65533 + i, 4_294_967_000 + i * 960), 0);
    expect(h.sent.map((s) => [s.ssrc, s.pt, s.payload, s.marker])).toEqual([0, 1, 2, 3, 4].map((i) => [424242, 100, `p${(65533 + i) & 0xffff}`, (65533 + i) % 2 === 0]));
    // Sequence numbers step by one through the wrap; timestamps by 960 through theirs.
    expect(steps(h.sent.map((s) => s.seq))).toEqual([1, 1, 1, 1]);
    expect(h.sent.slice(1).map((s, i) => (s.ts - h.sent[i]!.ts) >>> 0)).toEqual([960, 960, 960, 960]);
  });

  it('drops packets of a payload type the consumer was not given, and sends nothing before its transport connects', () => {
    const h = harness('audio', opusParameters(1111));
    h.producer.receive(h.packet(1111, 1, 0, 63), 0);
    h.disconnect();
    h.producer.receive(h.packet(1111, 2, 960), 0);
    expect(h.sent).toEqual([]);
  });

  it('continues its numbering without a gap after a pause, with the clock run on', async () => {
    const h = harness('audio', opusParameters(1111));
    for (let i = 0; i < 3; i++) h.producer.receive(h.packet(1111, 100 + i, 9600 * i), 0);
    await h.consumer.pause();
    for (let i = 3; i < 50; i++) h.producer.receive(h.packet(1111, 100 + i, 9600 * i), 0);
    h.advance(1000);
    await h.consumer.resume();
    for (let i = 50; i < 52; i++) h.producer.receive(h.packet(1111, 100 + i, 9600 * i), 0);
    expect(h.sent).toHaveLength(5);
    expect(steps(h.sent.map((s) => s.seq))).toEqual([1, 1, 1, 1]);
    // One second of a 48 kHz clock went by while paused.
    expect((h.sent[3]!.ts - h.sent[2]!.ts) >>> 0).toBe(48000 + 1);
  });

  it('stops while its producer is paused and tells its listeners', async () => {
    const h = harness('audio', opusParameters(1111));
    const events: string[] = [];
    h.consumer.on('producerpause', () => events.push('pause'));
    h.consumer.on('producerresume', () => events.push('resume'));
    await h.producer.pause();
    h.producer.receive(h.packet(1111, 1, 0), 0);
    await h.producer.resume();
    h.producer.receive(h.packet(1111, 2, 960), 0);
    expect(events).toEqual(['pause', 'resume']);
    expect(h.sent.map((s) => s.payload)).toEqual(['p2']);
  });

  it('answers a NACK with the packets still in its buffer, as sent', async () => {
    const h = harness('video', vp8Parameters(2222));
    for (let i = 0; i < 1100; i++) h.producer.receive(h.packet(2222, i, i * 3000, 96), 0);
    const first = h.sent.length;
    const last = h.sent[first - 1]!;
    const evicted = h.sent[0]!.seq;
    h.consumer.onNack([last.seq, (last.seq - 5) & 0xffff, evicted]);
    const resent = h.sent.slice(first);
    expect(resent).toEqual([last, h.sent[first - 6]]);
    expect(await h.consumer.getStats()).toMatchObject({ packetsSent: 1100, packetsRetransmitted: 2, nackCount: 1 });
  });

  it('relays key-frame requests to the producer as a PLI for the stream it forwards, at most one per 300 ms', async () => {
    const h = harness('video', vp8Parameters(2222));
    h.producer.receive(h.packet(2222, 1, 0, 96), 0);
    const plis = () => h.rtcp.filter((p) => (p as { feedback?: unknown }).feedback instanceof PictureLossIndication).length;
    const before = plis();
    h.consumer.onKeyFrameRequest();
    h.consumer.onKeyFrameRequest();
    expect(plis()).toBe(before);
    h.advance(301);
    h.consumer.onKeyFrameRequest();
    expect(plis()).toBe(before + 1);
    const pli = h.rtcp.at(-1) as { feedback: PictureLossIndication };
    expect(pli.feedback.mediaSsrc).toBe(2222);
    expect(await h.consumer.getStats()).toMatchObject({ pliCount: 3 });
  });

  it('counts loss from sequence gaps, NACKs them upstream, and reports them in its receiver report', async () => {
    const h = harness('video', vp8Parameters(2222));
    for (const seq of [10, 11, 12, 15, 16]) h.producer.receive(h.packet(2222, seq, seq * 3000, 96), 0);
    const nack = h.rtcp.map((p) => (p as { feedback?: unknown }).feedback).find((f) => f instanceof GenericNack) as GenericNack;
    expect(nack.mediaSourceSsrc).toBe(2222);
    expect(nack.lost).toEqual([13, 14]);
    expect(await h.producer.getStats()).toMatchObject({ packetsReceived: 5, packetsLost: 2, nackCount: 1 });
    const rr = h.producer.receiverReport() as RtcpRrPacket;
    expect(rr.reports[0]).toMatchObject({ ssrc: 2222, packetsLost: 2, highestSequence: 16 });
    expect(rr.reports[0]!.fractionLost).toBe(Math.floor((2 << 8) / 7));
  });

  it('forwards the highest simulcast layer the client sends, switching up with a key-frame request and no jump in numbering', () => {
    const params: RtpParameters = { ...vp8Parameters(0), encodings: [{ rid: 'r0' }, { rid: 'r1' }, { rid: 'r2' }] };
    const h = harness('video', params);
    expect([h.producer.layerOf(7, 'r0'), h.producer.layerOf(8, 'r2'), h.producer.layerOf(9, 'zz')]).toEqual([0, 2, -1]);
    h.producer.receive(h.packet(700, 50, 1000, 96, 'low'), 0);
    h.producer.receive(h.packet(900, 7000, 5000, 96, 'high'), 2);
    h.producer.receive(h.packet(700, 51, 4000, 96, 'low'), 0);
    h.producer.receive(h.packet(900, 7001, 8000, 96, 'high'), 2);
    expect(h.sent.map((s) => s.payload)).toEqual(['low', 'high', 'high']);
    expect(steps(h.sent.map((s) => s.seq))).toEqual([1, 1]);
    expect(h.rtcp.some((p) => (p as { feedback?: PictureLossIndication }).feedback?.mediaSsrc === 900)).toBe(true);
  });

  it('falls back to the highest layer still sending when the forwarded one stops, and not when every layer pauses', () => {
    const params: RtpParameters = { ...vp8Parameters(0), encodings: [{ rid: 'r0' }, { rid: 'r1' }, { rid: 'r2' }] };
    const h = harness('video', params);
    const ssrcs = [700, 800, 900];
    const seqs = [100, 2000, 7000];
    /** One frame: a packet of each layer in `layers`, then 100 ms. */
    const frame = (layers: number[], payload = 'f') => {
      for (const layer of layers) h.producer.receive(h.packet(ssrcs[layer]!, seqs[layer]!++, 0, 96, `${payload}${layer}`), layer);
      h.advance(100);
    };
    const plisFor = (ssrc: number) => h.rtcp.filter((p) => (p as { feedback?: PictureLossIndication }).feedback?.mediaSsrc === ssrc).length;
    for (let i = 0; i < 20; i++) frame([0, 1, 2]);
    expect(h.sent.at(-1)?.payload).toBe('f2');
    // Each layer was forwarded in turn as it first arrived: one key-frame request each.
    expect(ssrcs.map(plisFor)).toEqual([1, 1, 1]);
    // r2 stops (the browser dropped its top layer; its padding carries no media): 1.5 s on, r1, not r0, takes over, with a key-frame request.
    for (let i = 0; i < 15; i++) {
      frame([0, 1]);
      h.producer.receive(new RtpPacket(new RtpHeader({ ssrc: 900, sequenceNumber: seqs[2]!++, payloadType: 96 }), Buffer.alloc(0)), 2);
    }
    expect(h.sent.at(-1)?.payload).toBe('f2');
    frame([0, 1]);
    expect(h.sent.at(-1)?.payload).toBe('f1');
    expect(ssrcs.map(plisFor)).toEqual([1, 2, 1]);
    expect(steps(h.sent.map((s) => s.seq)).every((step) => step === 1)).toBe(true);
    // Every layer pauses, then resumes lowest first: r1 stays forwarded.
    h.advance(5000);
    frame([0]);
    frame([0]);
    frame([0, 1]);
    expect(h.sent.at(-1)?.payload).toBe('f1');
    expect(ssrcs.map(plisFor)).toEqual([1, 2, 1]);
    // r2 comes back: it takes over at once.
    frame([0, 1, 2], 'g');
    expect(h.sent.at(-1)?.payload).toBe('g2');
    expect(ssrcs.map(plisFor)).toEqual([1, 2, 2]);
  });

  it('takes the loss the client reports in its receiver reports', async () => {
    const h = harness('audio', opusParameters(1111));
    h.consumer.onReceiverReport(new RtcpReceiverInfo({ ssrc: 424242, packetsLost: 7 }));
    expect((await h.consumer.getStats()).packetsLost).toBe(7);
    expect(h.consumer.senderReport()).toBeNull();
    h.producer.receive(h.packet(1111, 1, 0), 0);
    expect(h.consumer.senderReport()?.senderInfo).toMatchObject({ packetCount: 1, octetCount: 2 });
  });
});
