/**
 * `MediaSignaling` over the SFU's protoo websocket (dialog's requests), for
 * the headless client of test/support/wrtc-client.ts. It speaks protoo's
 * framing with `ws` directly: one request at a time per call, answers to the
 * server's `newConsumer` requests, notifications ignored.
 *
 * dialog's flow differs from the engine's in one place: the server creates
 * consumers itself and offers each with a `newConsumer` request. So
 * `consume(producerId)` joins (if not yet joined) and waits for the offer of
 * that producer; `resume(consumerId)` accepts the offer, and the server
 * resumes the consumer once it has the answer. Offers not asked for wait,
 * unanswered, until `consume` asks or the socket closes.
 */
import WebSocket from 'ws';
import type { DtlsParameters, IceCandidate, IceParameters, MediaKind, RtpCapabilities, RtpParameters } from '../../src/ports/media-engine.js';
import type { MediaSignaling } from './wrtc-client.js';

interface Offer {
  readonly requestId: number;
  readonly id: string;
  readonly kind: MediaKind;
  readonly rtpParameters: RtpParameters;
}

interface Pending {
  readonly method: string;
  readonly resolve: (data: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export interface ProtooSignalingOptions {
  /** The perms token the relay signed for this peer and room. */
  readonly token: string;
  readonly displayName?: string;
  /** For every request and every wait for an offer; default 10 s. */
  readonly timeoutMs?: number;
}

export class ProtooSignaling implements MediaSignaling {
  readonly #ws: WebSocket;
  readonly #opts: ProtooSignalingOptions;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #offers = new Map<string, Offer>();
  readonly #offerWaiters = new Map<string, (offer: Offer) => void>();
  readonly #accepting = new Map<string, Offer>();
  #joined: Promise<void> | undefined;
  #nextId = 1;

  private constructor(ws: WebSocket, opts: ProtooSignalingOptions) {
    this.#ws = ws;
    this.#opts = opts;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    ws.on('message', (data: WebSocket.RawData) => this.#onMessage(String(data)));
    ws.on('close', () => {
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`socket closed before the answer to ${p.method}`));
      }
      this.#pending.clear();
    });
  }

  /** Opens the peer's socket: `url` carries the room and peer (`?roomId=...&peerId=...`). */
  static async connect(url: string, opts: ProtooSignalingOptions): Promise<ProtooSignaling> {
    const ws = new WebSocket(url, 'protoo');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no websocket to ${url} within ${opts.timeoutMs ?? 10_000} ms`));
      }, opts.timeoutMs ?? 10_000);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    return new ProtooSignaling(ws, opts);
  }

  /** Joins the room with the device's receive capabilities; idempotent. */
  join(rtpCapabilities: RtpCapabilities): Promise<void> {
    this.#joined ??= this.request('join', { displayName: this.#opts.displayName ?? 'bench', device: { name: 'wrtc' }, rtpCapabilities, token: this.#opts.token }).then(() => undefined);
    return this.#joined;
  }

  async getRouterRtpCapabilities(): Promise<RtpCapabilities> {
    return (await this.request('getRouterRtpCapabilities', {})) as RtpCapabilities;
  }

  async createTransport(direction: 'send' | 'recv'): Promise<{ id: string; iceParameters: IceParameters; iceCandidates: readonly IceCandidate[]; dtlsParameters: DtlsParameters }> {
    return (await this.request('createWebRtcTransport', { producing: direction === 'send', consuming: direction === 'recv', forceTcp: false })) as never;
  }

  async connect(transportId: string, dtlsParameters: DtlsParameters): Promise<void> {
    await this.request('connectWebRtcTransport', { transportId, dtlsParameters });
  }

  async produce(transportId: string, kind: MediaKind, rtpParameters: RtpParameters): Promise<string> {
    if (!this.#joined) throw new Error('join() before producing');
    await this.#joined;
    return ((await this.request('produce', { transportId, kind, rtpParameters, appData: {} })) as { id: string }).id;
  }

  async consume(_transportId: string, producerId: string, rtpCapabilities: RtpCapabilities): Promise<{ id: string; kind: MediaKind; rtpParameters: RtpParameters }> {
    await this.join(rtpCapabilities);
    const offer = this.#offers.get(producerId) ?? (await this.#nextOffer(producerId));
    this.#offers.delete(producerId);
    this.#accepting.set(offer.id, offer);
    return { id: offer.id, kind: offer.kind, rtpParameters: offer.rtpParameters };
  }

  async resume(consumerId: string): Promise<void> {
    const offer = this.#accepting.get(consumerId);
    if (!offer) throw new Error(`no offer of consumer ${consumerId}`);
    this.#accepting.delete(consumerId);
    this.#send({ response: true, id: offer.requestId, ok: true, data: {} });
  }

  /** Sends one request; resolves with its data, rejects with the server's `errorReason`. */
  request(method: string, data: unknown): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no answer to ${method} within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(id, { method, resolve, reject, timer });
      this.#send({ request: true, id, method, data });
    });
  }

  /** Closes the socket and resolves once it is closed. */
  async close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => this.#ws.once('close', () => resolve()));
    const timer = setTimeout(() => this.#ws.terminate(), 2000);
    this.#ws.close();
    await closed;
    clearTimeout(timer);
  }

  #nextOffer(producerId: string): Promise<Offer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#offerWaiters.delete(producerId);
        reject(new Error(`no newConsumer for producer ${producerId} within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#offerWaiters.set(producerId, (offer) => {
        clearTimeout(timer);
        resolve(offer);
      });
    });
  }

  #send(message: object): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(message));
  }

  #onMessage(text: string): void {
    const m = JSON.parse(text) as Record<string, unknown>;
    if (m['response'] === true) {
      const p = this.#pending.get(Number(m['id']));
      if (!p) return;
      this.#pending.delete(Number(m['id']));
      clearTimeout(p.timer);
      if (m['ok'] === true) p.resolve(m['data']);
      else p.reject(new Error(`${p.method}: ${String(m['errorReason'])}`));
      return;
    }
    if (m['request'] === true && m['method'] === 'newConsumer') {
      const d = m['data'] as { id: string; producerId: string; kind: MediaKind; rtpParameters: RtpParameters };
      const offer = { requestId: Number(m['id']), id: d.id, kind: d.kind, rtpParameters: d.rtpParameters };
      const waiter = this.#offerWaiters.get(d.producerId);
      this.#offerWaiters.delete(d.producerId);
      if (waiter) waiter(offer);
      else this.#offers.set(d.producerId, offer);
      return;
    }
    // Any other server request gets an error: this client does only media.
    if (m['request'] === true) this.#send({ response: true, id: m['id'], ok: false, errorCode: 501, errorReason: 'not_implemented: headless client' });
  }
}
