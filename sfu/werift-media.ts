/**
 * The werift media engine: mediasoup's model (routers, WebRTC transports,
 * producers, consumers) on werift's pure TypeScript ICE, DTLS and SRTP, for
 * machines where mediasoup's C++ worker cannot be installed
 * (reference/sfu.md). One DTLS certificate serves the whole engine.
 *
 * Close cascade: engine -> routers (`closed` for each router's own close) ->
 * transports (`routerclose`) -> producers and consumers (`transportclose`);
 * a producer closes its consumers (`producerclose`). Children tell their
 * parent to forget them.
 *
 * UDP ports are taken from `portRange` in turn, so a new transport does not
 * retry every port a live one holds.
 */
import { randomUUID } from 'node:crypto';
import { RTCDtlsTransport, type RTCCertificate } from 'werift';
import { AppError } from '../src/errors.js';
import type { Clock } from '../src/ports/clock.js';
import type { CloseReason, EngineStats, MediaEngine, MediaRouter, RtpCapabilities, Unsubscribe } from '../src/ports/media-engine.js';
import { SystemClock } from '../src/adapters/system-clock.js';
import { routerRtpCapabilities } from './capabilities.js';
import { Listeners } from './listeners.js';
import { IceDtlsLeg } from './werift/ice-dtls.js';
import type { WeriftConsumer } from './werift/werift-consumer.js';
import type { WeriftProducer } from './werift/werift-producer.js';
import { WeriftTransport } from './werift/werift-transport.js';

export interface WeriftMediaOptions {
  /** The address put in ICE candidates (127.0.0.1 for tests on loopback). */
  readonly announcedIp: string;
  /**
   * The IPv4 address media sockets bind to; by default every interface. Set
   * it to the announced address unless that is a NAT's public address.
   */
  readonly listenIp?: string;
  /**
   * The most a producing client is told it may send per transport (REMB), in
   * bits per second; 0 sends no REMB. Default 3 Mbps (dialog caps incoming
   * bitrate at 1.5 Mbps, too little for the upper layers of Hubs' camera).
   */
  readonly maxIncomingBitrate?: number;
  /** UDP ports for media, inclusive; by default any free port. */
  readonly portRange?: readonly [number, number];
  readonly clock?: Clock;
}

const DEFAULT_MAX_INCOMING_BITRATE = 3_000_000;

interface EngineCounts {
  transports: number;
  producers: number;
  consumers: number;
}

class WeriftRouter implements MediaRouter {
  readonly id = randomUUID();
  readonly rtpCapabilities: RtpCapabilities = routerRtpCapabilities;
  readonly clock: Clock;
  readonly maxIncomingBitrate: number;
  readonly #engine: WeriftMedia;
  readonly #counts: EngineCounts;
  readonly #listeners = new Listeners<{ close: [CloseReason] }>();
  readonly #transports = new Set<WeriftTransport>();
  readonly #producers = new Map<string, WeriftProducer>();
  #closed = false;

  constructor(engine: WeriftMedia, counts: EngineCounts, clock: Clock, maxIncomingBitrate: number) {
    this.#engine = engine;
    this.#counts = counts;
    this.clock = clock;
    this.maxIncomingBitrate = maxIncomingBitrate;
  }

  get closed(): boolean {
    return this.#closed;
  }

  on(event: 'close', listener: (reason: CloseReason) => void): Unsubscribe {
    return this.#listeners.on(event, listener);
  }

  async createWebRtcTransport(options: { readonly producing: boolean; readonly consuming: boolean }): Promise<WeriftTransport> {
    if (this.#closed) throw new AppError('CLOSED', 'router closed');
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const leg = await this.#engine.openLeg();
    if (this.#closed) {
      await leg.close();
      throw new AppError('CLOSED', 'router closed');
    }
    const transport = new WeriftTransport(leg, this);
    this.#transports.add(transport);
    this.#counts.transports++;
    return transport;
  }

  findProducer(id: string): WeriftProducer | undefined {
    return this.#producers.get(id);
  }
  producerAdded(p: WeriftProducer): void {
    this.#producers.set(p.id, p);
    this.#counts.producers++;
  }
  producerGone(p: WeriftProducer): void {
    if (this.#producers.delete(p.id)) this.#counts.producers--;
  }
  consumerAdded(_c: WeriftConsumer): void {
    this.#counts.consumers++;
  }
  consumerGone(_c: WeriftConsumer): void {
    this.#counts.consumers--;
  }
  transportGone(t: WeriftTransport): void {
    if (this.#transports.delete(t)) this.#counts.transports--;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#transports].map((t) => t.closeWith('routerclose')));
    this.#engine.forget(this);
    this.#listeners.emit('close', 'closed');
    this.#listeners.clear();
  }
}

export class WeriftMedia implements MediaEngine {
  readonly name = 'werift';
  readonly #opts: WeriftMediaOptions;
  readonly #clock: Clock;
  readonly #routers = new Set<WeriftRouter>();
  readonly #counts: EngineCounts = { transports: 0, producers: 0, consumers: 0 };
  #certificate: Promise<RTCCertificate> | null = null;
  #nextPort: number;
  #closed = false;

  constructor(opts: WeriftMediaOptions) {
    if (typeof opts?.announcedIp !== 'string' || opts.announcedIp === '') throw new TypeError('announcedIp must be an IP address');
    const range = opts.portRange;
    if (range && !(Number.isInteger(range[0]) && Number.isInteger(range[1]) && range[0] >= 1 && range[0] <= range[1] && range[1] <= 65535)) {
      throw new TypeError('portRange must be [min, max] with 1 <= min <= max <= 65535');
    }
    if (opts.maxIncomingBitrate !== undefined && !(Number.isSafeInteger(opts.maxIncomingBitrate) && opts.maxIncomingBitrate >= 0)) throw new TypeError('maxIncomingBitrate must be a whole number of bits per second');
    this.#opts = opts;
    this.#clock = opts.clock ?? new SystemClock();
    this.#nextPort = range?.[0] ?? 0;
  }

  async createRouter(): Promise<MediaRouter> {
    if (this.#closed) throw new AppError('CLOSED', 'media engine closed');
    const router = new WeriftRouter(this, this.#counts, this.#clock, this.#opts.maxIncomingBitrate ?? DEFAULT_MAX_INCOMING_BITRATE);
    this.#routers.add(router);
    return router;
  }

  async stats(): Promise<EngineStats> {
    return { routers: this.#routers.size, ...this.#counts };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#routers].map((r) => r.close()));
  }

  /** One ICE/DTLS leg on the next free port of the range. */
  async openLeg(): Promise<IceDtlsLeg> {
    const certificate = await (this.#certificate ??= RTCDtlsTransport.SetupCertificate());
    const range = this.#opts.portRange;
    const { announcedIp, listenIp } = this.#opts;
    if (!range) return IceDtlsLeg.open({ announcedIp, listenIp, certificate });
    // Start after the last port handed out; on the way around, the whole range.
    const start = this.#nextPort > range[1] ? range[0] : this.#nextPort;
    let leg: IceDtlsLeg;
    try {
      leg = await IceDtlsLeg.open({ announcedIp, listenIp, certificate, portRange: [start, range[1]] });
    } catch (err) {
      if (start === range[0]) throw new AppError('INTERNAL', 'no free UDP port in the media port range', { cause: err });
      leg = await IceDtlsLeg.open({ announcedIp, listenIp, certificate, portRange: [range[0], range[1]] });
    }
    this.#nextPort = leg.port + 1;
    return leg;
  }

  forget(router: WeriftRouter): void {
    this.#routers.delete(router);
  }
}
