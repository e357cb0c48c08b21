/**
 * One client websocket speaking Phoenix Channels: decodes each frame once,
 * applies the rate limit, multiplexes topics (heartbeat, phx_join,
 * phx_leave, unmatched topics) and hands hub items to the registry. Outbound
 * frames queue here and are written corked once per event-loop turn.
 *
 * Close cascade: closing the socket leaves every joined channel (the rooms
 * broadcast presence leaves) and removes the connection from its server.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { ChannelConn } from '../../actors/channel-conn.js';
import type { HubItem } from '../../actors/hub/hub-msg.js';
import { permsClaims, principalOf } from '../core/permissions.js';
import { isFlooding, newBucket, takeToken, type RateBucket, type RateLimit } from '../core/rate-limit.js';
import { ErrorCode, type ErrorCodeName } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { Identity } from '../ports/identity.js';
import type { Account } from '../ports/store.js';
import type { Tokens } from '../ports/tokens.js';
import type { Metrics } from '../ports/metrics.js';
import { decodeText, OutFrame, peekBinaryPush } from '../protocol/codec.js';
import { CloseCode, PHOENIX_TOPIC, PhxEvent, type InFrame, type WireVersion } from '../protocol/frames.js';
import type { Flushable, FlushScheduler } from './flush.js';

export interface ConnectionDeps {
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly scheduler: FlushScheduler;
  readonly rateLimit: RateLimit;
  readonly socketBufferBytes: number;
  readonly socketBufferMaxBytes: number;
  /** Rooms (`hub:` channels) this socket may join at once. */
  readonly maxChannels: number;
  /** Routes a hub item to the room `hubSid`. */
  dispatch(hubSid: string, item: HubItem): void;
  /** Called once, when the socket has closed. */
  closed(conn: PhxConnection): void;
  /** True while the node drains: no new room joins. */
  isDraining(): boolean;
  /** For the `ret` channel: sign-in with a token, and global perms tokens. */
  readonly identity: Identity;
  readonly tokens: Tokens;
}

const HUB_PREFIX = 'hub:';
/** Reticulum's socket-wide topic; here it carries the deploy notices that tell clients to move (parity 1.4, 2.2). */
const RET_TOPIC = 'ret';

export class PhxConnection implements ChannelConn, Flushable {
  /** topic -> join_ref of the live channel. */
  readonly #channels = new Map<string, string | null>();
  readonly #bucket: RateBucket;
  /** join_ref of the `ret` channel; undefined while not joined. */
  #retJoinRef: string | null | undefined;
  /** The account the `ret` join signed in with. */
  #retAccount: Account | null = null;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #isOpen = true;
  lastSeenMs: number;

  constructor(
    readonly connId: string,
    readonly sessionId: string,
    readonly sessionToken: string,
    readonly vsn: WireVersion,
    readonly ws: WebSocket,
    readonly socket: Duplex,
    readonly deps: ConnectionDeps,
  ) {
    this.lastSeenMs = deps.clock.now();
    this.#bucket = newBucket(deps.rateLimit, this.lastSeenMs);
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on('ping', () => {
      this.lastSeenMs = deps.clock.now();
    });
    ws.on('error', (err: Error & { code?: string }) => {
      deps.metrics.inc('ws_errors_total', { code: err.code ?? 'unknown' });
      // ws has closed the socket with 1009 already.
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') deps.metrics.inc('ws_closed_total', { reason: 'frame_too_large' });
      deps.log.debug({ connId, code: err.code }, 'socket error');
    });
    ws.on('close', () => this.#onClose());
  }

  get isOpen(): boolean {
    return this.#isOpen;
  }

  /** Topics this socket has joined (or is joining). */
  get topics(): string[] {
    return [...this.#channels.keys()];
  }

  send(frame: OutFrame): void {
    if (!this.#isOpen) return;
    if (frame.isDroppable && this.#backlog() > this.deps.socketBufferBytes) {
      this.deps.metrics.inc('ws_dropped_total', { reason: 'slow_consumer' });
      return;
    }
    const bytes = frame.wire(this.vsn);
    // A socket with frames queued is already marked for the next flush.
    if (this.#queue.push(bytes) === 1) this.deps.scheduler.mark(this);
    this.#queuedBytes += bytes.length;
    if (this.#backlog() > this.deps.socketBufferMaxBytes) {
      this.deps.metrics.inc('ws_closed_total', { reason: 'slow_consumer' });
      this.close(CloseCode.SLOW_CONSUMER, 'slow consumer');
    }
  }

  flush(): number {
    const queue = this.#queue;
    const size = this.#queuedBytes;
    this.#queue = [];
    this.#queuedBytes = 0;
    if (!this.#isOpen || queue.length === 0) return 0;
    // One write of the frames joined: copying a few kilobytes costs less than the stream's bookkeeping for each chunk.
    if (queue.length === 1) {
      this.socket.write(queue[0]!);
    } else {
      this.socket.write(this.deps.scheduler.join(queue, size));
      // Bytes the kernel did not take at once stay referenced by the socket until written.
      if (this.socket.writableLength > 0) this.deps.scheduler.pin();
    }
    this.deps.metrics.inc('ws_frames_out_total', undefined, queue.length);
    return queue.length;
  }

  isJoined(topic: string, joinRef: string | null): boolean {
    return this.#isOpen && this.#channels.has(topic) && this.#channels.get(topic) === joinRef;
  }

  endChannel(topic: string, joinRef: string | null, how: 'refused' | 'closed' | 'errored'): void {
    if (this.#channels.has(topic) && this.#channels.get(topic) !== joinRef) return;
    this.#channels.delete(topic);
    if (how === 'closed') this.send(new OutFrame(joinRef, joinRef, topic, PhxEvent.CLOSE, {}));
    if (how === 'errored') this.send(new OutFrame(joinRef, joinRef, topic, PhxEvent.ERROR, {}));
  }

  /** Starts the closing handshake; the socket stops sending at once. Idempotent. */
  close(code: number, reason: string): void {
    if (!this.#isOpen) return;
    this.flush();
    this.#isOpen = false;
    this.ws.close(code, reason);
  }

  #backlog(): number {
    return this.#queuedBytes + this.socket.writableLength;
  }

  #reply(joinRef: string | null, ref: string | null, topic: string, code: ErrorCodeName, message: string): void {
    this.deps.metrics.inc('ws_refused_total', { reason: ErrorCode[code].reason });
    this.send(OutFrame.reply(joinRef, ref, topic, 'error', { reason: ErrorCode[code].reason, message }));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (!this.#isOpen) return;
    this.lastSeenMs = this.deps.clock.now();
    this.deps.metrics.inc('ws_frames_in_total');
    const isAllowed = takeToken(this.#bucket, this.deps.rateLimit, this.lastSeenMs);
    if (!isAllowed && isFlooding(this.#bucket, this.deps.rateLimit)) {
      this.deps.metrics.inc('ws_closed_total', { reason: 'rate_limited' });
      this.close(CloseCode.RATE_LIMITED, 'rate limit exceeded');
      return;
    }
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) return this.#onBinary(bytes);
    const decoded = decodeText(bytes.toString('utf8'), this.vsn);
    if (!decoded.ok) {
      if (decoded.topic === null) {
        this.deps.metrics.inc('ws_closed_total', { reason: decoded.isTooDeep ? 'too_deep' : 'malformed_frame' });
        this.close(CloseCode.MALFORMED_FRAME, decoded.isTooDeep ? 'frame nests too deeply' : 'malformed frame');
        return;
      }
      return this.#reply(decoded.joinRef, decoded.ref, decoded.topic, 'BAD_REQUEST', decoded.reason);
    }
    const { frame } = decoded;
    if (!isAllowed) return this.#reply(frame.joinRef, frame.ref, frame.topic, 'RATE_LIMITED', 'too many messages; slow down');
    this.#route(frame, bytes.length);
  }

  #onBinary(bytes: Buffer): void {
    const push = peekBinaryPush(bytes);
    if (!push) {
      this.deps.metrics.inc('ws_closed_total', { reason: 'binary' });
      this.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not supported');
      return;
    }
    this.#reply(push.joinRef, push.ref, push.topic, 'UNSUPPORTED_BINARY', 'binary payloads are not supported; send JSON text frames');
  }

  #route(frame: InFrame, size: number): void {
    const { topic, event, joinRef, ref } = frame;
    if (topic === PHOENIX_TOPIC) {
      if (event === PhxEvent.HEARTBEAT) return this.send(OutFrame.reply(null, ref, topic, 'ok', {}));
      return this.#reply(joinRef, ref, topic, 'UNMATCHED_TOPIC', 'the phoenix topic only takes heartbeats');
    }
    if (topic === RET_TOPIC) return this.#ret(frame);
    if (event === PhxEvent.JOIN) return this.#join(frame);
    if (event === PhxEvent.LEAVE) {
      if (!this.#channels.has(topic)) return this.send(OutFrame.reply(joinRef, ref, topic, 'ok', {}));
      this.#channels.delete(topic);
      return this.deps.dispatch(topic.slice(HUB_PREFIX.length), { type: 'hub/leave', conn: this, joinRef, ref });
    }
    if (!this.#channels.has(topic)) return this.#reply(joinRef, ref, topic, 'UNMATCHED_TOPIC', `not joined to ${topic.slice(0, 64)}`);
    this.deps.dispatch(topic.slice(HUB_PREFIX.length), { type: 'hub/event', conn: this, frame, size });
  }

  /** Pushes a `notice` (e.g. `ret-deploy`) on the `ret` channel, if this socket joined it. */
  notice(payload: Record<string, unknown>): void {
    if (this.#retJoinRef !== undefined) this.send(new OutFrame(this.#retJoinRef, null, RET_TOPIC, 'notice', payload));
  }

  #ret(frame: InFrame): void {
    const { event, joinRef, ref } = frame;
    if (event === PhxEvent.JOIN) {
      if (this.#retJoinRef !== undefined) this.send(new OutFrame(this.#retJoinRef, this.#retJoinRef, RET_TOPIC, PhxEvent.CLOSE, {}));
      this.#retJoinRef = undefined;
      const token = frame.payload['token'];
      const accept = (account: Account | null) => {
        this.#retJoinRef = joinRef;
        this.#retAccount = account;
        this.send(OutFrame.reply(joinRef, ref, RET_TOPIC, 'ok', { session_id: this.sessionId, vapid_public_key: null }));
      };
      if (typeof token !== 'string' || token === '') return accept(null);
      // Parity: a ret join whose account token does not verify is refused.
      this.deps.identity.authenticate(token).then(
        (account) => {
          if (!this.#isOpen) return;
          if (account && account.state === 'enabled') return accept(account);
          this.send(OutFrame.reply(joinRef, ref, RET_TOPIC, 'error', { message: 'Sign in failed', reason: ErrorCode.SIGN_IN_FAILED.reason }));
        },
        (err: unknown) => {
          this.deps.log.warn({ err }, 'could not check a ret token');
          this.#reply(joinRef, ref, RET_TOPIC, 'STORE_UNAVAILABLE', 'accounts cannot be checked now; try again shortly');
        },
      );
      return;
    }
    if (event === PhxEvent.LEAVE) {
      const old = this.#retJoinRef;
      this.#retJoinRef = undefined;
      this.send(OutFrame.reply(joinRef, ref, RET_TOPIC, 'ok', {}));
      if (old !== undefined) this.send(new OutFrame(old, old, RET_TOPIC, PhxEvent.CLOSE, {}));
      return;
    }
    if (this.#retJoinRef === undefined) return this.#reply(joinRef, ref, RET_TOPIC, 'UNMATCHED_TOPIC', 'not joined to ret');
    // Reticulum tracks the hub a socket is in for its own presence; nothing here needs it.
    if (event === 'change_hub') return;
    if (event === 'refresh_perms_token') {
      // Global perms only, as Reticulum's ret channel: no room, so no hub permissions.
      this.deps.tokens.signPermsToken(permsClaims(principalOf(this.#retAccount), this.sessionId)).then(
        (permsToken) => this.send(OutFrame.reply(joinRef, ref, RET_TOPIC, 'ok', { perms_token: permsToken })),
        (err: unknown) => {
          this.deps.log.error({ err }, 'could not sign a perms token');
          this.#reply(joinRef, ref, RET_TOPIC, 'INTERNAL', 'could not sign a perms token');
        },
      );
      return;
    }
    this.#reply(joinRef, ref, RET_TOPIC, 'UNKNOWN_EVENT', `unknown event ${JSON.stringify(event.slice(0, 64))}`);
  }

  #join(frame: InFrame): void {
    const { topic, joinRef, ref, payload } = frame;
    if (!topic.startsWith(HUB_PREFIX)) return this.#reply(joinRef, ref, topic, 'UNMATCHED_TOPIC', `no channel serves ${topic.slice(0, 64)}`);
    if (this.deps.isDraining()) return this.#reply(joinRef, ref, topic, 'DRAINING', 'this node is shutting down; reconnect to join');
    if (!this.#channels.has(topic) && this.#channels.size >= this.deps.maxChannels) {
      return this.#reply(joinRef, ref, topic, 'TOO_MANY_CHANNELS', `a socket may join at most ${this.deps.maxChannels} rooms; leave one first`);
    }
    if (this.#channels.has(topic)) {
      // Parity: Phoenix.Socket closes the existing channel for a duplicate join.
      const old = this.#channels.get(topic) ?? null;
      this.send(new OutFrame(old, old, topic, PhxEvent.CLOSE, {}));
    }
    this.#channels.set(topic, joinRef);
    this.deps.dispatch(topic.slice(HUB_PREFIX.length), { type: 'hub/join', conn: this, joinRef, ref, params: payload });
  }

  #onClose(): void {
    this.#isOpen = false;
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const topic of this.#channels.keys()) {
      this.deps.dispatch(topic.slice(HUB_PREFIX.length), { type: 'hub/leave', conn: this, joinRef: null, ref: null });
    }
    this.#channels.clear();
    this.deps.closed(this);
  }
}
