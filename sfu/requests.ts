/**
 * The client requests of dialog's signaling (parity 7.2), one handler each.
 * Data is validated against `schemas.ts` before a handler runs; a handler
 * reads as authorize -> act -> reply, and work that needs the reply on the
 * wire first (offering consumers, telling the others) goes in `after`.
 *
 * Failures are AppErrors with the catalogue's reasons: `not_joined` before a
 * successful join, `media_not_found` for an id this peer does not own,
 * `unauthorized` for a permission the join token lacks, and the limits
 * (`too_many_transports`, `too_many_producers`, `too_many_video_producers`),
 * each limit and auth refusal counted in `sfu_refusals_total{reason}`.
 * Arguments the engine finds malformed (a TypeError) become `bad_request`.
 */
import type { Logger } from 'pino';
import type { HubPermissionName } from '../src/core/permissions.js';
import { AppError, ErrorCode, type ErrorCodeName } from '../src/errors.js';
import type { MediaKind, RtpCapabilities, RtpParameters } from '../src/ports/media-engine.js';
import type { Metrics } from '../src/ports/metrics.js';
import type { PermsVerifier } from './auth.js';
import type { Handled, ProtooRequest } from './protoo.js';
import { checkRequest, isMethod, type Method, type RequestData } from './schemas.js';
import { moderationHandlers } from './requests-moderation.js';
import type { SfuPeer } from './sfu-peer.js';
import type { SfuRoom } from './sfu-room.js';

export interface SfuLimits {
  readonly maxTransportsPerPeer: number;
  readonly maxProducersPerPeer: number;
  readonly maxVideoProducersPerRoom: number;
}

export interface RequestContext {
  readonly room: SfuRoom;
  readonly peer: SfuPeer;
  readonly verifier: PermsVerifier;
  readonly limits: SfuLimits;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export type Handler<M extends Method> = (ctx: RequestContext, data: RequestData<M>) => Promise<Handled>;
export type Handlers<K extends Method> = { readonly [M in K]: Handler<M> };

/**
 * Who may produce what. Dialog checks nothing. Audio needs `voice_chat`;
 * video (camera or screen) needs `spawn_and_move_media`, the permission the
 * Hubs client offers camera and screen sharing under (HUBS
 * `src/react-components/room/SharePopoverContainer.js` `useShare`:
 * `hubChannel.can("spawn_and_move_media")`).
 */
const PRODUCE_PERMISSION: Readonly<Record<MediaKind, HubPermissionName>> = { audio: 'voice_chat', video: 'spawn_and_move_media' };

/** Counts the refusal, then throws it. */
export function refuse(ctx: RequestContext, code: ErrorCodeName, message: string): never {
  ctx.metrics.inc('sfu_refusals_total', { reason: ErrorCode[code].reason });
  throw new AppError(code, message);
}

/** Awaits an engine call made with client data; a TypeError from the engine means the client sent something malformed. */
async function engineCall<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof TypeError) throw new AppError('BAD_REQUEST', err.message, { cause: err });
    throw err;
  }
}

const ok: Handled = {};

const transportHandlers: Handlers<'getRouterRtpCapabilities' | 'createWebRtcTransport' | 'connectWebRtcTransport' | 'restartIce' | 'closeWebRtcTransport' | 'getTransportStats'> = {
  getRouterRtpCapabilities: async ({ room }) => ({ data: room.router.rtpCapabilities }),

  // Allowed before join, as in dialog, so a client can prepare its transports. forceTcp and sctpCapabilities are
  // accepted and ignored: the engine offers what it has, and there are no data channels.
  createWebRtcTransport: async (ctx, { producing, consuming }) => {
    const { peer, room, limits } = ctx;
    if (peer.transports.size + peer.pendingTransports >= limits.maxTransportsPerPeer) refuse(ctx, 'TOO_MANY_TRANSPORTS', `a peer may have at most ${limits.maxTransportsPerPeer} transports`);
    peer.pendingTransports++;
    const transport = await room.router.createWebRtcTransport({ producing, consuming }).finally(() => peer.pendingTransports--);
    if (peer.isClosed) {
      await transport.close();
      peer.assertOpen();
    }
    peer.transports.set(transport.id, { transport, consuming });
    transport.on('close', () => peer.transports.delete(transport.id));
    const { id, iceParameters, iceCandidates, dtlsParameters } = transport;
    // A consuming transport made after join gets what the peer missed without one.
    const after = consuming && peer.joined ? () => room.offerAll(peer) : undefined;
    return { data: { id, iceParameters, iceCandidates, dtlsParameters, sctpParameters: undefined }, after };
  },

  connectWebRtcTransport: async ({ peer }, { transportId, dtlsParameters }) => {
    await engineCall(peer.transport(transportId).connect({ dtlsParameters }));
    return ok;
  },

  restartIce: async ({ peer }, { transportId }) => ({ data: await peer.transport(transportId).restartIce() }),

  closeWebRtcTransport: async ({ peer }, { transportId }) => {
    await peer.transport(transportId).close();
    return ok;
  },

  // mediasoup answers stats as an array of typed entries; so do we.
  getTransportStats: async ({ peer }, { transportId }) => {
    const stats = await peer.transport(transportId).getStats();
    return { data: [{ type: 'webrtc-transport', transportId, timestamp: Date.now(), ...stats }] };
  },
};

const joinHandlers: Handlers<'join' | 'refreshConsumers'> = {
  join: async (ctx, data) => {
    const { peer, room } = ctx;
    peer.beginJoin();
    let claims;
    try {
      claims = await ctx.verifier.verify(data.token, { roomId: room.id, peerId: peer.id });
    } catch (err) {
      peer.endJoin(null);
      if (err instanceof AppError) ctx.metrics.inc('sfu_refusals_total', { reason: err.reason });
      throw err;
    }
    peer.assertOpen();
    const joined = { claims, displayName: data.displayName ?? peer.id, device: data.device ?? {}, rtpCapabilities: data.rtpCapabilities as RtpCapabilities };
    peer.endJoin(joined);
    const peers = room.joinedPeers(peer).map((p) => ({ id: p.id, displayName: p.joined?.displayName, device: p.joined?.device, hasProducers: p.producers.size > 0 }));
    const after = async () => {
      for (const other of room.joinedPeers(peer)) other.protoo.notify('newPeer', { id: peer.id, displayName: joined.displayName, device: joined.device });
      await room.offerAll(peer);
    };
    return { data: { peers }, after };
  },

  refreshConsumers: async ({ peer, room }) => {
    peer.assertJoined();
    return { after: () => room.offerAll(peer) };
  },
};

const produceHandlers: Handlers<'produce' | 'closeProducer' | 'pauseProducer' | 'resumeProducer' | 'getProducerStats'> = {
  produce: async (ctx, { transportId, kind, rtpParameters, appData }) => {
    const { peer, room, limits } = ctx;
    const { claims } = peer.assertJoined();
    const transport = peer.transport(transportId);
    const needed = PRODUCE_PERMISSION[kind];
    if (!claims.permissions[needed]) refuse(ctx, 'UNAUTHORIZED', `producing ${kind} needs the ${needed} permission`);
    if (peer.producers.size + peer.pendingProducers >= limits.maxProducersPerPeer) refuse(ctx, 'TOO_MANY_PRODUCERS', `a peer may have at most ${limits.maxProducersPerPeer} producers`);
    if (kind === 'video' && room.countVideoProducers() >= limits.maxVideoProducersPerRoom) refuse(ctx, 'TOO_MANY_VIDEO_PRODUCERS', `a room may have at most ${limits.maxVideoProducersPerRoom} video producers`);
    peer.pendingProducers++;
    if (kind === 'video') room.pendingVideo++;
    const producer = await engineCall(transport.produce({ kind, rtpParameters: rtpParameters as RtpParameters })).finally(() => {
      peer.pendingProducers--;
      if (kind === 'video') room.pendingVideo--;
    });
    if (peer.isClosed) {
      await producer.close();
      peer.assertOpen();
    }
    peer.producers.set(producer.id, { producer, appData: { ...appData, peerId: peer.id } });
    producer.on('close', () => peer.producers.delete(producer.id));
    return { data: { id: producer.id }, after: () => room.offerToOthers(peer, producer.id) };
  },

  closeProducer: async ({ peer }, { producerId }) => {
    peer.assertJoined();
    await peer.producer(producerId).close();
    return ok;
  },

  pauseProducer: async ({ peer }, { producerId }) => {
    peer.assertJoined();
    await peer.producer(producerId).pause();
    return ok;
  },

  resumeProducer: async ({ peer }, { producerId }) => {
    peer.assertJoined();
    await peer.producer(producerId).resume();
    return ok;
  },

  getProducerStats: async ({ peer }, { producerId }) => {
    const producer = peer.producer(producerId);
    const stats = await producer.getStats();
    return { data: [{ type: 'inbound-rtp', kind: producer.kind, timestamp: Date.now(), ...stats }] };
  },
};

const consumerHandlers: Handlers<'pauseConsumer' | 'resumeConsumer' | 'requestConsumerKeyFrame' | 'setConsumerPreferredLayers' | 'setConsumerPriority' | 'getConsumerStats'> = {
  pauseConsumer: async ({ peer, room }, { consumerId }) => {
    peer.assertJoined();
    const entry = peer.consumer(consumerId);
    entry.isClientPaused = true;
    await room.syncConsumer(peer, entry);
    return ok;
  },

  resumeConsumer: async ({ peer, room }, { consumerId }) => {
    peer.assertJoined();
    const entry = peer.consumer(consumerId);
    entry.isClientPaused = false;
    await room.syncConsumer(peer, entry);
    return ok;
  },

  requestConsumerKeyFrame: async ({ peer }, { consumerId }) => {
    peer.assertJoined();
    await peer.consumer(consumerId).consumer.requestKeyFrame();
    return ok;
  },

  // There are no simulcast layers or priorities to pick among: the consumer forwards the one stream it has.
  setConsumerPreferredLayers: async ({ peer }, { consumerId }) => {
    peer.assertJoined();
    peer.consumer(consumerId);
    return ok;
  },

  setConsumerPriority: async ({ peer }, { consumerId }) => {
    peer.assertJoined();
    peer.consumer(consumerId);
    return ok;
  },

  getConsumerStats: async ({ peer }, { consumerId }) => {
    const { consumer } = peer.consumer(consumerId);
    const stats = await consumer.getStats();
    return { data: [{ type: 'outbound-rtp', kind: consumer.kind, timestamp: Date.now(), ...stats }] };
  },
};

const handlers: Handlers<Method> = { ...transportHandlers, ...joinHandlers, ...produceHandlers, ...consumerHandlers, ...moderationHandlers };

/** Answers one request of `ctx.peer`: AppError('UNKNOWN_METHOD') or ('BAD_REQUEST') before any handler runs. */
export async function handleRequest(ctx: RequestContext, req: ProtooRequest): Promise<Handled> {
  if (!isMethod(req.method)) {
    ctx.metrics.inc('sfu_unknown_methods_total');
    ctx.log.debug({ method: req.method.slice(0, 64) }, 'unknown sfu method');
    throw new AppError('UNKNOWN_METHOD', `unknown method ${JSON.stringify(req.method.slice(0, 64))}`);
  }
  ctx.peer.assertOpen();
  checkRequest(req.method, req.data);
  return (handlers[req.method] as unknown as (ctx: RequestContext, data: unknown) => Promise<Handled>)(ctx, req.data);
}
