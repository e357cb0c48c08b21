/**
 * A producer of FakeMedia (see sfu/fake-media.ts): it keeps its consumers,
 * tells them when it pauses and resumes, closes them with `producerclose`,
 * and counts the key frames they ask for as the PLIs a real engine would send.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../src/errors.js';
import type { CloseReason, MediaKind, MediaProducer, ProducerStats, RtpParameters, Unsubscribe } from '../../src/ports/media-engine.js';
import { Listeners } from '../listeners.js';
import type { FakeConsumer } from './fake-consumer.js';

export class FakeProducer implements MediaProducer {
  readonly id = randomUUID();
  readonly kind: MediaKind;
  readonly rtpParameters: RtpParameters;
  readonly #consumers = new Set<FakeConsumer>();
  readonly #listeners = new Listeners<{ close: [CloseReason] }>();
  readonly #forget: () => void;
  #paused: boolean;
  #closed = false;
  #keyFrameRequests = 0;

  constructor(kind: MediaKind, rtpParameters: RtpParameters, paused: boolean, forget: () => void) {
    this.kind = kind;
    this.rtpParameters = rtpParameters;
    this.#paused = paused;
    this.#forget = forget;
  }

  get closed(): boolean {
    return this.#closed;
  }
  get paused(): boolean {
    return this.#paused;
  }

  /** A consumer of this producer; it is closed with `producerclose` when this closes. */
  attach(consumer: FakeConsumer): () => void {
    this.#consumers.add(consumer);
    return () => this.#consumers.delete(consumer);
  }

  /** A consumer asked for a key frame: count it as the PLI we would send. */
  requestKeyFrame(): void {
    if (this.kind === 'video' && !this.#paused) this.#keyFrameRequests++;
  }

  async pause(): Promise<void> {
    this.#check();
    if (this.#paused) return;
    this.#paused = true;
    for (const c of [...this.#consumers]) c.setProducerPaused(true);
  }

  async resume(): Promise<void> {
    this.#check();
    if (!this.#paused) return;
    this.#paused = false;
    for (const c of [...this.#consumers]) c.setProducerPaused(false);
  }

  async getStats(): Promise<ProducerStats> {
    this.#check();
    return { packetsReceived: 0, bytesReceived: 0, packetsLost: 0, nackCount: 0, pliCount: this.#keyFrameRequests };
  }

  on(event: 'close', listener: (reason: CloseReason) => void): Unsubscribe {
    if (event !== 'close') throw new TypeError(`unknown event ${String(event)}`);
    return this.#listeners.on(event, listener);
  }

  async close(): Promise<void> {
    this.closeBy('closed');
  }

  closeBy(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [...this.#consumers]) c.closeBy('producerclose');
    this.#forget();
    this.#listeners.emit('close', reason);
    this.#listeners.clear();
  }

  #check(): void {
    if (this.#closed) throw new AppError('CLOSED', 'producer closed');
  }
}
