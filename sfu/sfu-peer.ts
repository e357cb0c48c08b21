/**
 * One protoo peer of an SFU room: its socket, what it said at `join`, and
 * the media objects it owns. The room decides and the peer keeps the books:
 * each transport, producer and consumer removes itself from these maps when
 * the engine reports it closed, whatever closed it (parity: dialog's
 * `peer.data`, which mediasoup's `observer.on('close')` keeps the same way).
 *
 * Close cascade: `SfuRoom.removePeer` marks the peer closed, closes its
 * socket and its transports; the engine closes their producers and
 * consumers, and the consumers of those producers in other peers.
 */
import { AppError } from '../src/errors.js';
import type { MediaConsumer, MediaKind, MediaProducer, MediaTransport, RtpCapabilities } from '../src/ports/media-engine.js';
import type { PeerClaims } from './auth.js';
import type { ProtooPeer } from './protoo.js';

export interface TransportEntry {
  readonly transport: MediaTransport;
  readonly consuming: boolean;
}

export interface ProducerEntry {
  readonly producer: MediaProducer;
  /** The client's appData plus `peerId`, handed to consumers (as dialog does). */
  readonly appData: Readonly<Record<string, unknown>>;
}

export interface ConsumerEntry {
  readonly consumer: MediaConsumer;
  /** The peer whose producer this consumes. */
  readonly producerPeerId: string;
  /** The client answered `newConsumer`: until then the consumer stays paused. */
  isAccepted: boolean;
  /** The client asked for the pause (`pauseConsumer`). */
  isClientPaused: boolean;
  /** Closed by the server without the client ever having it: no `consumerClosed`. */
  isQuiet: boolean;
}

/** What a peer said and proved at `join`. */
export interface JoinedState {
  readonly claims: PeerClaims;
  readonly displayName: string;
  readonly device: Readonly<Record<string, unknown>>;
  readonly rtpCapabilities: RtpCapabilities;
}

export class SfuPeer {
  readonly transports = new Map<string, TransportEntry>();
  readonly producers = new Map<string, ProducerEntry>();
  readonly consumers = new Map<string, ConsumerEntry>();
  /** Peers this one blocked (parity: dialog `blockedPeers`). */
  readonly blocked = new Set<string>();
  /** Producers a consumer is being created for, so two offers do not race. */
  readonly offering = new Set<string>();
  /** Transports and producers being created: they count against the limits already. */
  pendingTransports = 0;
  pendingProducers = 0;
  #joined: JoinedState | null = null;
  #isJoining = false;
  #isClosed = false;

  constructor(
    readonly id: string,
    readonly protoo: ProtooPeer,
  ) {}

  get joined(): JoinedState | null {
    return this.#joined;
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Marks the peer closed; false when it already was. */
  markClosed(): boolean {
    if (this.#isClosed) return false;
    this.#isClosed = true;
    return true;
  }

  /** Starts a join; throws AppError('ALREADY_JOINED') when one is done or under way. */
  beginJoin(): void {
    if (this.#joined || this.#isJoining) throw new AppError('ALREADY_JOINED', 'this peer has joined already');
    this.#isJoining = true;
  }

  /** Ends a join begun with `beginJoin`: joined with `state`, or not (null) so the client may try again. */
  endJoin(state: JoinedState | null): void {
    this.#isJoining = false;
    this.#joined = state;
  }

  /** The join state; AppError('NOT_JOINED') before a successful join. */
  assertJoined(): JoinedState {
    if (!this.#joined) throw new AppError('NOT_JOINED', 'join first (with a valid perms token)');
    return this.#joined;
  }

  assertOpen(): void {
    if (this.#isClosed) throw new AppError('CLOSED', 'this peer is closed');
  }

  transport(transportId: string): MediaTransport {
    const entry = this.transports.get(transportId);
    if (!entry) throw new AppError('MEDIA_NOT_FOUND', `no transport ${transportId} on this peer`);
    return entry.transport;
  }

  producer(producerId: string): MediaProducer {
    const entry = this.producers.get(producerId);
    if (!entry) throw new AppError('MEDIA_NOT_FOUND', `no producer ${producerId} on this peer`);
    return entry.producer;
  }

  consumer(consumerId: string): ConsumerEntry {
    const entry = this.consumers.get(consumerId);
    if (!entry) throw new AppError('MEDIA_NOT_FOUND', `no consumer ${consumerId} on this peer`);
    return entry;
  }

  /** Whether this peer consumes `producerId` already or is being offered it. */
  isConsuming(producerId: string): boolean {
    if (this.offering.has(producerId)) return true;
    for (const c of this.consumers.values()) if (c.consumer.producerId === producerId) return true;
    return false;
  }

  /** The transport the client consumes on: the first open one created with `consuming` (as dialog picks it). */
  consumingTransport(): MediaTransport | undefined {
    for (const t of this.transports.values()) if (t.consuming && !t.transport.closed) return t.transport;
    return undefined;
  }

  countProducers(kind?: MediaKind): number {
    let n = 0;
    for (const p of this.producers.values()) if (kind === undefined || p.producer.kind === kind) n++;
    return n;
  }
}
