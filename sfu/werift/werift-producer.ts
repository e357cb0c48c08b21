/**
 * A producer of the werift engine: the RTP one client sends on its transport.
 * It counts and checks what arrives (loss from sequence gaps, NACKs for them
 * upstream), picks the stream to forward when the client sends simulcast, and
 * hands each packet to its consumers.
 *
 * Simulcast: it forwards the highest layer that carries media. A higher layer
 * takes over at its first packet. The browser stops sending its upper layers
 * when bandwidth or CPU runs short (or `setMaxSpatialLayer` asks it to): once
 * the forwarded stream has carried nothing for LAYER_IDLE_MS, the highest
 * lower layer that has been sending for LAYER_IDLE_MS takes over, unless a
 * layer above it is sending again (so that when every layer resumes after a
 * pause, the first packets of a lower one do not take over). Each switch asks
 * the client for a key frame of the new stream.
 *
 * Key-frame requests from consumers reach the client as a PLI, at most one per
 * KEYFRAME_GAP_MS.
 *
 * Close cascade: transport -> producer -> its consumers (`producerclose`).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { GenericNack, PictureLossIndication, RtcpPayloadSpecificFeedback, RtcpReceiverInfo, RtcpRrPacket, RtcpTransportLayerFeedback, type RtcpSrPacket, type RtpPacket } from 'werift';
import { AppError } from '../../src/errors.js';
import type { CloseReason, MediaKind, MediaProducer, ProducerStats, RtpParameters, Unsubscribe } from '../../src/ports/media-engine.js';
import { Listeners } from '../listeners.js';
import type { WeriftConsumer } from './werift-consumer.js';

const KEYFRAME_GAP_MS = 300;
/** A stream silent this long has stopped (mediasoup's inactivity interval for a receiving stream). */
const LAYER_IDLE_MS = 1500;
/** Gaps wider than this are a restart of the stream, not loss. */
const MAX_GAP = 512;

export interface ProducerLink {
  sendRtcp(packets: (RtcpPayloadSpecificFeedback | RtcpTransportLayerFeedback | RtcpRrPacket)[]): void;
  now(): number;
  /** Forget the producer (its transport's and router's maps). */
  forget(producer: WeriftProducer): void;
}

export class WeriftProducer implements MediaProducer {
  readonly id = randomUUID();
  readonly kind: MediaKind;
  readonly rtpParameters: RtpParameters;
  /** The payload type of the media codec the client sends (what consumers map to theirs). */
  readonly mediaPayloadType: number;
  /** SSRCs the client said it would send, and the RID of each encoding. */
  readonly declaredSsrcs: readonly number[];
  readonly rids: readonly string[];
  readonly #link: ProducerLink;
  readonly #listeners = new Listeners<{ close: [CloseReason] }>();
  readonly #consumers = new Set<WeriftConsumer>();
  readonly #senderSsrc = randomInt(1, 0xffffffff);
  #closed = false;
  #paused: boolean;
  /** The stream being forwarded, and the encoding index it belongs to. */
  #selectedSsrc: number | null = null;
  #selectedLayer = -1;
  /** When the forwarded stream last carried media; for each layer, since when it has been sending and its last packet. */
  #selectedAt = -Infinity;
  readonly #layers: ({ since: number; last: number } | undefined)[] = [];
  #lastKeyFrameAt = -Infinity;
  // Receive statistics of the selected stream (RFC 3550 A.1).
  #baseSeq = -1;
  #maxSeq = 0;
  #cycles = 0;
  #received = 0;
  #bytes = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #nacks = 0;
  #plis = 0;
  #lastSr: { lsr: number; at: number } | null = null;

  constructor(opts: { kind: MediaKind; rtpParameters: RtpParameters; mediaPayloadType: number; paused: boolean; link: ProducerLink }) {
    this.kind = opts.kind;
    this.rtpParameters = opts.rtpParameters;
    this.mediaPayloadType = opts.mediaPayloadType;
    this.#paused = opts.paused;
    this.#link = opts.link;
    const encodings = opts.rtpParameters.encodings ?? [];
    this.declaredSsrcs = encodings.flatMap((e) => (e.ssrc !== undefined ? [e.ssrc] : []));
    this.rids = encodings.flatMap((e) => (e.rid !== undefined ? [e.rid] : []));
  }

  get closed(): boolean {
    return this.#closed;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get consumerCount(): number {
    return this.#consumers.size;
  }

  on(event: 'close', listener: (reason: CloseReason) => void): Unsubscribe {
    return this.#listeners.on(event, listener);
  }

  /** The encoding index of a stream: by declared SSRC, else by its RID (simulcast). */
  layerOf(ssrc: number, rid: string | undefined): number {
    const bySsrc = this.declaredSsrcs.indexOf(ssrc);
    if (bySsrc >= 0) return bySsrc;
    return rid === undefined ? 0 : this.rids.indexOf(rid);
  }

  /** One packet of stream `layer`. Forwards the highest layer that carries media (see above). */
  receive(rtp: RtpPacket, layer: number): void {
    if (this.#closed) return;
    const ssrc = rtp.header.ssrc;
    // Padding-only packets (bandwidth probes) say nothing of what a stream carries.
    const media = rtp.payload.length > 0;
    const now = this.#link.now();
    if (media) this.#heard(layer, now);
    if (ssrc !== this.#selectedSsrc) {
      if (!media || !(layer > this.#selectedLayer || this.#replacesIdle(layer, now))) return;
      this.#select(ssrc, layer);
    }
    this.#count(rtp);
    if (!media) return;
    this.#selectedAt = now;
    if (this.#paused) return;
    for (const c of this.#consumers) c.send(rtp);
  }

  #heard(layer: number, now: number): void {
    const run = this.#layers[layer];
    if (run && now - run.last <= LAYER_IDLE_MS) run.last = now;
    else this.#layers[layer] = { since: now, last: now };
  }

  /** Whether a stream at `layer`, not the forwarded one, takes over from a forwarded stream gone silent (see above). */
  #replacesIdle(layer: number, now: number): boolean {
    if (now - this.#selectedAt <= LAYER_IDLE_MS || now - this.#layers[layer]!.since < LAYER_IDLE_MS) return false;
    return this.#layers.slice(layer + 1).every((run) => run === undefined || now - run.last > LAYER_IDLE_MS);
  }

  #select(ssrc: number, layer: number): void {
    this.#selectedSsrc = ssrc;
    this.#selectedLayer = layer;
    this.#baseSeq = -1;
    for (const c of this.#consumers) c.resync();
    if (this.kind === 'video') this.requestKeyFrame(true);
  }

  #count(rtp: RtpPacket): void {
    const seq = rtp.header.sequenceNumber;
    this.#received++;
    this.#bytes += rtp.payload.length;
    if (this.#baseSeq < 0) {
      this.#baseSeq = seq;
      this.#maxSeq = seq;
      this.#cycles = 0;
      return;
    }
    const delta = (seq - this.#maxSeq) & 0xffff;
    if (delta === 0 || delta >= 0x8000) return; // duplicate or late
    if (delta > 1 && delta < MAX_GAP && this.rtpParameters.codecs[0]?.rtcpFeedback?.some((f) => f.type === 'nack' && !f.parameter)) {
      const lost: number[] = [];
      for (let i = 1; i < delta; i++) lost.push((this.#maxSeq + i) & 0xffff);
      this.#nacks++;
      this.#link.sendRtcp([new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc: this.#senderSsrc, mediaSourceSsrc: rtp.header.ssrc, lost }) })]);
    }
    if (seq < this.#maxSeq) this.#cycles += 0x10000;
    this.#maxSeq = seq;
  }

  /** Asks the client for a key frame (a PLI), unless one was asked for very recently. */
  requestKeyFrame(force = false): void {
    if (this.#closed || this.kind !== 'video' || this.#selectedSsrc === null) return;
    const now = this.#link.now();
    if (!force && now - this.#lastKeyFrameAt < KEYFRAME_GAP_MS) return;
    this.#lastKeyFrameAt = now;
    this.#plis++;
    this.#link.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: this.#senderSsrc, mediaSsrc: this.#selectedSsrc }) })]);
  }

  onSenderReport(sr: RtcpSrPacket): void {
    if (sr.ssrc !== this.#selectedSsrc) return;
    // LSR: the middle 32 bits of the NTP timestamp (RFC 3550 6.4.1).
    this.#lastSr = { lsr: Number((sr.senderInfo.ntpTimestamp >> 16n) & 0xffffffffn), at: this.#link.now() };
  }

  /** Our receiver report for the forwarded stream; null before any packet. */
  receiverReport(): RtcpRrPacket | null {
    if (this.#selectedSsrc === null || this.#baseSeq < 0) return null;
    const extMax = this.#cycles + this.#maxSeq;
    const expected = extMax - this.#baseSeq + 1;
    const lost = Math.max(0, expected - this.#received);
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.#received - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval << 8) / expectedInterval));
    const dlsr = this.#lastSr ? Math.floor(((this.#link.now() - this.#lastSr.at) / 1000) * 65536) : 0;
    const report = new RtcpReceiverInfo({ ssrc: this.#selectedSsrc, fractionLost, packetsLost: Math.min(lost, 0x7fffff), highestSequence: extMax >>> 0, jitter: 0, lsr: this.#lastSr?.lsr ?? 0, dlsr });
    return new RtcpRrPacket({ ssrc: this.#senderSsrc, reports: [report] });
  }

  addConsumer(c: WeriftConsumer): void {
    this.#consumers.add(c);
  }
  removeConsumer(c: WeriftConsumer): void {
    this.#consumers.delete(c);
  }

  async pause(): Promise<void> {
    this.#check();
    if (this.#paused) return;
    this.#paused = true;
    for (const c of this.#consumers) c.setProducerPaused(true);
  }

  async resume(): Promise<void> {
    this.#check();
    if (!this.#paused) return;
    this.#paused = false;
    for (const c of this.#consumers) c.setProducerPaused(false);
    this.requestKeyFrame(true);
  }

  async getStats(): Promise<ProducerStats> {
    this.#check();
    const expected = this.#baseSeq < 0 ? 0 : this.#cycles + this.#maxSeq - this.#baseSeq + 1;
    return { packetsReceived: this.#received, bytesReceived: this.#bytes, packetsLost: Math.max(0, expected - this.#received), nackCount: this.#nacks, pliCount: this.#plis };
  }

  async close(): Promise<void> {
    this.closeWith('closed');
  }

  /** Closes with a reason (the transport's cascade uses `transportclose`). */
  closeWith(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [...this.#consumers]) c.closeWith('producerclose');
    this.#consumers.clear();
    this.#link.forget(this);
    this.#listeners.emit('close', reason);
    this.#listeners.clear();
  }

  #check(): void {
    if (this.#closed) throw new AppError('CLOSED', 'producer closed');
  }
}
