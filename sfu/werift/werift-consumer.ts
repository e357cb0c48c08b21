/**
 * A consumer of the werift engine: one producer's stream sent down one
 * client's transport. Each consumer rewrites the SSRC, payload type, sequence
 * number and timestamp of what it forwards, so that its stream continues
 * without jumps across pauses and stream switches; it keeps the last
 * BUFFER_SIZE packets it sent to answer NACKs, relays PLI/FIR to the
 * producer, reads the client's receiver reports and writes sender reports.
 *
 * Forwarded packets carry no header extensions: the client demuxes them by
 * the SSRC it was given, and copying the producer's extensions would put
 * bytes under ids the consumer negotiated for something else (reference/sfu.md,
 * pitfall 1).
 *
 * Close cascade: transport or producer -> consumer.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { RtcpSenderInfo, RtcpSrPacket, RtpHeader, type RtcpReceiverInfo, type RtpPacket } from 'werift';
import { AppError } from '../../src/errors.js';
import type { CloseReason, ConsumerStats, MediaConsumer, MediaKind, RtpParameters, Unsubscribe } from '../../src/ports/media-engine.js';
import { Listeners } from '../listeners.js';
import type { WeriftProducer } from './werift-producer.js';

const BUFFER_SIZE = 1024;

export interface ConsumerLink {
  /** Whether the transport can send (DTLS connected). */
  isConnected(): boolean;
  sendRtp(payload: Buffer, header: RtpHeader): void;
  now(): number;
  forget(consumer: WeriftConsumer): void;
}

interface Sent {
  readonly seq: number;
  readonly header: RtpHeader;
  readonly payload: Buffer;
}

type ConsumerEvents = { close: [CloseReason]; producerpause: []; producerresume: [] };

export class WeriftConsumer implements MediaConsumer {
  readonly id = randomUUID();
  readonly type = 'simple' as const;
  readonly kind: MediaKind;
  readonly producerId: string;
  readonly rtpParameters: RtpParameters;
  readonly ssrc: number;
  readonly #producer: WeriftProducer;
  readonly #link: ConsumerLink;
  readonly #payloadTypes: ReadonlyMap<number, number>;
  readonly #clockRate: number;
  readonly #listeners = new Listeners<ConsumerEvents>();
  readonly #buffer: (Sent | undefined)[] = new Array<Sent | undefined>(BUFFER_SIZE);
  #closed = false;
  #paused: boolean;
  #producerPaused: boolean;
  // Rewriting state: the next sequence number we send, and the offsets from the producer's numbers.
  #nextSeq = randomInt(0, 0x10000);
  #seqOffset = 0;
  #tsOffset = randomInt(0, 0x100000000);
  #synced = false;
  #lastTs = 0;
  #lastSentAt = -1;
  #packets = 0;
  #bytes = 0;
  #retransmitted = 0;
  #nacks = 0;
  #plis = 0;
  #lost = 0;

  constructor(opts: { producer: WeriftProducer; rtpParameters: RtpParameters; payloadTypes: ReadonlyMap<number, number>; paused: boolean; link: ConsumerLink }) {
    this.#producer = opts.producer;
    this.kind = opts.producer.kind;
    this.producerId = opts.producer.id;
    this.rtpParameters = opts.rtpParameters;
    const ssrc = opts.rtpParameters.encodings?.[0]?.ssrc;
    if (ssrc === undefined) throw new TypeError('consumer parameters need an encoding ssrc');
    this.ssrc = ssrc;
    this.#payloadTypes = opts.payloadTypes;
    this.#clockRate = opts.rtpParameters.codecs[0]?.clockRate ?? 90000;
    this.#paused = opts.paused;
    this.#producerPaused = opts.producer.paused;
    this.#link = opts.link;
  }

  get closed(): boolean {
    return this.#closed;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get producerPaused(): boolean {
    return this.#producerPaused;
  }

  on(event: 'close', listener: (reason: CloseReason) => void): Unsubscribe;
  on(event: 'producerpause' | 'producerresume', listener: () => void): Unsubscribe;
  on(event: keyof ConsumerEvents, listener: (...args: never[]) => void): Unsubscribe {
    return this.#listeners.on(event, listener as (...args: unknown[]) => void);
  }

  /** Forwards one packet of the producer, rewritten for this consumer. */
  send(rtp: RtpPacket): void {
    if (this.#paused || this.#producerPaused || !this.#link.isConnected()) return;
    const pt = this.#payloadTypes.get(rtp.header.payloadType);
    if (pt === undefined) return;
    const now = this.#link.now();
    if (!this.#synced) {
      this.#seqOffset = (this.#nextSeq - rtp.header.sequenceNumber) & 0xffff;
      // Keep the clock running through the gap, as if we had sent all along.
      if (this.#lastSentAt >= 0) this.#tsOffset = (this.#lastTs + Math.round(((now - this.#lastSentAt) * this.#clockRate) / 1000) + 1 - rtp.header.timestamp) >>> 0;
      this.#synced = true;
    }
    const seq = (rtp.header.sequenceNumber + this.#seqOffset) & 0xffff;
    const timestamp = (rtp.header.timestamp + this.#tsOffset) >>> 0;
    const header = new RtpHeader({ payloadType: pt, sequenceNumber: seq, timestamp, ssrc: this.ssrc, marker: rtp.header.marker });
    this.#link.sendRtp(rtp.payload, header);
    this.#buffer[seq % BUFFER_SIZE] = { seq, header, payload: rtp.payload };
    if (((seq - this.#nextSeq) & 0xffff) < 0x8000) this.#nextSeq = (seq + 1) & 0xffff;
    this.#lastTs = timestamp;
    this.#lastSentAt = now;
    this.#packets++;
    this.#bytes += rtp.payload.length;
  }

  /** The producer switched streams: continue our numbering from where it stands. */
  resync(): void {
    this.#synced = false;
  }

  /** The client lost these sequence numbers: resend what we still have. */
  onNack(lost: readonly number[]): void {
    this.#nacks++;
    if (!this.#link.isConnected()) return;
    for (const seq of lost) {
      const sent = this.#buffer[seq % BUFFER_SIZE];
      if (sent?.seq !== seq) continue;
      this.#link.sendRtp(sent.payload, sent.header);
      this.#retransmitted++;
    }
  }

  /** The transport just connected: a video stream must start with a key frame. */
  onConnected(): void {
    if (!this.#paused) this.#producer.requestKeyFrame(true);
  }

  onKeyFrameRequest(): void {
    this.#plis++;
    if (!this.#paused) this.#producer.requestKeyFrame();
  }

  onReceiverReport(report: RtcpReceiverInfo): void {
    this.#lost = report.packetsLost;
  }

  /** Our sender report; null before anything was sent. */
  senderReport(): RtcpSrPacket | null {
    if (this.#lastSentAt < 0) return null;
    const now = this.#link.now();
    const rtpTimestamp = (this.#lastTs + Math.round(((now - this.#lastSentAt) * this.#clockRate) / 1000)) >>> 0;
    const ntpSeconds = BigInt(Math.floor(now / 1000) + 2208988800);
    const ntpFraction = BigInt(Math.floor(((now % 1000) / 1000) * 2 ** 32));
    const senderInfo = new RtcpSenderInfo({ ntpTimestamp: (ntpSeconds << 32n) | ntpFraction, rtpTimestamp, packetCount: this.#packets >>> 0, octetCount: this.#bytes >>> 0 });
    return new RtcpSrPacket({ ssrc: this.ssrc, senderInfo });
  }

  setProducerPaused(paused: boolean): void {
    if (this.#closed || this.#producerPaused === paused) return;
    this.#producerPaused = paused;
    if (!paused) this.#synced = false;
    this.#listeners.emit(paused ? 'producerpause' : 'producerresume');
  }

  async pause(): Promise<void> {
    this.#check();
    this.#paused = true;
  }

  async resume(): Promise<void> {
    this.#check();
    if (!this.#paused) return;
    this.#paused = false;
    this.#synced = false;
    this.#producer.requestKeyFrame(true);
  }

  async requestKeyFrame(): Promise<void> {
    this.#check();
    this.#producer.requestKeyFrame(true);
  }

  async getStats(): Promise<ConsumerStats> {
    this.#check();
    return { packetsSent: this.#packets, bytesSent: this.#bytes, packetsRetransmitted: this.#retransmitted, nackCount: this.#nacks, pliCount: this.#plis, packetsLost: this.#lost };
  }

  async close(): Promise<void> {
    this.closeWith('closed');
  }

  closeWith(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#producer.removeConsumer(this);
    this.#link.forget(this);
    this.#buffer.fill(undefined);
    this.#listeners.emit('close', reason);
    this.#listeners.clear();
  }

  #check(): void {
    if (this.#closed) throw new AppError('CLOSED', 'consumer closed');
  }
}
