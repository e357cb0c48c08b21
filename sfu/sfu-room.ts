/**
 * One room on the SFU: a router and the peers connected to it (parity: DIALOG
 * `lib/Room.js`). Every joined peer consumes every producer of every other
 * joined peer. A consumer is created paused, offered to its client with a
 * `newConsumer` request, and resumed once the client accepts (dialog's
 * optimisation: no RTP reaches a client before its consumer exists). It runs
 * only while accepted, not paused by its client, and neither peer blocks the
 * other.
 *
 * When the process is at its consumer cap (`sfu_full`) a consumer is not
 * created: the producer or join that wanted it succeeds all the same, and
 * the consuming peer is told with a `consumerRefused {peerId, producerId,
 * kind, reason}` notification (not in dialog; the Hubs client ignores it); a
 * later `refreshConsumers` offers what it does not consume yet.
 *
 * Close cascade: `close()` removes every peer (their transports close, and
 * with them producers and consumers), then closes the router. The room tells
 * its owner it is empty after the last peer left (`emptied`), and the owner
 * closes it; the router closing by itself (engine shutdown) removes the peers.
 */
import type { Logger } from 'pino';
import type { RoomCommand } from '../src/core/control.js';
import { toAppError } from '../src/errors.js';
import type { MediaRouter } from '../src/ports/media-engine.js';
import type { Metrics } from '../src/ports/metrics.js';
import { CLOSE_GOING_AWAY, CLOSE_PEER } from './protoo.js';
import type { ConsumerEntry, SfuPeer } from './sfu-peer.js';

export interface SfuRoomDeps {
  readonly log: Logger;
  readonly metrics: Metrics;
  /** How long a client has to answer `newConsumer`. */
  readonly newConsumerTimeoutMs: number;
  /** Takes one consumer slot of the process; false when it is full. */
  reserveConsumer(): boolean;
  releaseConsumer(): void;
  /** The last peer left (not called while the room closes). */
  emptied(room: SfuRoom): void;
  /** The room closed: its owner forgets it. */
  closed(room: SfuRoom): void;
}

export class SfuRoom {
  readonly peers = new Map<string, SfuPeer>();
  /** Video producers being created: they count against the room's limit already. */
  pendingVideo = 0;
  readonly #deps: SfuRoomDeps;
  #isClosed = false;

  constructor(
    readonly id: string,
    readonly router: MediaRouter,
    deps: SfuRoomDeps,
  ) {
    this.#deps = deps;
    router.on('close', () => void this.close(CLOSE_GOING_AWAY).catch((err: unknown) => deps.log.warn({ err, hubSid: id }, 'sfu room close failed')));
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  joinedPeers(except?: SfuPeer): SfuPeer[] {
    return [...this.peers.values()].filter((p) => p.joined !== null && p !== except);
  }

  /** Live video producers plus those being created (`pendingVideo`). */
  countVideoProducers(): number {
    let n = this.pendingVideo;
    for (const p of this.peers.values()) n += p.countProducers('video');
    return n;
  }

  /** Adds `peer`; an earlier peer with the same id is removed (parity: dialog `handleProtooConnection`). */
  addPeer(peer: SfuPeer): void {
    const earlier = this.peers.get(peer.id);
    this.peers.set(peer.id, peer);
    if (earlier) this.removePeer(earlier, CLOSE_PEER, 'replaced by a new connection').catch((err: unknown) => this.#deps.log.warn({ err, hubSid: this.id, peerId: peer.id }, 'sfu peer close failed'));
  }

  /**
   * Closes `peer`: the others hear `peerClosed` (if it had joined), its socket
   * closes with `code`, and its transports close, taking its producers (the
   * others get `consumerClosed`) and consumers with them. Idempotent.
   */
  async removePeer(peer: SfuPeer, code: number, reason: string): Promise<void> {
    if (!peer.markClosed()) return;
    if (this.peers.get(peer.id) === peer) this.peers.delete(peer.id);
    if (peer.joined) for (const other of this.joinedPeers(peer)) other.protoo.notify('peerClosed', { peerId: peer.id });
    peer.protoo.close(code, reason);
    await Promise.all([...peer.transports.values()].map((t) => t.transport.close()));
    if (this.peers.size === 0 && !this.#isClosed) this.#deps.emptied(this);
  }

  /** Offers `peer` a consumer of every producer of the other joined peers it does not consume yet. */
  async offerAll(peer: SfuPeer): Promise<void> {
    for (const from of this.joinedPeers(peer)) {
      for (const producerId of [...from.producers.keys()]) await this.offer(peer, from, producerId);
    }
  }

  /** Offers a consumer of `producerId` to every other joined peer. */
  async offerToOthers(from: SfuPeer, producerId: string): Promise<void> {
    await Promise.all(this.joinedPeers(from).map((to) => this.offer(to, from, producerId)));
  }

  /** Creates a paused consumer of `from`'s producer for `to`, offers it with `newConsumer`, and resumes it once accepted. */
  async offer(to: SfuPeer, from: SfuPeer, producerId: string): Promise<void> {
    const joined = to.joined;
    const source = from.producers.get(producerId);
    const transport = to.consumingTransport();
    // Parity: dialog creates nothing for a peer without a consuming transport; refreshConsumers catches up.
    if (!joined || !source || to.isClosed || !transport || to.isConsuming(producerId)) return;
    if (!this.#deps.reserveConsumer()) {
      this.#deps.metrics.inc('sfu_refusals_total', { reason: 'sfu_full' });
      to.protoo.notify('consumerRefused', { peerId: from.id, producerId, kind: source.producer.kind, reason: 'sfu_full' });
      return;
    }
    to.offering.add(producerId);
    let entry: ConsumerEntry;
    try {
      const consumer = await transport.consume({ producerId, rtpCapabilities: joined.rtpCapabilities, paused: true });
      entry = { consumer, producerPeerId: from.id, isAccepted: false, isClientPaused: false, isQuiet: false };
    } catch (err) {
      this.#deps.releaseConsumer();
      this.#deps.log.debug({ hubSid: this.id, peerId: to.id, producerId, code: toAppError(err).code }, 'consumer not created');
      return;
    } finally {
      to.offering.delete(producerId);
    }
    // Closed already (its producer or transport went meanwhile): it will emit nothing more.
    if (entry.consumer.closed) return this.#deps.releaseConsumer();
    this.#track(to, entry);
    if (to.isClosed) return void (await this.#closeQuietly(entry));
    const c = entry.consumer;
    const offer = { peerId: from.id, producerId, id: c.id, kind: c.kind, rtpParameters: c.rtpParameters, type: c.type, appData: source.appData, producerPaused: c.producerPaused };
    try {
      await to.protoo.request('newConsumer', offer, this.#deps.newConsumerTimeoutMs);
    } catch (err) {
      this.#deps.log.debug({ hubSid: this.id, peerId: to.id, code: toAppError(err).code }, 'newConsumer not accepted');
      return void (await this.#closeQuietly(entry));
    }
    entry.isAccepted = true;
    await this.syncConsumer(to, entry);
  }

  #track(to: SfuPeer, entry: ConsumerEntry): void {
    const c = entry.consumer;
    to.consumers.set(c.id, entry);
    c.on('close', (reason) => {
      to.consumers.delete(c.id);
      this.#deps.releaseConsumer();
      if (reason === 'producerclose' && !entry.isQuiet && !to.isClosed) to.protoo.notify('consumerClosed', { consumerId: c.id });
    });
    c.on('producerpause', () => entry.isAccepted && to.protoo.notify('consumerPaused', { consumerId: c.id }));
    c.on('producerresume', () => entry.isAccepted && to.protoo.notify('consumerResumed', { consumerId: c.id }));
  }

  async #closeQuietly(entry: ConsumerEntry): Promise<void> {
    entry.isQuiet = true;
    await entry.consumer.close();
  }

  /** Whether either peer blocks the other. */
  isBlockedBetween(a: string, b: string): boolean {
    return this.peers.get(a)?.blocked.has(b) === true || this.peers.get(b)?.blocked.has(a) === true;
  }

  /** Pauses or resumes `entry` (of `peer`) to match what it should do now. */
  async syncConsumer(peer: SfuPeer, entry: ConsumerEntry): Promise<void> {
    const c = entry.consumer;
    const shouldRun = entry.isAccepted && !entry.isClientPaused && !this.isBlockedBetween(peer.id, entry.producerPeerId);
    if (c.closed || shouldRun !== c.paused) return;
    await (shouldRun ? c.resume() : c.pause()).catch((err: unknown) => {
      // Closed in the meantime: nothing left to pause or resume.
      if (!c.closed) throw err;
    });
  }

  /** Re-syncs every consumer between `a` and `b`, both ways (after block or unblock). */
  async syncBetween(a: SfuPeer, b: SfuPeer): Promise<void> {
    const between = (p: SfuPeer, other: SfuPeer) => [...p.consumers.values()].filter((e) => e.producerPeerId === other.id).map((e) => this.syncConsumer(p, e));
    await Promise.all([...between(a, b), ...between(b, a)]);
  }

  /** A command from the relay (kick, mute, room closed); other commands do not concern media. */
  async apply(cmd: RoomCommand): Promise<void> {
    switch (cmd.op) {
      case 'kick': {
        const targets = [...this.peers.values()].filter((p) => p.id === cmd.session || (cmd.account !== null && p.joined?.claims.accountId === cmd.account));
        await Promise.all(targets.map((p) => this.removePeer(p, CLOSE_PEER, 'kicked')));
        return;
      }
      case 'mute':
        return this.mute(cmd.session);
      case 'hub':
        if (cmd.close === true) await Promise.all([...this.peers.values()].map((p) => this.removePeer(p, CLOSE_PEER, 'room closed')));
        return;
      default:
        return;
    }
  }

  /** Closes the audio producers of peer `peerId` now; it hears `producerClosed` for each, the others `consumerClosed`. */
  async mute(peerId: string): Promise<void> {
    const peer = this.peers.get(peerId);
    if (!peer) return;
    const audio = [...peer.producers.values()].filter((p) => p.producer.kind === 'audio');
    await Promise.all(
      audio.map(async ({ producer }) => {
        await producer.close();
        peer.protoo.notify('producerClosed', { producerId: producer.id });
      }),
    );
  }

  /** Removes every peer (with `code`), then closes the router. Idempotent. */
  async close(code: number = CLOSE_GOING_AWAY): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    await Promise.all([...this.peers.values()].map((p) => this.removePeer(p, code, 'room closed')));
    await this.router.close();
    this.#deps.closed(this);
  }
}
