/**
 * The media engine port: what the SFU needs of an engine that moves RTP, in
 * mediasoup's model (routers, WebRTC transports, producers, consumers), so
 * that mediasoup-client and the Hubs client work against any engine, and a
 * mediasoup engine can replace the werift one wherever its worker exists.
 *
 * Shapes on the wire (capabilities, RTP parameters, ICE and DTLS parameters)
 * are mediasoup's JSON, passed through to the client as they are.
 *
 * Semantics every engine keeps (the contract suite tests these sentences):
 * - Close cascades down: an engine closes its routers, a router its
 *   transports, a transport its producers and consumers, a producer the
 *   consumers of it. Each object closed by a cascade emits `close` once with
 *   the reason (`routerclose`, `transportclose`, `producerclose`); an object
 *   closed by its own `close()` emits `close` with `closed`. `close()` is
 *   idempotent and resolves once the object is closed.
 * - Any call on a closed object other than `close()` and the getters rejects
 *   with `AppError('CLOSED')`. Wrong arguments reject with `TypeError`. A
 *   producer or consumer the engine cannot serve (unknown producer, a codec
 *   the consumer lacks, a kind that does not match the parameters) rejects
 *   with `AppError('BAD_REQUEST')`.
 * - A consumer starts paused when created with `paused: true`; it forwards
 *   nothing while it or its producer is paused. Resuming a video consumer
 *   asks the producer for a key frame.
 * - Every consumer has its own SSRC, and the sequence numbers and timestamps
 *   it sends continue without jumps across pauses.
 * - Listeners run synchronously; an exception in a listener is the
 *   listener's bug and does not reach the engine.
 */

export type MediaKind = 'audio' | 'video';

export interface RtcpFeedback {
  readonly type: string;
  readonly parameter?: string;
}

export interface RtpCodecCapability {
  readonly kind: MediaKind;
  readonly mimeType: string;
  readonly preferredPayloadType: number;
  readonly clockRate: number;
  readonly channels?: number;
  readonly parameters?: Readonly<Record<string, string | number>>;
  readonly rtcpFeedback?: readonly RtcpFeedback[];
}

export interface RtpHeaderExtensionCapability {
  readonly kind: MediaKind;
  readonly uri: string;
  readonly preferredId: number;
  readonly preferredEncrypt?: boolean;
  readonly direction?: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
}

export interface RtpCapabilities {
  readonly codecs?: readonly RtpCodecCapability[];
  readonly headerExtensions?: readonly RtpHeaderExtensionCapability[];
}

export interface RtpCodecParameters {
  readonly mimeType: string;
  readonly payloadType: number;
  readonly clockRate: number;
  readonly channels?: number;
  readonly parameters?: Readonly<Record<string, string | number>>;
  readonly rtcpFeedback?: readonly RtcpFeedback[];
}

export interface RtpEncodingParameters {
  readonly ssrc?: number;
  readonly rid?: string;
  readonly rtx?: { readonly ssrc: number };
  readonly dtx?: boolean;
  readonly maxBitrate?: number;
  readonly scaleResolutionDownBy?: number;
  readonly scalabilityMode?: string;
}

export interface RtpParameters {
  readonly mid?: string;
  readonly codecs: readonly RtpCodecParameters[];
  readonly headerExtensions?: readonly { readonly uri: string; readonly id: number; readonly encrypt?: boolean }[];
  readonly encodings?: readonly RtpEncodingParameters[];
  readonly rtcp?: { readonly cname?: string; readonly reducedSize?: boolean; readonly mux?: boolean };
}

export interface IceParameters {
  readonly usernameFragment: string;
  readonly password: string;
  readonly iceLite?: boolean;
}

export interface IceCandidate {
  readonly foundation: string;
  readonly priority: number;
  readonly ip: string;
  readonly address: string;
  readonly protocol: 'udp' | 'tcp';
  readonly port: number;
  readonly type: 'host';
  readonly tcpType?: 'passive';
}

export type DtlsRole = 'auto' | 'client' | 'server';

export interface DtlsParameters {
  readonly role?: DtlsRole;
  readonly fingerprints: readonly { readonly algorithm: string; readonly value: string }[];
}

/** A listener registration; call it to remove the listener. */
export type Unsubscribe = () => void;

export type CloseReason = 'closed' | 'routerclose' | 'transportclose' | 'producerclose';

export interface TransportStats {
  readonly iceState: string;
  readonly dtlsState: string;
  readonly bytesReceived: number;
  readonly bytesSent: number;
}

export interface ProducerStats {
  readonly packetsReceived: number;
  readonly bytesReceived: number;
  /** Gaps in the sequence numbers received, as far as NACKs did not fill them. */
  readonly packetsLost: number;
  /** NACKs sent to the producing client. */
  readonly nackCount: number;
  /** PLIs and FIRs sent to the producing client. */
  readonly pliCount: number;
}

export interface ConsumerStats {
  readonly packetsSent: number;
  readonly bytesSent: number;
  readonly packetsRetransmitted: number;
  /** NACKs received from the consuming client. */
  readonly nackCount: number;
  /** PLIs and FIRs received from the consuming client. */
  readonly pliCount: number;
  /** Cumulative loss the consuming client reported in its receiver reports. */
  readonly packetsLost: number;
}

export interface EngineStats {
  readonly routers: number;
  readonly transports: number;
  readonly producers: number;
  readonly consumers: number;
}

export interface MediaEngine {
  /** `werift`, `mediasoup`, ...: for logs and metrics. */
  readonly name: string;
  /** A router for one room. The capabilities are fixed for its life. */
  createRouter(): Promise<MediaRouter>;
  stats(): Promise<EngineStats>;
  /** Closes every router; resolves when their sockets are released. */
  close(): Promise<void>;
}

export interface MediaRouter {
  readonly id: string;
  readonly closed: boolean;
  readonly rtpCapabilities: RtpCapabilities;
  /** A WebRTC transport with ICE-lite on the engine's announced address. */
  createWebRtcTransport(options: { readonly producing: boolean; readonly consuming: boolean }): Promise<MediaTransport>;
  on(event: 'close', listener: (reason: CloseReason) => void): Unsubscribe;
  close(): Promise<void>;
}

export interface MediaTransport {
  readonly id: string;
  readonly closed: boolean;
  readonly iceParameters: IceParameters;
  readonly iceCandidates: readonly IceCandidate[];
  readonly dtlsParameters: DtlsParameters;
  /** Starts DTLS with the client's fingerprints. Rejects when already connected. */
  connect(options: { readonly dtlsParameters: DtlsParameters }): Promise<void>;
  /** New local ICE credentials; the client must apply them. */
  restartIce(): Promise<IceParameters>;
  produce(options: { readonly kind: MediaKind; readonly rtpParameters: RtpParameters; readonly paused?: boolean }): Promise<MediaProducer>;
  /** A consumer of a producer of the same router, in the client's capabilities. */
  consume(options: { readonly producerId: string; readonly rtpCapabilities: RtpCapabilities; readonly paused?: boolean }): Promise<MediaConsumer>;
  getStats(): Promise<TransportStats>;
  on(event: 'close', listener: (reason: CloseReason) => void): Unsubscribe;
  on(event: 'dtlsstatechange', listener: (state: 'connecting' | 'connected' | 'failed' | 'closed') => void): Unsubscribe;
  close(): Promise<void>;
}

export interface MediaProducer {
  readonly id: string;
  readonly kind: MediaKind;
  readonly closed: boolean;
  readonly paused: boolean;
  readonly rtpParameters: RtpParameters;
  pause(): Promise<void>;
  resume(): Promise<void>;
  getStats(): Promise<ProducerStats>;
  on(event: 'close', listener: (reason: CloseReason) => void): Unsubscribe;
  close(): Promise<void>;
}

export interface MediaConsumer {
  readonly id: string;
  readonly producerId: string;
  readonly kind: MediaKind;
  readonly type: 'simple';
  readonly closed: boolean;
  readonly paused: boolean;
  readonly producerPaused: boolean;
  /** What the client passes to mediasoup-client's `transport.consume()`. */
  readonly rtpParameters: RtpParameters;
  pause(): Promise<void>;
  resume(): Promise<void>;
  requestKeyFrame(): Promise<void>;
  getStats(): Promise<ConsumerStats>;
  on(event: 'close', listener: (reason: CloseReason) => void): Unsubscribe;
  on(event: 'producerpause' | 'producerresume', listener: () => void): Unsubscribe;
  close(): Promise<void>;
}
