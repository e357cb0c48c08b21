/**
 * The websocket endpoint `/socket/websocket` (parity 1.1, 2.1): picks the
 * serializer from `vsn`, restores or mints the session identity from
 * `session_token`, closes sockets idle past `idleTimeoutMs`, and can
 * disconnect every socket of one session (kick uses it). An address holding
 * its most sockets (AddressLimit) gets 429 before the handshake; every
 * refused upgrade counts in `ws_upgrades_refused_total{reason}`.
 *
 * Close cascade: `close()` stops accepting upgrades, closes every socket with
 * 1001 and waits for them (terminating stragglers), then stops the idle sweep.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { HubItem } from '../../actors/hub/hub-msg.js';
import type { AddressLimit } from '../core/address-limit.js';
import type { RateLimit } from '../core/rate-limit.js';
import { AppError, ErrorCode, type ErrorCodeName } from '../errors.js';
import type { Clock, Timer } from '../ports/clock.js';
import type { Identity } from '../ports/identity.js';
import type { Metrics } from '../ports/metrics.js';
import type { Tokens } from '../ports/tokens.js';
import { wireVersionFromVsn } from '../protocol/codec.js';
import { CloseCode, type WireVersion } from '../protocol/frames.js';
import { PhxConnection } from './connection.js';
import type { FlushScheduler } from './flush.js';

export const SOCKET_PATH = '/socket/websocket';
const CLOSE_GRACE_MS = 2000;

export interface SocketServerDeps {
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly tokens: Tokens;
  readonly identity: Identity;
  readonly maxFrameBytes: number;
  readonly idleTimeoutMs: number;
  readonly rateLimit: RateLimit;
  readonly socketBufferBytes: number;
  readonly socketBufferMaxBytes: number;
  /** Rooms one socket may join at once. */
  readonly maxChannelsPerSocket: number;
  /** Open sockets per client address. */
  readonly addressLimit: AddressLimit;
  /** The longest a frame may wait for its batched write, as load rises (src/ws/flush.ts); 0 writes every turn. */
  /** Batches the sockets' writes (shared with the rooms' bus links, see src/main.ts). */
  readonly scheduler: FlushScheduler;
  dispatch(hubSid: string, item: HubItem): void;
}

/** Answers an upgrade with `status` and the HTTP API's `{code, message}` body, then closes. */
function refuseUpgrade(socket: Duplex, status: number, code: ErrorCodeName, message: string): void {
  const body = JSON.stringify({ code: ErrorCode[code].reason, message });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

export class SocketServer {
  readonly #deps: SocketServerDeps;
  readonly #wss: WebSocketServer;
  readonly #scheduler: FlushScheduler;
  readonly #sessions = new Map<string, Set<PhxConnection>>();
  readonly #conns = new Set<PhxConnection>();
  readonly #sweep: Timer;
  #nextConnId = 0;
  #isClosing = false;
  #isDraining = false;

  constructor(deps: SocketServerDeps) {
    this.#deps = deps;
    this.#scheduler = deps.scheduler;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    const sweepMs = Math.max(50, Math.min(5000, Math.floor(deps.idleTimeoutMs / 4)));
    this.#sweep = deps.clock.setInterval(() => this.#closeIdle(), sweepMs);
  }

  /** Serves upgrades on `server`. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#onUpgrade(req, socket, head).catch((err: unknown) => {
        this.#deps.log.error({ err }, 'upgrade failed');
        socket.destroy();
      });
    });
  }

  get connectionCount(): number {
    return this.#conns.size;
  }

  /** Closes every socket of `sessionId` (Phoenix's `disconnect` to `session:<id>`). Resolves to how many there were. */
  disconnectSession(sessionId: string, code: number = CloseCode.NORMAL, reason = 'disconnected'): number {
    const conns = [...(this.#sessions.get(sessionId) ?? [])];
    for (const conn of conns) conn.close(code, reason);
    return conns.length;
  }

  async #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (this.#isClosing || this.#isDraining) return this.#refuse(socket, 503, 'DRAINING', 'this node is shutting down; connect to another');
    if (url.pathname !== SOCKET_PATH) return this.#refuse(socket, 404, 'HUB_NOT_FOUND', 'no websocket at this path');
    const vsn = wireVersionFromVsn(url.searchParams.get('vsn'));
    if (vsn === null) return this.#refuse(socket, 400, 'BAD_REQUEST', 'vsn must be 1.0.x or 2.0.x');
    socket.on('error', () => socket.destroy());
    // A connection already gone has emitted its 'close': a slot taken now would never come back.
    if (socket.destroyed) return;
    const { addressLimit } = this.#deps;
    const address = addressLimit.clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    if (!addressLimit.tryAcquire(address)) {
      return this.#refuse(socket, 429, 'TOO_MANY_CONNECTIONS', `one address may hold ${addressLimit.maxPerAddress} sockets; close one first`);
    }
    // Whichever way the upgrade ends, the slot is given back when the connection does.
    socket.once('close', () => addressLimit.release(address));

    const supplied = url.searchParams.get('session_token');
    const restored = supplied ? await this.#deps.tokens.verifySessionToken(supplied) : null;
    const sessionId = restored ?? randomUUID();
    const sessionToken = await this.#deps.tokens.signSessionToken(sessionId);
    if (socket.destroyed || this.#isClosing) return void socket.destroy();
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, socket, vsn, sessionId, sessionToken));
  }

  #refuse(socket: Duplex, status: number, code: ErrorCodeName, message: string): void {
    this.#deps.metrics.inc('ws_upgrades_refused_total', { reason: ErrorCode[code].reason });
    refuseUpgrade(socket, status, code, message);
  }

  #accept(ws: WebSocket, socket: Duplex, vsn: WireVersion, sessionId: string, sessionToken: string): void {
    const connId = `c${(this.#nextConnId++).toString(36)}`;
    const conn = new PhxConnection(connId, sessionId, sessionToken, vsn, ws, socket, {
      clock: this.#deps.clock,
      metrics: this.#deps.metrics,
      log: this.#deps.log,
      scheduler: this.#scheduler,
      rateLimit: this.#deps.rateLimit,
      socketBufferBytes: this.#deps.socketBufferBytes,
      socketBufferMaxBytes: this.#deps.socketBufferMaxBytes,
      maxChannels: this.#deps.maxChannelsPerSocket,
      dispatch: (hubSid, item) => this.#dispatch(hubSid, item),
      closed: (c) => this.#forget(c),
      isDraining: () => this.#isDraining,
      identity: this.#deps.identity,
      tokens: this.#deps.tokens,
    });
    this.#conns.add(conn);
    let session = this.#sessions.get(sessionId);
    if (!session) this.#sessions.set(sessionId, (session = new Set()));
    session.add(conn);
    this.#deps.metrics.inc('ws_connects_total');
    this.#deps.log.debug({ connId, sessionId }, 'socket connected');
  }

  #dispatch(hubSid: string, item: HubItem): void {
    try {
      this.#deps.dispatch(hubSid, item);
    } catch (err) {
      // Leaves that race shutdown have nowhere to go; anything else is a bug.
      if (!(err instanceof AppError && err.code === 'CLOSED')) throw err;
    }
  }

  #forget(conn: PhxConnection): void {
    this.#conns.delete(conn);
    const session = this.#sessions.get(conn.sessionId);
    session?.delete(conn);
    if (session?.size === 0) this.#sessions.delete(conn.sessionId);
    this.#deps.log.debug({ connId: conn.connId, sessionId: conn.sessionId }, 'socket closed');
  }

  #closeIdle(): void {
    const cutoff = this.#deps.clock.now() - this.#deps.idleTimeoutMs;
    for (const conn of this.#conns) {
      if (conn.lastSeenMs >= cutoff) continue;
      this.#deps.metrics.inc('ws_closed_total', { reason: 'idle' });
      conn.close(CloseCode.NORMAL, 'idle timeout');
    }
  }

  /**
   * Starts draining: no new sockets or room joins, and every socket on the
   * `ret` channel gets `notice` (Reticulum's `ret-deploy`), so Hubs clients
   * move to another node before this one closes their sockets.
   */
  drain(notice: Record<string, unknown>): void {
    if (this.#isDraining) return;
    this.#isDraining = true;
    for (const conn of this.#conns) conn.notice(notice);
  }

  /** Stops accepting and closes every socket with 1001. Idempotent. */
  async close(): Promise<void> {
    if (this.#isClosing) return;
    this.#isClosing = true;
    this.#sweep.cancel();
    const conns = [...this.#conns];
    const closed = conns.map((c) => new Promise<void>((resolve) => (c.ws.readyState === c.ws.CLOSED ? resolve() : c.ws.once('close', () => resolve()))));
    for (const conn of conns) conn.close(CloseCode.SERVER_SHUTDOWN, 'server shutdown');
    let grace: Timer | undefined;
    const timedOut = new Promise<void>((resolve) => {
      grace = this.#deps.clock.setTimeout(resolve, CLOSE_GRACE_MS);
    });
    await Promise.race([Promise.all(closed), timedOut]);
    grace?.cancel();
    for (const conn of conns) if (conn.ws.readyState !== conn.ws.CLOSED) conn.ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
