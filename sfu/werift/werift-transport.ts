/**
 * A WebRTC transport of the werift engine: one ICE-lite + DTLS-SRTP leg,
 * the producers that arrive on it and the consumers that leave on it.
 *
 * Incoming RTP is demultiplexed by SSRC; a stream not yet known is matched to
 * its producer by the MID header extension (and its simulcast layer by RID),
 * then remembered by SSRC. Incoming RTCP goes to the consumer or producer its
 * media SSRC names. Every RTCP_INTERVAL_MS the transport sends a sender
 * report per consumer and a receiver report per producer.
 *
 * Close cascade: router -> transport -> producers and consumers
 * (`transportclose`); a producer's close closes its consumers on every
 * transport (`producerclose`).
 */
import { randomUUID } from 'node:crypto';
import { ReceiverEstimatedMaxBitrate, RtcpPayloadSpecificFeedback, type RtcpPacket, type RtpHeader, type RtpPacket, type RtcpRrPacket, type RtcpSrPacket, type RtcpTransportLayerFeedback } from 'werift';
import { AppError } from '../../src/errors.js';
import type { Clock, Timer } from '../../src/ports/clock.js';
import type { CloseReason, DtlsParameters, IceCandidate, IceParameters, MediaKind, MediaTransport, RtpCapabilities, RtpParameters, TransportStats, Unsubscribe } from '../../src/ports/media-engine.js';
import { Listeners } from '../listeners.js';
import { buildConsumerRtpParameters, matchProducerCodec } from '../capabilities.js';
import type { IceDtlsLeg } from './ice-dtls.js';
import { WeriftConsumer } from './werift-consumer.js';
import { WeriftProducer } from './werift-producer.js';

const RTCP_INTERVAL_MS = 1000;
const REMB_SENDER_SSRC = 1;
const MID_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const RID_URI = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';

/** What a transport needs of its router. */
export interface TransportHost {
  readonly rtpCapabilities: RtpCapabilities;
  readonly clock: Clock;
  /** The bitrate producing clients are told they may send (REMB), in bits per second; 0 sends none. */
  readonly maxIncomingBitrate: number;
  findProducer(id: string): WeriftProducer | undefined;
  producerAdded(p: WeriftProducer): void;
  producerGone(p: WeriftProducer): void;
  consumerAdded(c: WeriftConsumer): void;
  consumerGone(c: WeriftConsumer): void;
  transportGone(t: WeriftTransport): void;
}

type DtlsState = 'connecting' | 'connected' | 'failed' | 'closed';
type TransportEvents = { close: [CloseReason]; dtlsstatechange: [DtlsState] };

export class WeriftTransport implements MediaTransport {
  readonly id = randomUUID();
  readonly #leg: IceDtlsLeg;
  readonly #host: TransportHost;
  readonly #listeners = new Listeners<TransportEvents>();
  readonly #producers = new Map<string, WeriftProducer>();
  readonly #consumers = new Map<string, WeriftConsumer>();
  /** The mid of the next consumer: one number per consumer of this transport, never reused. */
  #nextConsumerMid = 0;
  readonly #bySsrc = new Map<number, { producer: WeriftProducer; layer: number }>();
  readonly #consumerBySsrc = new Map<number, WeriftConsumer>();
  #rtcpTimer: Timer | null = null;
  #closed = false;
  #connected = false;

  constructor(leg: IceDtlsLeg, host: TransportHost) {
    this.#leg = leg;
    this.#host = host;
    leg.dtls.onRtp.subscribe((rtp) => this.#onRtp(rtp));
    leg.dtls.onRtcp.subscribe((rtcp) => this.#onRtcp(rtcp));
    leg.dtls.onStateChange.subscribe((state) => this.#onDtlsState(state));
  }

  get closed(): boolean {
    return this.#closed;
  }
  get iceParameters(): IceParameters {
    return this.#leg.iceParameters;
  }
  get iceCandidates(): readonly IceCandidate[] {
    return this.#leg.iceCandidates;
  }
  get dtlsParameters(): DtlsParameters {
    return this.#leg.dtlsParameters;
  }

  on(event: 'close', listener: (reason: CloseReason) => void): Unsubscribe;
  on(event: 'dtlsstatechange', listener: (state: DtlsState) => void): Unsubscribe;
  on(event: keyof TransportEvents, listener: (...args: never[]) => void): Unsubscribe {
    return this.#listeners.on(event, listener as (...args: unknown[]) => void);
  }

  async connect(options: { readonly dtlsParameters: DtlsParameters }): Promise<void> {
    this.#check();
    const fingerprints = options?.dtlsParameters?.fingerprints;
    if (!Array.isArray(fingerprints) || fingerprints.length === 0 || !fingerprints.every((f) => typeof f?.algorithm === 'string' && typeof f?.value === 'string')) {
      throw new TypeError('dtlsParameters.fingerprints must be a non-empty list of {algorithm, value}');
    }
    if (this.#leg.started) throw new AppError('BAD_REQUEST', 'transport already connected');
    this.#leg.start(options.dtlsParameters, () => this.#onDtlsState('failed'));
  }

  async restartIce(): Promise<IceParameters> {
    this.#check();
    return this.#leg.restartIce();
  }

  async produce(options: { readonly kind: MediaKind; readonly rtpParameters: RtpParameters; readonly paused?: boolean }): Promise<WeriftProducer> {
    this.#check();
    const { codec } = matchProducerCodec(options?.kind, options?.rtpParameters, this.#host.rtpCapabilities);
    const ssrcs = (options.rtpParameters.encodings ?? []).flatMap((e) => (e.ssrc !== undefined ? [e.ssrc] : []));
    if (ssrcs.some((s) => this.#bySsrc.has(s))) throw new AppError('BAD_REQUEST', 'an encoding ssrc is already in use on this transport');
    const mid = options.rtpParameters.mid;
    if (mid !== undefined && [...this.#producers.values()].some((p) => p.rtpParameters.mid === mid)) throw new AppError('BAD_REQUEST', `mid ${mid} is already in use on this transport`);
    const producer = new WeriftProducer({
      kind: options.kind,
      rtpParameters: options.rtpParameters,
      mediaPayloadType: codec.payloadType,
      paused: options.paused === true,
      link: {
        sendRtcp: (packets) => this.#sendRtcp(packets),
        now: () => this.#host.clock.now(),
        forget: (p) => this.#forgetProducer(p),
      },
    });
    this.#producers.set(producer.id, producer);
    ssrcs.forEach((s, layer) => this.#bySsrc.set(s, { producer, layer }));
    this.#host.producerAdded(producer);
    return producer;
  }

  async consume(options: { readonly producerId: string; readonly rtpCapabilities: RtpCapabilities; readonly paused?: boolean }): Promise<WeriftConsumer> {
    this.#check();
    if (typeof options?.producerId !== 'string') throw new TypeError('producerId must be a string');
    const producer = this.#host.findProducer(options.producerId);
    if (!producer) throw new AppError('BAD_REQUEST', `no producer ${options.producerId}`);
    const routerCapabilities = this.#host.rtpCapabilities;
    const rtpParameters = buildConsumerRtpParameters({ producer, rtpCapabilities: options.rtpCapabilities, routerCapabilities, mid: String(this.#nextConsumerMid++) });
    const payloadTypes = new Map([[producer.mediaPayloadType, rtpParameters.codecs[0]!.payloadType]]);
    const consumer = new WeriftConsumer({
      producer,
      rtpParameters,
      payloadTypes,
      paused: options.paused === true,
      link: {
        isConnected: () => this.#connected,
        sendRtp: (payload, header) => this.#sendRtp(payload, header),
        now: () => this.#host.clock.now(),
        forget: (c) => this.#forgetConsumer(c),
      },
    });
    this.#consumers.set(consumer.id, consumer);
    this.#consumerBySsrc.set(consumer.ssrc, consumer);
    producer.addConsumer(consumer);
    this.#host.consumerAdded(consumer);
    return consumer;
  }

  async getStats(): Promise<TransportStats> {
    this.#check();
    const d = this.#leg.dtls;
    return { iceState: this.#leg.ice.state, dtlsState: d.state, bytesReceived: d.bytesReceived, bytesSent: d.bytesSent };
  }

  async close(): Promise<void> {
    await this.closeWith('closed');
  }

  async closeWith(reason: CloseReason): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    this.#rtcpTimer?.cancel();
    for (const p of [...this.#producers.values()]) p.closeWith('transportclose');
    for (const c of [...this.#consumers.values()]) c.closeWith('transportclose');
    this.#host.transportGone(this);
    this.#listeners.emit('close', reason);
    this.#listeners.clear();
    await this.#leg.close();
  }

  #onDtlsState(state: string): void {
    if (this.#closed) return;
    if (state === 'connected' && !this.#connected) {
      this.#connected = true;
      this.#rtcpTimer = this.#host.clock.setInterval(() => this.#sendReports(), RTCP_INTERVAL_MS);
      // Consumers created before the transport connected start with a key frame.
      for (const c of this.#consumers.values()) if (c.kind === 'video') c.onConnected();
    }
    if (state === 'failed' || state === 'closed') {
      this.#connected = false;
      this.#rtcpTimer?.cancel();
    }
    if (state === 'connecting' || state === 'connected' || state === 'failed' || state === 'closed') this.#listeners.emit('dtlsstatechange', state);
  }

  #onRtp(rtp: RtpPacket): void {
    if (this.#closed) return;
    let route = this.#bySsrc.get(rtp.header.ssrc);
    if (!route) {
      route = this.#learnStream(rtp);
      if (!route) return;
    }
    route.producer.receive(rtp, route.layer);
  }

  /** A stream we have not seen: its producer by MID, its layer by RID. */
  #learnStream(rtp: RtpPacket): { producer: WeriftProducer; layer: number } | undefined {
    for (const producer of this.#producers.values()) {
      const exts = producer.rtpParameters.headerExtensions ?? [];
      const midId = exts.find((e) => e.uri === MID_URI)?.id;
      const mid = midId === undefined ? undefined : rtp.header.extensions.find((e) => e.id === midId)?.payload.toString('ascii');
      if (mid === undefined || mid !== producer.rtpParameters.mid) continue;
      const ridId = exts.find((e) => e.uri === RID_URI)?.id;
      const rid = ridId === undefined ? undefined : rtp.header.extensions.find((e) => e.id === ridId)?.payload.toString('ascii');
      const layer = producer.layerOf(rtp.header.ssrc, rid);
      if (layer < 0) return undefined;
      const route = { producer, layer };
      this.#bySsrc.set(rtp.header.ssrc, route);
      return route;
    }
    return undefined;
  }

  #onRtcp(packet: RtcpPacket): void {
    if (this.#closed) return;
    switch (packet.type) {
      case 205: {
        const fb = (packet as RtcpTransportLayerFeedback).feedback;
        if ('lost' in fb) this.#consumerBySsrc.get(fb.mediaSourceSsrc)?.onNack(fb.lost);
        break;
      }
      case 206: {
        const fb = (packet as RtcpPayloadSpecificFeedback).feedback;
        // PLI (fmt 1) and FIR (fmt 4) ask for a key frame; REMB (fmt 15) is ignored.
        if (fb.count === 1 || fb.count === 4) this.#consumerBySsrc.get(fb.mediaSsrc)?.onKeyFrameRequest();
        break;
      }
      case 200:
        this.#bySsrc.get((packet as RtcpSrPacket).ssrc)?.producer.onSenderReport(packet as RtcpSrPacket);
        this.#onReports((packet as RtcpSrPacket).reports);
        break;
      case 201:
        this.#onReports((packet as RtcpRrPacket).reports);
        break;
      default:
        break;
    }
  }

  #onReports(reports: RtcpRrPacket['reports']): void {
    for (const r of reports) this.#consumerBySsrc.get(r.ssrc)?.onReceiverReport(r);
  }

  #sendReports(): void {
    const packets: (RtcpSrPacket | RtcpRrPacket | RtcpPayloadSpecificFeedback)[] = [];
    for (const c of this.#consumers.values()) {
      const sr = c.senderReport();
      if (sr) packets.push(sr);
    }
    for (const p of this.#producers.values()) {
      const rr = p.receiverReport();
      if (rr) packets.push(rr);
    }
    const remb = this.#remb();
    if (remb) packets.push(remb);
    // Compound packets stay well under the MTU in groups of 8.
    for (let i = 0; i < packets.length; i += 8) this.#sendRtcp(packets.slice(i, i + 8));
  }

  /**
   * A REMB for the video this transport receives, at the configured maximum.
   * We do not estimate bandwidth; without any feedback a browser's estimate
   * stays near its start bitrate and rises slowly, so upper simulcast layers
   * would start late. The browser still backs off on loss, and a REMB only
   * caps its estimate (as Janus does with its configured room bitrate).
   */
  #remb(): RtcpPayloadSpecificFeedback | null {
    const bitrate = this.#host.maxIncomingBitrate;
    const ssrcs = [...this.#bySsrc].filter(([, r]) => r.producer.kind === 'video').map(([ssrc]) => ssrc);
    if (bitrate <= 0 || ssrcs.length === 0) return null;
    // bitrate = mantissa * 2^exp, with an 18-bit mantissa (draft-alvestrand-rmcat-remb 2.2).
    let exp = 0;
    while (bitrate / 2 ** exp >= 2 ** 18) exp++;
    const remb = new ReceiverEstimatedMaxBitrate({ senderSsrc: REMB_SENDER_SSRC, mediaSsrc: 0, ssrcNum: ssrcs.length, brExp: exp, brMantissa: Math.floor(bitrate / 2 ** exp), bitrate: BigInt(bitrate), ssrcFeedbacks: ssrcs });
    return new RtcpPayloadSpecificFeedback({ feedback: remb });
  }

  #sendRtp(payload: Buffer, header: RtpHeader): void {
    if (!this.#connected) return;
    void this.#leg.dtls.sendRtp(payload, header);
  }

  #sendRtcp(packets: (RtcpPayloadSpecificFeedback | RtcpTransportLayerFeedback | RtcpRrPacket | RtcpSrPacket)[]): void {
    if (!this.#connected || packets.length === 0) return;
    void this.#leg.dtls.sendRtcp(packets).catch(() => {});
  }

  #forgetProducer(p: WeriftProducer): void {
    this.#producers.delete(p.id);
    for (const [ssrc, route] of this.#bySsrc) if (route.producer === p) this.#bySsrc.delete(ssrc);
    this.#host.producerGone(p);
  }

  #forgetConsumer(c: WeriftConsumer): void {
    this.#consumers.delete(c.id);
    this.#consumerBySsrc.delete(c.ssrc);
    this.#host.consumerGone(c);
  }

  #check(): void {
    if (this.#closed) throw new AppError('CLOSED', 'transport closed');
  }
}
