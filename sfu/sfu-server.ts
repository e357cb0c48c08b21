/**
 * The SFU's signaling service: dialog-compatible protoo over websockets
 * (parity 7.1). A client connects with `?roomId=<hub sid>&peerId=<session
 * id>` (anything else is refused with 400), asking for the `protoo`
 * subprotocol, which is echoed; messages are limited to 960 KB, as dialog's
 * (both done by the injected `upgrade`, since only src/ws speaks `ws`).
 * An address holding its most sockets (`addressLimit`) gets 429; every
 * refused upgrade counts in `sfu_upgrades_refused_total{reason}`.
 * Rooms are created on first connection (single-flight) and closed when
 * their last peer leaves; a second connection with a peer id already in the
 * room closes the earlier peer, as dialog does.
 *
 * Commands from the relay (`applyCommand`, and `hub.<sid>.ctl` on the bus for
 * each room held here) kick peers, close their audio producers (mute) or put
 * everyone out (room closed).
 *
 * Close cascade: `close()` stops accepting, closes every room (their peers'
 * sockets close with 1001 so clients reconnect elsewhere, stragglers are
 * terminated after a grace period), releases the bus subscriptions, then
 * closes the engine.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { AddressLimit } from '../src/core/address-limit.js';
import { decodeCommand, type RoomCommand } from '../src/core/control.js';
import { isSid } from '../src/core/sids.js';
import { AppError } from '../src/errors.js';
import type { Bus, BusSubscription } from '../src/ports/bus.js';
import type { Clock, Timer } from '../src/ports/clock.js';
import type { MediaEngine } from '../src/ports/media-engine.js';
import type { Metrics } from '../src/ports/metrics.js';
import type { PermsVerifier } from './auth.js';
import { CLOSE_GOING_AWAY, CLOSE_PEER, ProtooPeer, type ProtooSocket } from './protoo.js';
import { handleRequest, type RequestContext } from './requests.js';
import { SfuPeer } from './sfu-peer.js';
import { SfuRoom } from './sfu-room.js';

/** Dialog's `maxReceivedMessageSize`. */
export const SFU_MAX_MESSAGE_BYTES = 960 * 1024;
/** Hubs uses two (send and receive); each holds a UDP port, and transports may be made before join. */
const MAX_TRANSPORTS_PER_PEER = 4;
const NEW_CONSUMER_TIMEOUT_MS = 10_000;
/** protoo-server's websocket keepalive interval. */
const KEEPALIVE_MS = 20_000;
const CLOSE_GRACE_MS = 2000;
const MAX_PEER_ID = 128;

export interface SfuLoad {
  /** Joined peers. */
  readonly peers: number;
  readonly consumers: number;
  readonly maxConsumers: number;
  /** Rooms with at least one peer. */
  readonly rooms: number;
  readonly accepting: boolean;
}

/**
 * Completes the websocket handshake of an upgrade the SFU accepted and hands
 * the socket over (src/ws/sfu-upgrade.ts): it echoes the `protoo`
 * subprotocol and limits messages to SFU_MAX_MESSAGE_BYTES. It may refuse
 * a malformed handshake itself, and then never calls `accepted`.
 */
export type AcceptUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, accepted: (ws: ProtooSocket) => void) => void;

export interface SfuServerDeps {
  readonly engine: MediaEngine;
  readonly upgrade: AcceptUpgrade;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly verifier: PermsVerifier;
  readonly limits: { readonly maxProducersPerPeer: number; readonly maxVideoProducersPerRoom: number; readonly maxConsumers: number };
  /** The cluster: room commands arrive on `hub.<sid>.ctl`. */
  readonly bus?: Bus;
  /** Open sockets per client address; unlimited without. */
  readonly addressLimit?: AddressLimit;
}

const REFUSALS = {
  400: { text: 'Bad Request', reason: 'bad_request' },
  429: { text: 'Too Many Requests', reason: 'too_many_connections' },
  503: { text: 'Service Unavailable', reason: 'unavailable' },
} as const;

export class SfuServer {
  readonly #deps: SfuServerDeps;
  readonly #loading = new Map<string, Promise<SfuRoom>>();
  readonly #rooms = new Map<string, SfuRoom>();
  readonly #subscriptions = new Map<SfuRoom, BusSubscription>();
  readonly #unsubscribing = new Set<Promise<void>>();
  /** Upgrades under way per room: the room stays open for them. */
  readonly #arriving = new Map<string, number>();
  readonly #sockets = new Set<ProtooPeer>();
  readonly #keepalive: Timer;
  #consumers = 0;
  #closing: Promise<void> | undefined;

  constructor(deps: SfuServerDeps) {
    this.#deps = deps;
    this.#keepalive = deps.clock.setInterval(() => {
      for (const s of this.#sockets) s.heartbeat();
    }, KEEPALIVE_MS);
  }

  /**
   * Serves the upgrades of `server` that `accepts` picks and hands every
   * other one to the upgrade listeners `server` had, so the SFU can share a
   * port with another websocket endpoint (as engine.io's `attach` shares the
   * request event). Call it after those listeners are added.
   */
  attach(server: Server, accepts: (url: URL) => boolean): void {
    const others = server.listeners('upgrade').slice() as ((req: IncomingMessage, socket: Duplex, head: Buffer) => void)[];
    server.removeAllListeners('upgrade');
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (accepts(new URL(req.url ?? '/', 'http://localhost'))) this.handleUpgrade(req, socket, head);
      else for (const listener of others) listener.call(server, req, socket, head);
    });
  }

  /** Accepts a websocket upgrade for the SFU, or refuses it (400 without a room sid and a peer id, 503 while closing). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const roomId = url.searchParams.get('roomId') ?? '';
    const peerId = url.searchParams.get('peerId') ?? '';
    if (this.#closing) return this.#refuse(socket, 503);
    if (!isSid(roomId) || peerId === '' || peerId.length > MAX_PEER_ID) return this.#refuse(socket, 400);
    socket.on('error', () => socket.destroy());
    if (socket.destroyed) return;
    const limit = this.#deps.addressLimit;
    if (limit) {
      const address = limit.clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for']);
      if (!limit.tryAcquire(address)) return this.#refuse(socket, 429);
      socket.once('close', () => limit.release(address));
    }
    this.#arriving.set(roomId, (this.#arriving.get(roomId) ?? 0) + 1);
    this.#room(roomId)
      .then((room) => {
        if (socket.destroyed || this.#closing || room.isClosed) return this.#refuse(socket, 503);
        this.#deps.upgrade(req, socket, head, (ws) => this.#accept(ws, room, peerId));
      })
      .catch((err: unknown) => {
        this.#deps.log.warn({ err, hubSid: roomId }, 'sfu room not opened');
        this.#refuse(socket, 503);
      })
      .finally(() => {
        const left = (this.#arriving.get(roomId) ?? 1) - 1;
        if (left > 0) this.#arriving.set(roomId, left);
        else this.#arriving.delete(roomId);
        const room = this.#rooms.get(roomId);
        if (room) this.#closeIfEmpty(room);
      });
  }

  #refuse(socket: Duplex, status: keyof typeof REFUSALS): void {
    const { text, reason } = REFUSALS[status];
    this.#deps.metrics.inc('sfu_upgrades_refused_total', { reason });
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  }

  /** Applies a relay command to the room `hubSid` if it is held here (see SfuRoom.apply). */
  applyCommand(hubSid: string, cmd: RoomCommand): void {
    const room = this.#rooms.get(hubSid);
    if (!room) return;
    room.apply(cmd).catch((err: unknown) => this.#deps.log.warn({ err, hubSid, op: cmd.op }, 'sfu command failed'));
  }

  /** What the announcer reports. */
  load(): SfuLoad {
    let peers = 0;
    let rooms = 0;
    for (const room of this.#rooms.values()) {
      peers += room.joinedPeers().length;
      if (room.peers.size > 0) rooms++;
    }
    return { peers, consumers: this.#consumers, maxConsumers: this.#deps.limits.maxConsumers, rooms, accepting: this.#closing === undefined };
  }

  /** A room held here, for tests and diagnostics. */
  room(hubSid: string): SfuRoom | undefined {
    return this.#rooms.get(hubSid);
  }

  /** The open room `roomId`, opening it if needed (single-flight); a room that is closing is replaced. */
  #room(roomId: string): Promise<SfuRoom> {
    const live = this.#rooms.get(roomId);
    if (live && !live.isClosed) return Promise.resolve(live);
    let loading = this.#loading.get(roomId);
    if (!loading) {
      const opening = this.#openRoom(roomId).finally(() => {
        if (this.#loading.get(roomId) === opening) this.#loading.delete(roomId);
      });
      this.#loading.set(roomId, (loading = opening));
    }
    return loading;
  }

  async #openRoom(roomId: string): Promise<SfuRoom> {
    const { bus } = this.#deps;
    const [router, subscription] = await Promise.allSettled([
      this.#deps.engine.createRouter(),
      bus ? bus.subscribe(`hub.${roomId}.ctl`, (msg) => this.#onCommand(roomId, msg.data)) : Promise.resolve(undefined),
    ]);
    if (router.status === 'rejected' || subscription.status === 'rejected' || this.#closing) {
      if (router.status === 'fulfilled') await router.value.close();
      if (subscription.status === 'fulfilled') await subscription.value?.unsubscribe();
      if (router.status === 'rejected') throw router.reason;
      if (subscription.status === 'rejected') throw subscription.reason;
      throw new AppError('CLOSED', 'the sfu is closing');
    }
    const room = new SfuRoom(roomId, router.value, {
      log: this.#deps.log,
      metrics: this.#deps.metrics,
      newConsumerTimeoutMs: NEW_CONSUMER_TIMEOUT_MS,
      reserveConsumer: () => {
        if (this.#consumers >= this.#deps.limits.maxConsumers) return false;
        this.#consumers++;
        return true;
      },
      releaseConsumer: () => {
        this.#consumers--;
      },
      emptied: (r) => this.#closeIfEmpty(r),
      closed: (r) => this.#forget(r),
    });
    this.#rooms.set(roomId, room);
    if (subscription.value) this.#subscriptions.set(room, subscription.value);
    this.#deps.log.info({ hubSid: roomId }, 'sfu room opened');
    return room;
  }

  #onCommand(roomId: string, data: Uint8Array): void {
    const cmd = decodeCommand(data);
    if (cmd) this.applyCommand(roomId, cmd);
    else this.#deps.metrics.inc('sfu_bad_commands_total');
  }

  #closeIfEmpty(room: SfuRoom): void {
    if (room.peers.size > 0 || (this.#arriving.get(room.id) ?? 0) > 0) return;
    room.close().catch((err: unknown) => this.#deps.log.warn({ err, hubSid: room.id }, 'sfu room close failed'));
  }

  #forget(room: SfuRoom): void {
    if (this.#rooms.get(room.id) === room) this.#rooms.delete(room.id);
    const subscription = this.#subscriptions.get(room);
    this.#subscriptions.delete(room);
    if (subscription) {
      const done = subscription.unsubscribe().catch((err: unknown) => this.#deps.log.warn({ err, hubSid: room.id }, 'sfu unsubscribe failed'));
      this.#unsubscribing.add(done);
      void done.finally(() => this.#unsubscribing.delete(done));
    }
    this.#deps.log.info({ hubSid: room.id }, 'sfu room closed');
  }

  #accept(ws: ProtooSocket, room: SfuRoom, peerId: string): void {
    const { log, metrics } = this.#deps;
    const protoo: ProtooPeer = new ProtooPeer(ws, {
      clock: this.#deps.clock,
      handle: (req) =>
        handleRequest(ctx, req).catch((err: unknown) => {
          if (!(err instanceof AppError)) log.error({ err, hubSid: room.id, peerId, method: req.method }, 'sfu request failed');
          throw err;
        }),
      badFrame: (kind) => metrics.inc('sfu_bad_frames_total', { kind }),
      afterFailed: (err, method) => log.warn({ err, hubSid: room.id, peerId, method }, 'sfu follow-up failed'),
    });
    const peer = new SfuPeer(peerId, protoo);
    const ctx: RequestContext = {
      room,
      peer,
      verifier: this.#deps.verifier,
      limits: { maxTransportsPerPeer: MAX_TRANSPORTS_PER_PEER, maxProducersPerPeer: this.#deps.limits.maxProducersPerPeer, maxVideoProducersPerRoom: this.#deps.limits.maxVideoProducersPerRoom },
      metrics,
      log,
    };
    this.#sockets.add(protoo);
    protoo.onClose(() => {
      this.#sockets.delete(protoo);
      room.removePeer(peer, CLOSE_PEER, '').catch((err: unknown) => log.warn({ err, hubSid: room.id, peerId }, 'sfu peer close failed'));
    });
    room.addPeer(peer);
    metrics.inc('sfu_connects_total');
    log.debug({ hubSid: room.id, peerId }, 'sfu peer connected');
  }

  /** Closes every room and the engine; idempotent. */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      this.#keepalive.cancel();
      await Promise.allSettled([...this.#loading.values()]);
      await Promise.all([...this.#rooms.values()].map((room) => room.close(CLOSE_GOING_AWAY)));
      await this.#socketsClosed();
      await Promise.all([...this.#unsubscribing]);
      await this.#deps.engine.close();
    })());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Resolves once every peer socket is gone, terminating those that do not finish the close handshake in time. */
  #socketsClosed(): Promise<void> {
    if (this.#sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.#deps.clock.setTimeout(() => {
        for (const s of this.#sockets) s.terminate();
      }, CLOSE_GRACE_MS);
      const check = () => {
        if (this.#sockets.size > 0) return;
        timer.cancel();
        resolve();
      };
      for (const s of this.#sockets) s.onClose(check);
    });
  }
}
