/**
 * A headless media client for tests and benchmarks: mediasoup-client's
 * Chrome111 handler running on libwebrtc for Node (@roamhq/wrtc). It knows
 * nothing of protoo: it is driven through `MediaSignaling`, so a test can
 * wire it straight to an engine (`engineSignaling`) and the bench over the
 * SFU's websocket.
 *
 * It sends a 440 Hz sine from wrtc's RTCAudioSource (10 ms frames of 48 kHz
 * mono) and, optionally, a moving I420 test picture from RTCVideoSource; it
 * counts what it receives from the peer connection's inbound-rtp stats and,
 * when asked, the energy of decoded audio through RTCAudioSink. Every
 * source feed stops after `maxSendMs`. `close()` stops every timer, source,
 * sink, producer, consumer and peer connection the client made.
 *
 * Loopback: the server offers only 127.0.0.1 candidates. Unlike Chromium
 * (which needs --allow-loopback-in-peer-connection), the libwebrtc in wrtc
 * gathers host candidates on the loopback interface by default, and the
 * 127.0.0.1 pair is the one that connects: no flag or setting is needed.
 */
import wrtc from '@roamhq/wrtc';
import { Device, type types } from 'mediasoup-client';
import type { DtlsParameters, IceCandidate, IceParameters, MediaKind, MediaRouter, MediaTransport, RtpCapabilities, RtpParameters } from '../../src/ports/media-engine.js';

/** What the client needs from signaling; each call maps to one SFU request. */
export interface MediaSignaling {
  getRouterRtpCapabilities(): Promise<RtpCapabilities>;
  createTransport(direction: 'send' | 'recv'): Promise<{ id: string; iceParameters: IceParameters; iceCandidates: readonly IceCandidate[]; dtlsParameters: DtlsParameters }>;
  connect(transportId: string, dtlsParameters: DtlsParameters): Promise<void>;
  /** Resolves with the producer id. */
  produce(transportId: string, kind: MediaKind, rtpParameters: RtpParameters): Promise<string>;
  /** The server creates the consumer paused; the client resumes it with `resume` once it is ready to play. */
  consume(transportId: string, producerId: string, rtpCapabilities: RtpCapabilities): Promise<{ id: string; kind: MediaKind; rtpParameters: RtpParameters }>;
  resume(consumerId: string): Promise<void>;
}

export interface ReceiveStats {
  readonly consumerId: string;
  readonly producerId: string;
  readonly kind: MediaKind;
  readonly packetsReceived: number;
  readonly packetsLost: number;
  readonly bytesReceived: number;
  /** Video frames libwebrtc decoded: proof the forwarded stream is well-formed, not just that packets came. */
  readonly framesDecoded: number;
  /** RMS of the decoded samples (0..1) since the consumer started; 0 unless consumed with `energy: true`. */
  readonly audioRms: number;
}

export interface WrtcClientOptions {
  /** Source feeds stop after this long, whatever else happens; default 60 s. */
  readonly maxSendMs?: number;
}

// The parts of wrtc's and libwebrtc's objects this file touches (wrtc's own
// typings lean on the DOM library, which this project does not load).
interface Track {
  readonly kind: string;
  stop(): void;
}
interface AudioSource {
  createTrack(): Track;
  onData(data: { samples: Int16Array; sampleRate: number; bitsPerSample: number; channelCount: number; numberOfFrames: number }): void;
}
interface VideoSource {
  createTrack(): Track;
  onFrame(frame: { width: number; height: number; data: Uint8Array }): void;
}
interface AudioSink {
  ondata: ((data: { samples: Int16Array }) => void) | null;
  stop(): void;
}
type StatsReport = Map<string, Record<string, unknown>>;
interface Nonstandard {
  RTCAudioSource: new () => AudioSource;
  RTCVideoSource: new () => VideoSource;
  RTCAudioSink: new (track: Track) => AudioSink;
}
const nonstandard = (wrtc as unknown as { nonstandard: Nonstandard }).nonstandard;

const GLOBALS = ['RTCPeerConnection', 'RTCSessionDescription', 'RTCIceCandidate', 'MediaStream', 'MediaStreamTrack', 'RTCRtpSender', 'RTCRtpReceiver', 'RTCRtpTransceiver', 'RTCDataChannel'] as const;

/** Makes wrtc's classes the process's WebRTC globals, where none exist; mediasoup-client's handlers use the globals. */
export function installWrtcGlobals(): void {
  const g = globalThis as Record<string, unknown>;
  const w = wrtc as unknown as Record<string, unknown>;
  for (const name of GLOBALS) g[name] ??= w[name];
}

// mediasoup-client normalizes (mutates) what it is given; an engine's objects may be frozen.
const copy = <T>(value: unknown): T => structuredClone(value) as T;

const SAMPLE_RATE = 48_000;
const FRAME_MS = 10;
const VIDEO = { width: 320, height: 240, fps: 15 } as const;

interface Feed {
  readonly track: Track;
  readonly timer: NodeJS.Timeout;
}

/** Calls `tick(frameIndex)` for every `periodMs` of wall time, catching up after a late timer; stops after `maxMs`. */
function startFeed(track: Track, periodMs: number, maxMs: number, tick: (frame: number) => void): Feed {
  const started = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    const elapsed = performance.now() - started;
    if (elapsed > maxMs) {
      clearInterval(timer);
      return;
    }
    const due = Math.floor(elapsed / periodMs) + 1;
    // At most 10 frames at once: a process that stalled longer skips ahead, as a real device would.
    sent = Math.max(sent, due - 10);
    while (sent < due) tick(sent++);
  }, periodMs);
  return { track, timer };
}

class ConsumerState {
  sumSquares = 0;
  samples = 0;
  constructor(
    readonly consumer: types.Consumer,
    readonly ssrc: number,
    readonly sink: AudioSink | undefined,
  ) {}
}

export class WrtcClient {
  readonly #signaling: MediaSignaling;
  readonly #device: Device;
  readonly #maxSendMs: number;
  readonly #feeds: Feed[] = [];
  readonly #consumers: ConsumerState[] = [];
  #send: Promise<types.Transport> | undefined;
  #recv: Promise<types.Transport> | undefined;
  #closed = false;

  private constructor(signaling: MediaSignaling, device: Device, maxSendMs: number) {
    this.#signaling = signaling;
    this.#device = device;
    this.#maxSendMs = maxSendMs;
  }

  /** A client whose device is loaded with the router's capabilities. */
  static async create(signaling: MediaSignaling, options: WrtcClientOptions = {}): Promise<WrtcClient> {
    installWrtcGlobals();
    const device = new Device({ handlerName: 'Chrome111' });
    await device.load({ routerRtpCapabilities: copy(await signaling.getRouterRtpCapabilities()) });
    return new WrtcClient(signaling, device, options.maxSendMs ?? 60_000);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** What the client sends in `consume` requests. */
  get rtpCapabilities(): RtpCapabilities {
    return this.#device.recvRtpCapabilities as RtpCapabilities;
  }

  /** Starts sending a sine; resolves with the server's producer id. */
  async produceAudio(frequencyHz = 440): Promise<string> {
    this.#check();
    const source = new nonstandard.RTCAudioSource();
    const perFrame = (SAMPLE_RATE * FRAME_MS) / 1000;
    const feed = startFeed(source.createTrack(), FRAME_MS, this.#maxSendMs, (frame) => {
      const samples = new Int16Array(perFrame);
      for (let i = 0; i < perFrame; i++) samples[i] = Math.round(Math.sin((2 * Math.PI * frequencyHz * (frame * perFrame + i)) / SAMPLE_RATE) * 0.3 * 32767);
      source.onData({ samples, sampleRate: SAMPLE_RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: perFrame });
    });
    return this.#produce(feed);
  }

  /** Starts sending a 320x240 picture with a moving bar at 15 fps; resolves with the server's producer id. */
  async produceVideo(): Promise<string> {
    this.#check();
    const source = new nonstandard.RTCVideoSource();
    const { width, height } = VIDEO;
    const feed = startFeed(source.createTrack(), 1000 / VIDEO.fps, this.#maxSendMs, (frame) => {
      const data = new Uint8Array(width * height * 1.5).fill(128);
      const bar = (frame * 4) % width;
      for (let y = 0; y < height; y++) data.fill(235, y * width + bar, y * width + Math.min(bar + 16, width));
      source.onFrame({ width, height, data });
    });
    return this.#produce(feed);
  }

  async #produce(feed: Feed): Promise<string> {
    // Kept first, so close() stops the feed even when producing fails.
    this.#feeds.push(feed);
    const transport = await (this.#send ??= this.#createTransport('send'));
    const producer = await transport.produce({ track: feed.track as unknown as MediaStreamTrackLike });
    return producer.id;
  }

  /** Consumes a producer and resumes it on the server; `energy` also decodes audio to measure it. */
  async consume(producerId: string, options: { readonly energy?: boolean } = {}): Promise<string> {
    this.#check();
    const transport = await (this.#recv ??= this.#createTransport('recv'));
    const info = await this.#signaling.consume(transport.id, producerId, copy(this.rtpCapabilities));
    const consumer = await transport.consume({ id: info.id, producerId, kind: info.kind, rtpParameters: copy(info.rtpParameters) });
    const ssrc = info.rtpParameters.encodings?.[0]?.ssrc ?? 0;
    const sink = options.energy && info.kind === 'audio' ? new nonstandard.RTCAudioSink(consumer.track as unknown as Track) : undefined;
    const state = new ConsumerState(consumer, ssrc, sink);
    if (sink) {
      sink.ondata = ({ samples }) => {
        for (const s of samples) state.sumSquares += (s / 32768) ** 2;
        state.samples += samples.length;
      };
    }
    this.#consumers.push(state);
    await this.#signaling.resume(info.id);
    return info.id;
  }

  /** One line per consumer, from one getStats() of the receiving peer connection. */
  async receiveStats(): Promise<ReceiveStats[]> {
    if (!this.#recv || this.#consumers.length === 0) return [];
    const report = (await (await this.#recv).getStats()) as unknown as StatsReport;
    const bySsrc = new Map<number, Record<string, unknown>>();
    for (const s of report.values()) if (s['type'] === 'inbound-rtp') bySsrc.set(Number(s['ssrc']), s);
    return this.#consumers.map(({ consumer, ssrc, sumSquares, samples }) => {
      const s = bySsrc.get(ssrc);
      return {
        consumerId: consumer.id,
        producerId: consumer.producerId,
        kind: consumer.kind,
        packetsReceived: Number(s?.['packetsReceived'] ?? 0),
        packetsLost: Math.max(0, Number(s?.['packetsLost'] ?? 0)),
        bytesReceived: Number(s?.['bytesReceived'] ?? 0),
        framesDecoded: Number(s?.['framesDecoded'] ?? 0),
        audioRms: samples > 0 ? Math.sqrt(sumSquares / samples) : 0,
      };
    });
  }

  /** RTP packets the sending peer connection has sent, over all its streams. */
  async packetsSent(): Promise<number> {
    if (!this.#send) return 0;
    const report = (await (await this.#send).getStats()) as unknown as StatsReport;
    let n = 0;
    for (const s of report.values()) if (s['type'] === 'outbound-rtp') n += Number(s['packetsSent'] ?? 0);
    return n;
  }

  /** Stops everything the client started; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const feed of this.#feeds) {
      clearInterval(feed.timer);
      feed.track.stop();
    }
    for (const { sink } of this.#consumers) sink?.stop();
    // Closing a transport closes its producers and consumers without a renegotiation each.
    // A transport still being created is closed once it exists.
    const transports = await Promise.allSettled([this.#send, this.#recv].filter((t) => t !== undefined));
    for (const t of transports) if (t.status === 'fulfilled') t.value.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #check(): void {
    if (this.#closed) throw new Error('client closed');
  }

  async #createTransport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const info = await this.#signaling.createTransport(direction);
    const options = { id: info.id, iceParameters: copy<types.IceParameters>(info.iceParameters), iceCandidates: copy<types.IceCandidate[]>(info.iceCandidates), dtlsParameters: copy<types.DtlsParameters>(info.dtlsParameters) };
    const transport = direction === 'send' ? this.#device.createSendTransport(options) : this.#device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#signaling.connect(transport.id, copy(dtlsParameters)).then(callback, errback);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
        this.#signaling.produce(transport.id, kind, copy(rtpParameters)).then((id) => callback({ id }), errback);
      });
    }
    if (this.#closed) transport.close();
    return transport;
  }
}

// mediasoup-client's produce() takes a DOM MediaStreamTrack; wrtc's track is one at run time.
type MediaStreamTrackLike = NonNullable<Parameters<types.Transport['produce']>[0]>['track'];

/**
 * Signaling straight to an engine's router, for tests without the SFU: the
 * server side of each call is the engine call the SFU would make. Consumers
 * are created paused and resumed by `resume`, as the SFU does.
 */
export function engineSignaling(router: MediaRouter): MediaSignaling {
  const transports = new Map<string, MediaTransport>();
  const consumers = new Map<string, { resume(): Promise<void> }>();
  const transport = (id: string): MediaTransport => {
    const t = transports.get(id);
    if (!t) throw new Error(`no transport ${id}`);
    return t;
  };
  return {
    getRouterRtpCapabilities: async () => router.rtpCapabilities,
    createTransport: async (direction) => {
      const t = await router.createWebRtcTransport({ producing: direction === 'send', consuming: direction === 'recv' });
      transports.set(t.id, t);
      t.on('close', () => transports.delete(t.id));
      return { id: t.id, iceParameters: t.iceParameters, iceCandidates: t.iceCandidates, dtlsParameters: t.dtlsParameters };
    },
    connect: async (id, dtlsParameters) => transport(id).connect({ dtlsParameters }),
    produce: async (id, kind, rtpParameters) => (await transport(id).produce({ kind, rtpParameters })).id,
    consume: async (id, producerId, rtpCapabilities) => {
      const c = await transport(id).consume({ producerId, rtpCapabilities, paused: true });
      consumers.set(c.id, c);
      c.on('close', () => consumers.delete(c.id));
      return { id: c.id, kind: c.kind, rtpParameters: c.rtpParameters };
    },
    resume: async (consumerId) => {
      const c = consumers.get(consumerId);
      if (!c) throw new Error(`no consumer ${consumerId}`);
      await c.resume();
    },
  };
}
