/**
 * A consumer of FakeMedia (see sfu/fake-media.ts): pause and resume, the
 * producer's pause and resume as events, and key-frame requests passed to
 * its producer while it is active.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../src/errors.js';
import type { CloseReason, ConsumerStats, MediaConsumer, MediaKind, RtpParameters, Unsubscribe } from '../../src/ports/media-engine.js';
import { Listeners } from '../listeners.js';
import type { FakeProducer } from './fake-producer.js';

export class FakeConsumer implements MediaConsumer {
  readonly id = randomUUID();
  readonly type = 'simple' as const;
  readonly producerId: string;
  readonly kind: MediaKind;
  readonly rtpParameters: RtpParameters;
  readonly #producer: FakeProducer;
  readonly #listeners = new Listeners<{ close: [CloseReason]; producerpause: []; producerresume: [] }>();
  readonly #forgetByTransport: () => void;
  readonly #forgetByProducer: () => void;
  #paused: boolean;
  #producerPaused: boolean;
  #closed = false;

  constructor(producer: FakeProducer, rtpParameters: RtpParameters, paused: boolean, forget: () => void) {
    this.#producer = producer;
    this.producerId = producer.id;
    this.kind = producer.kind;
    this.rtpParameters = rtpParameters;
    this.#paused = paused;
    this.#producerPaused = producer.paused;
    this.#forgetByTransport = forget;
    this.#forgetByProducer = producer.attach(this);
    if (!paused) producer.requestKeyFrame();
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

  /** Called by the producer when it pauses or resumes. */
  setProducerPaused(paused: boolean): void {
    this.#producerPaused = paused;
    this.#listeners.emit(paused ? 'producerpause' : 'producerresume');
    if (!paused && !this.#paused) this.#producer.requestKeyFrame();
  }

  async pause(): Promise<void> {
    this.#check();
    this.#paused = true;
  }

  async resume(): Promise<void> {
    this.#check();
    if (!this.#paused) return;
    this.#paused = false;
    this.#producer.requestKeyFrame();
  }

  async requestKeyFrame(): Promise<void> {
    this.#check();
    if (!this.#paused) this.#producer.requestKeyFrame();
  }

  async getStats(): Promise<ConsumerStats> {
    this.#check();
    return { packetsSent: 0, bytesSent: 0, packetsRetransmitted: 0, nackCount: 0, pliCount: 0, packetsLost: 0 };
  }

  on(event: 'close', listener: (reason: CloseReason) => void): Unsubscribe;
  on(event: 'producerpause' | 'producerresume', listener: () => void): Unsubscribe;
  on(event: 'close' | 'producerpause' | 'producerresume', listener: (...args: never[]) => void): Unsubscribe {
    if (event !== 'close' && event !== 'producerpause' && event !== 'producerresume') throw new TypeError(`unknown event ${String(event)}`);
    return this.#listeners.on(event, listener as (...args: unknown[]) => void);
  }

  async close(): Promise<void> {
    this.closeBy('closed');
  }

  closeBy(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#forgetByTransport();
    this.#forgetByProducer();
    this.#listeners.emit('close', reason);
    this.#listeners.clear();
  }

  #check(): void {
    if (this.#closed) throw new AppError('CLOSED', 'consumer closed');
  }
}
