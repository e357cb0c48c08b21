/**
 * The in-process adapter of the MediaEngine port: it moves no packets, but
 * keeps every semantic of src/ports/media-engine.ts, so signaling can be
 * tested without sockets and the contract suite has a reference to hold the
 * real engines to.
 *
 * Close cascade (mediasoup's): FakeMedia -> FakeRouter -> FakeTransport ->
 * FakeProducer / FakeConsumer (sfu/fake/), and FakeProducer -> its
 * FakeConsumers. A parent marks itself closed, closes its children with its
 * reason (`routerclose`, `transportclose`, `producerclose`), then emits its
 * own `close`; each child tells its parents to forget it. Routers closed by
 * the engine's `close()` emit `closed`: the port has no engine reason.
 *
 * What stands in for traffic: `connect()` reports DTLS `connecting` then
 * `connected` at once; stats are zero except a producer's `pliCount`, which
 * counts the key frames its consumers asked for (a video consumer created
 * active or resumed, a producer resumed, `requestKeyFrame()`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../src/errors.js';
import type {
  CloseReason,
  DtlsParameters,
  EngineStats,
  IceCandidate,
  IceParameters,
  MediaConsumer,
  MediaEngine,
  MediaKind,
  MediaProducer,
  MediaRouter,
  MediaTransport,
  RtpCapabilities,
  RtpParameters,
  TransportStats,
  Unsubscribe,
} from '../src/ports/media-engine.js';
import { buildConsumerRtpParameters, matchProducerCodec, routerRtpCapabilities } from './capabilities.js';
import { FakeConsumer } from './fake/fake-consumer.js';
import { FakeProducer } from './fake/fake-producer.js';
import { Listeners } from './listeners.js';

type DtlsState = 'connecting' | 'connected' | 'failed' | 'closed';
type CloseEvents = { close: [CloseReason] };

export interface FakeMediaOptions {
  /** The address put in the transports' ICE candidates; default 127.0.0.1. */
  readonly announcedIp?: string;
}

function assertOpen(closed: boolean, what: string): void {
  if (closed) throw new AppError('CLOSED', `${what} closed`);
}

function checkPaused(paused: unknown): boolean {
  if (paused !== undefined && typeof paused !== 'boolean') throw new TypeError('paused must be a boolean');
  return paused ?? false;
}

function checkOptions(options: unknown): Record<string, unknown> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  return options as Record<string, unknown>;
}

function checkDtlsParameters(value: unknown): asserts value is DtlsParameters {
  const p = value as Partial<Record<string, unknown>> | null;
  const fingerprints = p?.['fingerprints'];
  const ok =
    typeof p === 'object' && p !== null &&
    (p['role'] === undefined || p['role'] === 'auto' || p['role'] === 'client' || p['role'] === 'server') &&
    Array.isArray(fingerprints) && fingerprints.length > 0 &&
    fingerprints.every((f: unknown) => typeof f === 'object' && f !== null && typeof (f as Record<string, unknown>)['algorithm'] === 'string' && typeof (f as Record<string, unknown>)['value'] === 'string');
  if (!ok) throw new TypeError('invalid dtlsParameters');
}

const ssrcsOf = (params: RtpParameters): number[] => (params.encodings ?? []).flatMap((e) => (e.ssrc === undefined ? [] : [e.ssrc]));

const ICE_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const randomIceString = (length: number): string => [...randomBytes(length)].map((b) => ICE_CHARS[b % ICE_CHARS.length]).join('');
const newIceParameters = (): IceParameters => ({ usernameFragment: randomIceString(16), password: randomIceString(32), iceLite: true });

export class FakeMedia implements MediaEngine {
  readonly name = 'fake';
  readonly #routers = new Set<FakeRouter>();
  readonly #announcedIp: string;
  #nextPort = 40000;
  #closed = false;

  constructor(options: FakeMediaOptions = {}) {
    if (options.announcedIp !== undefined && (typeof options.announcedIp !== 'string' || options.announcedIp === '')) throw new TypeError('announcedIp must be a non-empty string');
    this.#announcedIp = options.announcedIp ?? '127.0.0.1';
  }

  async createRouter(): Promise<MediaRouter> {
    assertOpen(this.#closed, 'engine');
    const router = new FakeRouter(this.#announcedIp, () => this.#nextPort++, () => this.#routers.delete(router));
    this.#routers.add(router);
    return router;
  }

  async stats(): Promise<EngineStats> {
    const sum = { routers: this.#routers.size, transports: 0, producers: 0, consumers: 0 };
    for (const r of this.#routers) {
      const s = r.count();
      sum.transports += s.transports;
      sum.producers += s.producers;
      sum.consumers += s.consumers;
    }
    return sum;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const r of [...this.#routers]) r.closeBy('closed');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export class FakeRouter implements MediaRouter {
  readonly id = randomUUID();
  readonly rtpCapabilities: RtpCapabilities = routerRtpCapabilities;
  readonly #transports = new Set<FakeTransport>();
  /** Live producers of every transport, by id: what `consume()` may name. */
  readonly producers = new Map<string, FakeProducer>();
  readonly #listeners = new Listeners<CloseEvents>();
  readonly #announcedIp: string;
  readonly #nextPort: () => number;
  readonly #forget: () => void;
  #closed = false;

  constructor(announcedIp: string, nextPort: () => number, forget: () => void) {
    this.#announcedIp = announcedIp;
    this.#nextPort = nextPort;
    this.#forget = forget;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async createWebRtcTransport(options: { readonly producing: boolean; readonly consuming: boolean }): Promise<MediaTransport> {
    assertOpen(this.#closed, 'router');
    const o = checkOptions(options);
    if (typeof o['producing'] !== 'boolean' || typeof o['consuming'] !== 'boolean') throw new TypeError('producing and consuming must be booleans');
    const transport = new FakeTransport(this, this.#announcedIp, this.#nextPort(), () => this.#transports.delete(transport));
    this.#transports.add(transport);
    return transport;
  }

  count(): Omit<EngineStats, 'routers'> {
    let consumers = 0;
    for (const t of this.#transports) consumers += t.consumerCount;
    return { transports: this.#transports.size, producers: this.producers.size, consumers };
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
    for (const t of [...this.#transports]) t.closeBy('routerclose');
    this.#forget();
    this.#listeners.emit('close', reason);
    this.#listeners.clear();
  }
}

export class FakeTransport implements MediaTransport {
  readonly id = randomUUID();
  readonly iceCandidates: readonly IceCandidate[];
  readonly dtlsParameters: DtlsParameters;
  readonly #router: FakeRouter;
  readonly #producers = new Set<FakeProducer>();
  readonly #consumers = new Set<FakeConsumer>();
  /** The mid of the next consumer: one number per consumer of this transport, never reused. */
  #nextConsumerMid = 0;
  readonly #listeners = new Listeners<CloseEvents & { dtlsstatechange: [DtlsState] }>();
  readonly #forget: () => void;
  #iceParameters = newIceParameters();
  #connected = false;
  #closed = false;

  constructor(router: FakeRouter, ip: string, port: number, forget: () => void) {
    this.#router = router;
    this.#forget = forget;
    // mediasoup's host UDP candidate: foundation and priority as its worker announces them.
    this.iceCandidates = [{ foundation: 'udpcandidate', priority: 1076302079, ip, address: ip, protocol: 'udp', port, type: 'host' }];
    const fingerprint = [...randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
    this.dtlsParameters = { role: 'auto', fingerprints: [{ algorithm: 'sha-256', value: fingerprint }] };
  }

  get closed(): boolean {
    return this.#closed;
  }
  get iceParameters(): IceParameters {
    return this.#iceParameters;
  }
  get consumerCount(): number {
    return this.#consumers.size;
  }

  async connect(options: { readonly dtlsParameters: DtlsParameters }): Promise<void> {
    assertOpen(this.#closed, 'transport');
    checkDtlsParameters(checkOptions(options)['dtlsParameters']);
    if (this.#connected) throw new AppError('BAD_REQUEST', 'transport already connected');
    this.#connected = true;
    this.#listeners.emit('dtlsstatechange', 'connecting');
    this.#listeners.emit('dtlsstatechange', 'connected');
  }

  async restartIce(): Promise<IceParameters> {
    assertOpen(this.#closed, 'transport');
    this.#iceParameters = newIceParameters();
    return this.#iceParameters;
  }

  async produce(options: { readonly kind: MediaKind; readonly rtpParameters: RtpParameters; readonly paused?: boolean }): Promise<MediaProducer> {
    assertOpen(this.#closed, 'transport');
    const o = checkOptions(options);
    const paused = checkPaused(o['paused']);
    matchProducerCodec(o['kind'], o['rtpParameters'], this.#router.rtpCapabilities);
    // A real engine tells the transport's incoming streams apart by SSRC and MID, so each may belong to one producer.
    const ssrcs = new Set(ssrcsOf(options.rtpParameters));
    const mid = options.rtpParameters.mid;
    for (const p of this.#producers) {
      if (ssrcsOf(p.rtpParameters).some((x) => ssrcs.has(x))) throw new AppError('BAD_REQUEST', 'an encoding ssrc is already in use on this transport');
      if (mid !== undefined && p.rtpParameters.mid === mid) throw new AppError('BAD_REQUEST', `mid ${mid} is already in use on this transport`);
    }
    // A copy: the caller may reuse its object, and getters must keep what was produced.
    const producer = new FakeProducer(options.kind, structuredClone(options.rtpParameters), paused, () => {
      this.#producers.delete(producer);
      this.#router.producers.delete(producer.id);
    });
    this.#producers.add(producer);
    this.#router.producers.set(producer.id, producer);
    return producer;
  }

  async consume(options: { readonly producerId: string; readonly rtpCapabilities: RtpCapabilities; readonly paused?: boolean }): Promise<MediaConsumer> {
    assertOpen(this.#closed, 'transport');
    const o = checkOptions(options);
    if (typeof o['producerId'] !== 'string') throw new TypeError('producerId must be a string');
    const paused = checkPaused(o['paused']);
    const producer = this.#router.producers.get(o['producerId']);
    if (!producer) throw new AppError('BAD_REQUEST', 'unknown producer', { details: { producerId: o['producerId'] } });
    const rtpParameters = buildConsumerRtpParameters({ producer, rtpCapabilities: o['rtpCapabilities'], routerCapabilities: this.#router.rtpCapabilities, mid: String(this.#nextConsumerMid++) });
    const consumer = new FakeConsumer(producer, rtpParameters, paused, () => this.#consumers.delete(consumer));
    this.#consumers.add(consumer);
    return consumer;
  }

  async getStats(): Promise<TransportStats> {
    assertOpen(this.#closed, 'transport');
    return { iceState: this.#connected ? 'completed' : 'new', dtlsState: this.#connected ? 'connected' : 'new', bytesReceived: 0, bytesSent: 0 };
  }

  on(event: 'close', listener: (reason: CloseReason) => void): Unsubscribe;
  on(event: 'dtlsstatechange', listener: (state: DtlsState) => void): Unsubscribe;
  on(event: 'close' | 'dtlsstatechange', listener: (arg: never) => void): Unsubscribe {
    if (event !== 'close' && event !== 'dtlsstatechange') throw new TypeError(`unknown event ${String(event)}`);
    return this.#listeners.on(event, listener as (arg: unknown) => void);
  }

  async close(): Promise<void> {
    this.closeBy('closed');
  }

  closeBy(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [...this.#consumers]) c.closeBy('transportclose');
    for (const p of [...this.#producers]) p.closeBy('transportclose');
    this.#forget();
    this.#listeners.emit('close', reason);
    this.#listeners.clear();
  }
}
