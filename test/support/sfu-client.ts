/**
 * A signaling client of the SFU built on the official `protoo-client` (what
 * the Hubs client uses), for tests that drive dialog's requests from Node.
 * It records every notification and every `newConsumer` offer, and answers
 * offers (accept by default); media parameters are written by hand in
 * mediasoup-client's shapes, since no packets need to flow.
 */
import { Peer, WebSocketTransport } from 'protoo-client';
import { onTestFinished } from 'vitest';
import WebSocket from 'ws';
import type { RtpParameters } from '../../src/ports/media-engine.js';
import { wsBase, type NodeAddress } from './clients.js';
import { waitFor, within } from './wait.js';

export type Outcome = { readonly ok: true; readonly data: Record<string, unknown> } | { readonly ok: false; readonly code: unknown; readonly reason: string };

export interface Offer {
  readonly peerId: string;
  readonly producerId: string;
  readonly id: string;
  readonly kind: string;
  readonly producerPaused: boolean;
  readonly appData: Record<string, unknown>;
}

export class SfuClient {
  readonly peer: Peer;
  readonly notifications: { readonly method: string; readonly data: Record<string, unknown> }[] = [];
  readonly offers: Offer[] = [];
  /** Whether to accept `newConsumer` offers; refused ones are answered with an error. */
  acceptOffers = true;
  isClosed = false;

  private constructor(peer: Peer) {
    this.peer = peer;
    peer.on('notification', (n) => void this.notifications.push({ method: n.method, data: n.data as Record<string, unknown> }));
    peer.on('request', (req, accept, reject) => {
      if (req.method !== 'newConsumer') return reject(400, 'unexpected request');
      this.offers.push(req.data as Offer);
      if (this.acceptOffers) accept();
      else reject(403, 'not now');
    });
    peer.on('close', () => {
      this.isClosed = true;
    });
  }

  /** Connects peer `peerId` to room `roomId` at `path` of the node (no reconnects); closed when the test ends. */
  static async connect(node: NodeAddress, roomId: string, peerId: string, path = '/sfu'): Promise<SfuClient> {
    const query = new URLSearchParams({ roomId, peerId });
    const transport = new WebSocketTransport(`${wsBase(node)}${path}?${query}`, { retry: { retries: 0 } });
    const client = new SfuClient(new Peer(transport));
    onTestFinished(() => client.peer.close());
    await within(
      new Promise<void>((resolve, reject) => {
        client.peer.on('open', () => resolve());
        client.peer.on('failed', () => reject(new Error('the sfu socket failed to open')));
      }),
      5000,
      'the sfu socket to open',
    );
    return client;
  }

  async request(method: string, data: unknown = {}): Promise<Outcome> {
    try {
      return { ok: true, data: (await this.peer.request(method, data)) as Record<string, unknown> };
    } catch (err) {
      const e = err as Error & { code?: unknown };
      return { ok: false, code: e.code, reason: e.message };
    }
  }

  /** The data of a request that must succeed. */
  async ok(method: string, data: unknown = {}): Promise<Record<string, unknown>> {
    const outcome = await this.request(method, data);
    if (!outcome.ok) throw new Error(`${method} failed: ${outcome.reason}`);
    return outcome.data;
  }

  /** Send and receive transports, as Hubs makes them before joining; resolves with their ids. */
  async transports(): Promise<{ send: string; recv: string }> {
    const send = await this.ok('createWebRtcTransport', { producing: true, consuming: false });
    const recv = await this.ok('createWebRtcTransport', { producing: false, consuming: true });
    return { send: send['id'] as string, recv: recv['id'] as string };
  }

  /** Joins with `token` and the router's own capabilities (a client that can consume everything). */
  async join(token: string | undefined, extra: Record<string, unknown> = {}): Promise<Outcome> {
    const rtpCapabilities = await this.ok('getRouterRtpCapabilities');
    return this.request('join', { displayName: 'test', device: { flag: 'node', name: 'protoo-client' }, rtpCapabilities, token, ...extra });
  }

  async produce(transportId: string, kind: 'audio' | 'video', ssrc = 1000 + Math.floor(Math.random() * 1e6)): Promise<Outcome> {
    return this.request('produce', { transportId, kind, rtpParameters: kind === 'audio' ? audioParameters(ssrc) : videoParameters(ssrc), appData: { share: kind } });
  }

  /** The id of a producer that must be accepted. */
  async produceId(transportId: string, kind: 'audio' | 'video'): Promise<string> {
    const outcome = await this.produce(transportId, kind);
    if (!outcome.ok) throw new Error(`produce failed: ${outcome.reason}`);
    return outcome.data['id'] as string;
  }

  notified(method: string): Record<string, unknown>[] {
    return this.notifications.filter((n) => n.method === method).map((n) => n.data);
  }

  waitNotified(method: string, match: (data: Record<string, unknown>) => boolean = () => true, timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.notified(method).some(match), timeoutMs, `${method} notification`);
  }

  waitOffer(producerId: string, timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.offers.some((o) => o.producerId === producerId), timeoutMs, `an offer of ${producerId}`);
  }

  waitClosed(timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.isClosed, timeoutMs, 'the sfu socket to close');
  }
}

/** The HTTP status an upgrade to `url` gets (101 when it is accepted). */
export function upgradeStatus(url: string): Promise<number> {
  return within(
    new Promise((resolve) => {
      const ws = new WebSocket(url, 'protoo');
      ws.on('error', () => undefined);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => {
        resolve(101);
        ws.terminate();
      });
    }),
    5000,
    `the answer to ${url}`,
  );
}

/** What mediasoup-client sends to produce a microphone (Opus). */
export function audioParameters(ssrc: number): RtpParameters {
  return {
    mid: '0',
    codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { minptime: 10, useinbandfec: 1 }, rtcpFeedback: [{ type: 'transport-cc' }] }],
    headerExtensions: [
      { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 4 },
      { uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 10 },
    ],
    encodings: [{ ssrc, dtx: false }],
    rtcp: { cname: 'sfu-test', reducedSize: true },
  };
}

/** What mediasoup-client sends to produce a camera (VP8, one encoding). */
export function videoParameters(ssrc: number): RtpParameters {
  return {
    mid: '1',
    codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] }],
    headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 4 }],
    encodings: [{ ssrc, maxBitrate: 500000 }],
    rtcp: { cname: 'sfu-test', reducedSize: true },
  };
}
