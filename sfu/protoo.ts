/**
 * protoo over a `ws` WebSocket: the framing mediasoup-client apps (dialog,
 * the Hubs client through protoo-client) speak (parity 7.1):
 * - request `{request:true, id, method, data}`;
 * - response `{response:true, id, ok:true, data}` or
 *   `{response:true, id, ok:false, errorCode, errorReason}`;
 * - notification `{notification:true, method, data}`.
 *
 * Our error responses carry the catalogue's HTTP status as `errorCode` and
 * `<reason>: <message>` as `errorReason` (protoo-client turns it into the
 * rejection's message), so a client can match the stable reason before the
 * colon.
 *
 * Frames that are not protoo: a text frame that is JSON but not a protoo
 * message is counted and ignored, as protoo's own `Message.parse` ignores it.
 * A text frame that is not JSON at all, or a binary frame, is not a protoo
 * client talking: it is counted and the socket is closed (1007, 1003). So is
 * a frame nesting deeper than MAX_JSON_DEPTH (1007, unparsed); a frame
 * larger than the socket's limit is closed by ws itself (1009) and counted.
 *
 * Close: `close(code)` closes the socket; when the socket is gone (either
 * side), every request still waiting for the client rejects with
 * AppError('CLOSED') and the close listeners run once. protoo-client does not
 * reconnect after code 4000, so the server uses it to put a peer out.
 */
import { AppError, toAppError } from '../src/errors.js';
import type { Clock, Timer } from '../src/ports/clock.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../src/protocol/json-depth.js';

/** protoo-client does not retry a socket the server closed with this code. */
export const CLOSE_PEER = 4000;
export const CLOSE_GOING_AWAY = 1001;
const CLOSE_UNSUPPORTED = 1003;
const CLOSE_INVALID = 1007;
/** The subprotocol protoo-client asks for; the server echoes it. */
export const PROTOO_SUBPROTOCOL = 'protoo';

/** WebSocket ready states. */
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * The part of a server-side websocket (`ws`'s WebSocket) a protoo peer uses;
 * src/ws accepts the upgrades and hands these over.
 */
export interface ProtooSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): this;
  on(event: 'close' | 'pong', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

export interface ProtooRequest {
  readonly request: true;
  readonly id: number;
  readonly method: string;
  readonly data: unknown;
}

export type ProtooResponse =
  | { readonly response: true; readonly id: number; readonly ok: true; readonly data: unknown }
  | { readonly response: true; readonly id: number; readonly ok: false; readonly errorCode: unknown; readonly errorReason: string };

export interface ProtooNotification {
  readonly notification: true;
  readonly method: string;
  readonly data: unknown;
}

export type ProtooMessage = ProtooRequest | ProtooResponse | ProtooNotification;

export type BadFrame = 'json' | 'shape' | 'binary' | 'too_deep' | 'too_large';

export type ParseResult = { readonly ok: true; readonly message: ProtooMessage } | { readonly ok: false; readonly problem: 'json' | 'shape' | 'too_deep' };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Parses one text frame the way protoo does; absent or null `data` becomes `{}`. */
export function parseMessage(text: string): ParseResult {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return { ok: false, problem: 'too_deep' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'json' };
  }
  const shape = { ok: false, problem: 'shape' } as const;
  if (!isObject(v)) return shape;
  const data = v['data'] ?? {};
  if (v['request'] === true) {
    if (!isId(v['id']) || typeof v['method'] !== 'string') return shape;
    return { ok: true, message: { request: true, id: v['id'], method: v['method'], data } };
  }
  if (v['response'] === true) {
    if (!isId(v['id'])) return shape;
    if (v['ok'] === true) return { ok: true, message: { response: true, id: v['id'], ok: true, data } };
    return { ok: true, message: { response: true, id: v['id'], ok: false, errorCode: v['errorCode'], errorReason: String(v['errorReason'] ?? '') } };
  }
  if (v['notification'] === true) {
    if (typeof v['method'] !== 'string') return shape;
    return { ok: true, message: { notification: true, method: v['method'], data } };
  }
  return shape;
}

export function encodeRequest(id: number, method: string, data: unknown): string {
  return JSON.stringify({ request: true, id, method, data: data ?? {} });
}

export function encodeOk(id: number, data: unknown): string {
  return JSON.stringify({ response: true, id, ok: true, data: data ?? {} });
}

export function encodeError(id: number, errorCode: number, errorReason: string): string {
  return JSON.stringify({ response: true, id, ok: false, errorCode, errorReason });
}

export function encodeNotification(method: string, data: unknown): string {
  return JSON.stringify({ notification: true, method, data: data ?? {} });
}

/** The error response fields for anything thrown: `errorCode` the HTTP status, `errorReason` `<reason>: <message>`. */
export function errorFields(err: unknown): { readonly errorCode: number; readonly errorReason: string } {
  const e = toAppError(err);
  return { errorCode: e.http, errorReason: `${e.reason}: ${e.message}` };
}

/** What a request handler resolves to: the response data, and work to start once the response is on the wire. */
export interface Handled {
  readonly data?: unknown;
  readonly after?: () => Promise<void>;
}

export interface ProtooPeerDeps {
  readonly clock: Clock;
  /** Answers one client request; a rejection becomes an error response (see `errorFields`). */
  handle(request: ProtooRequest): Promise<Handled>;
  /** A frame that was not protoo (see the header). */
  badFrame(kind: BadFrame): void;
  /** An `after` step failed; the response already went out. */
  afterFailed(err: unknown, method: string): void;
}

interface Pending {
  readonly method: string;
  readonly resolve: (data: unknown) => void;
  readonly reject: (err: AppError) => void;
  readonly timer: Timer;
}

/** One protoo peer on the server side of a websocket. */
export class ProtooPeer {
  readonly #ws: ProtooSocket;
  readonly #deps: ProtooPeerDeps;
  readonly #pending = new Map<number, Pending>();
  readonly #closeListeners: (() => void)[] = [];
  #nextId = 1;
  #closed = false;
  #isAlive = true;

  constructor(ws: ProtooSocket, deps: ProtooPeerDeps) {
    this.#ws = ws;
    this.#deps = deps;
    ws.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
    ws.on('close', () => this.#onClosed());
    ws.on('pong', () => {
      this.#isAlive = true;
    });
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') deps.badFrame('too_large');
      ws.terminate();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `listener` once when the socket is gone. */
  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.push(listener);
  }

  /**
   * Sends a request to the client; resolves with its ok data, rejects with
   * AppError('BAD_REQUEST') when it answers an error, AppError('TIMEOUT')
   * after `timeoutMs`, AppError('CLOSED') when the socket goes first.
   */
  request(method: string, data: unknown, timeoutMs: number): Promise<unknown> {
    if (this.#closed) return Promise.reject(new AppError('CLOSED', 'the peer is closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = this.#deps.clock.setTimeout(() => {
        if (this.#pending.delete(id)) reject(new AppError('TIMEOUT', `no answer to ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { method, resolve, reject, timer });
      this.#send(encodeRequest(id, method, data));
    });
  }

  /** Sends a notification; dropped when the socket is no longer open. */
  notify(method: string, data: unknown): void {
    this.#send(encodeNotification(method, data));
  }

  /** Closes the socket; idempotent. */
  close(code: number = CLOSE_PEER, reason = ''): void {
    if (this.#ws.readyState === CLOSED || this.#ws.readyState === CLOSING) return;
    this.#ws.close(code, reason);
  }

  /** Pings the client; one that sent nothing since the previous heartbeat, not even the pong, is dropped. */
  heartbeat(): void {
    if (!this.#isAlive) return this.terminate();
    this.#isAlive = false;
    if (this.#ws.readyState === OPEN) this.#ws.ping();
  }

  /** Drops the socket without a close handshake (a client that does not answer the close). */
  terminate(): void {
    this.#ws.terminate();
  }

  #send(text: string): void {
    if (this.#ws.readyState === OPEN) this.#ws.send(text);
  }

  #onFrame(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.#closed) return;
    this.#isAlive = true;
    if (isBinary) {
      this.#deps.badFrame('binary');
      return this.close(CLOSE_UNSUPPORTED, 'binary frames are not protoo');
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const parsed = parseMessage(bytes.toString('utf8'));
    if (!parsed.ok) {
      this.#deps.badFrame(parsed.problem);
      if (parsed.problem === 'json') this.close(CLOSE_INVALID, 'not JSON');
      if (parsed.problem === 'too_deep') this.close(CLOSE_INVALID, 'nests too deeply');
      return;
    }
    const m = parsed.message;
    if ('request' in m) void this.#onRequest(m);
    else if ('response' in m) this.#onResponse(m);
    // Clients of dialog send no notifications; one is harmless and has no answer.
  }

  async #onRequest(req: ProtooRequest): Promise<void> {
    let handled: Handled;
    try {
      handled = await this.#deps.handle(req);
    } catch (err) {
      const { errorCode, errorReason } = errorFields(err);
      return this.#send(encodeError(req.id, errorCode, errorReason));
    }
    this.#send(encodeOk(req.id, handled.data));
    if (handled.after) await handled.after().catch((err: unknown) => this.#deps.afterFailed(err, req.method));
  }

  #onResponse(res: ProtooResponse): void {
    const pending = this.#pending.get(res.id);
    if (!pending) return;
    this.#pending.delete(res.id);
    pending.timer.cancel();
    if (res.ok) pending.resolve(res.data);
    else pending.reject(new AppError('BAD_REQUEST', `the client refused ${pending.method}: ${res.errorReason}`));
  }

  #onClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pending.values()) {
      p.timer.cancel();
      p.reject(new AppError('CLOSED', `the peer closed before answering ${p.method}`));
    }
    this.#pending.clear();
    for (const listener of this.#closeListeners.splice(0)) listener();
  }
}
