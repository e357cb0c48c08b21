/**
 * A protoo peer over the browser's WebSocket, the signaling of Hubs' dialog
 * SFU (parity 7.1), with only what a voice client needs:
 * - request `{request:true, id, method, data}`;
 * - response `{response:true, id, ok:true, data}` or
 *   `{response:true, id, ok:false, errorCode, errorReason}`;
 * - notification `{notification:true, method, data}`.
 *
 * Our own requests time out (protoo-client's do too, after a while we do not
 * control); the server's requests go to one handler, whose rejection is sent
 * back as an error response. hubmesh's `errorReason` is `<reason>: <message>`,
 * so a refusal rejects with a VoiceError carrying that reason.
 *
 * No retries: protoo-client reconnects, but a reconnected dialog peer is a
 * new peer (transports, join and consumers all over), which the owner of
 * this peer is better placed to redo.
 *
 * Close: `close()` or the socket closing rejects every request still waiting
 * with VoiceError('closed'), and `close` listeners run once.
 */
import type { Payload } from '../../protocol/frames.js';
import { TypedEmitter, type Listener } from '../emitter.js';
import { isPayload } from '../wire.js';
import { CLOSE_ABNORMAL, type SignalingSocket, type SignalingSocketConstructor } from './browser-api.js';
import { VoiceError } from './types.js';

/** The subprotocol protoo clients ask for; servers that speak protoo echo it. */
export const PROTOO_SUBPROTOCOL = 'protoo';
const OPEN = 1;
const CLOSE_NORMAL = 1000;
/** What an error response of ours says: our handler failed, as an HTTP status would. */
const ERROR_CODE_HANDLER_FAILED = 500;

/** Answers one request of the server; resolves to the response data, or rejects to refuse it. */
export type RequestHandler = (method: string, data: Payload) => Promise<unknown>;

export type ProtooPeerEvents = {
  notification: [method: string, data: Payload];
  /** Once: `code` is the close frame's (1006 when none came), `isLocal` when `close()` ended it. */
  close: [code: number, isLocal: boolean];
};

interface Pending {
  readonly method: string;
  readonly resolve: (data: Payload) => void;
  readonly reject: (err: VoiceError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** The reason of a hubmesh error response (`too_many_producers: ...`); `refused` when the text has none. */
export function reasonOfErrorText(text: string): string {
  const match = /^([a-z_][a-z0-9_ ]*):/.exec(text);
  return match?.[1] ?? 'refused';
}

export class ProtooPeer {
  readonly #socket: SignalingSocket;
  readonly #timeoutMs: number;
  readonly #events: TypedEmitter<ProtooPeerEvents>;
  readonly #pending = new Map<number, Pending>();
  #handler: RequestHandler = (method) => Promise.reject(new VoiceError('unknown_method', `no handler for ${method}`));
  #nextId = 1;
  #isClosed = false;

  private constructor(socket: SignalingSocket, timeoutMs: number, onListenerError: (err: unknown) => void) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    this.#events = new TypedEmitter(onListenerError);
    socket.onmessage = (event) => this.#onMessage(event.data);
    socket.onclose = (event) => this.#onClosed(event.code, false);
  }

  /**
   * Opens a socket to `url` asking for the `protoo` subprotocol. Resolves
   * once it is open; rejects with VoiceError('connect_failed') when it closes
   * first, or VoiceError('timeout') after `timeoutMs` (and closes it).
   */
  static open(WebSocket: SignalingSocketConstructor, url: string, timeoutMs: number, onListenerError: (err: unknown) => void): Promise<ProtooPeer> {
    const socket = new WebSocket(url, PROTOO_SUBPROTOCOL);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.onopen = null;
        socket.onclose = null;
        socket.close();
        reject(new VoiceError('timeout', `the SFU at ${url} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.onopen = () => {
        clearTimeout(timer);
        socket.onopen = null;
        resolve(new ProtooPeer(socket, timeoutMs, onListenerError));
      };
      // The browser reports no reason (an error event, then a close with 1006); a refused upgrade looks the same.
      socket.onclose = (event) => {
        clearTimeout(timer);
        reject(new VoiceError('connect_failed', `could not open the SFU's signaling at ${url} (close code ${event.code})`));
      };
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  on<K extends keyof ProtooPeerEvents>(event: K, listener: Listener<ProtooPeerEvents[K]>): () => void {
    return this.#events.on(event, listener);
  }

  /** Sets the handler of the server's requests (one; a later call replaces it). */
  handleRequests(handler: RequestHandler): void {
    this.#handler = handler;
  }

  /**
   * Sends a request. Resolves with the response data (`{}` when there is
   * none); rejects with VoiceError(<the server's reason>) for an error
   * response, ('timeout') after `timeoutMs`, ('closed') when the socket goes
   * first or is gone.
   */
  request(method: string, data: Payload = {}, timeoutMs = this.#timeoutMs): Promise<Payload> {
    if (this.#isClosed || this.#socket.readyState !== OPEN) return Promise.reject(new VoiceError('closed', `${method}: the signaling socket is closed`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#pending.delete(id)) reject(new VoiceError('timeout', `${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { method, resolve, reject, timer });
      this.#socket.send(JSON.stringify({ request: true, id, method, data }));
    });
  }

  /** Closes the socket (1000 by default). Idempotent. */
  close(code = CLOSE_NORMAL): void {
    if (this.#isClosed) return;
    this.#socket.close(code);
    this.#onClosed(code, true);
  }

  #onMessage(raw: unknown): void {
    if (this.#isClosed || typeof raw !== 'string') return;
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    // Like protoo's own parser, a message of no known shape is dropped.
    if (!isPayload(message)) return;
    const data = isPayload(message['data']) ? message['data'] : {};
    const id = message['id'];
    if (message['response'] === true && typeof id === 'number') this.#onResponse(id, message, data);
    else if (message['request'] === true && typeof id === 'number' && typeof message['method'] === 'string') void this.#onRequest(id, message['method'], data);
    else if (message['notification'] === true && typeof message['method'] === 'string') this.#events.emit('notification', message['method'], data);
  }

  #onResponse(id: number, message: Payload, data: Payload): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (message['ok'] === true) return pending.resolve(data);
    const text = typeof message['errorReason'] === 'string' ? message['errorReason'] : '';
    pending.reject(new VoiceError(reasonOfErrorText(text), `${pending.method} refused: ${text || `error ${String(message['errorCode'])}`}`));
  }

  async #onRequest(id: number, method: string, data: Payload): Promise<void> {
    let response: object;
    try {
      const result = await this.#handler(method, data);
      response = { response: true, id, ok: true, data: isPayload(result) ? result : {} };
    } catch (err) {
      const reason = err instanceof VoiceError ? `${err.reason}: ${err.message}` : `internal: ${err instanceof Error ? err.message : String(err)}`;
      response = { response: true, id, ok: false, errorCode: ERROR_CODE_HANDLER_FAILED, errorReason: reason };
    }
    if (!this.#isClosed && this.#socket.readyState === OPEN) this.#socket.send(JSON.stringify(response));
  }

  #onClosed(code: number, isLocal: boolean): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#socket.onmessage = null;
    this.#socket.onclose = null;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new VoiceError('closed', `${p.method}: the signaling socket closed first`));
    }
    this.#pending.clear();
    this.#events.emit('close', code || CLOSE_ABNORMAL, isLocal);
  }
}
