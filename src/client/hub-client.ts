/**
 * A client for one room on a hubmesh (or Reticulum) server, on the official
 * `phoenix` client: connect, join `hub:<sid>`, the people in the room,
 * NAF and chat messages, moderation, and the states a person must
 * understand. Runs in the browser and in Node (pass `ws` as `transport`).
 *
 * Lifecycle: `disconnect()` leaves the room and closes the socket; it is
 * idempotent, and `await using` calls it. Kicks and closed rooms end the
 * session on the server's word and the client does not come back. After a
 * dropped connection phoenix reconnects and rejoins on its own, with the
 * latest session token (the same session id) and the account signed in
 * last (`signIn`), not the one the first join named.
 */
import { Presence, Socket, type Channel } from 'phoenix';
import type { Payload } from '../protocol/frames.js';
import { errorReporter, TypedEmitter, type Listener } from './emitter.js';
import { ActionRefused, JoinRefused, type ChatMessage, type ClientEvents, type ClientState, type ConnectOptions, type HubPermissionName, type JoinOptions, type JoinResult, type NafMessage, type Person } from './types.js';
import { closeCodeOf, closeReasonOf, encodeNaf, firstHub, isPayload, readJwtClaims, readNaf, readNafr, readPerson, reasonOf } from './wire.js';

const DEFAULT_CONTEXT = { mobile: false, embed: false, hmd: false };
const DEFAULT_TIMEOUT_MS = 10_000;

export class HubClient {
  readonly #events = new TypedEmitter<ClientEvents>((err) => this.#reportError(err));
  /** Errors nobody awaits (listeners that threw, refused fire-and-forget pushes) go to `error` listeners. */
  readonly #reportError = errorReporter((err) => this.#events.emit('error', err));
  #socket: Socket | null = null;
  #channel: Channel | null = null;
  #state: ClientState = { kind: 'disconnected' };
  #session: JoinResult | null = null;
  #people: readonly Person[] = [];
  /** The join params phoenix sends on every (re)join; `signIn`/`signOut` change the account in them. */
  #joinParams: Payload = {};
  #isLeaving = false;
  #isChannelDone = false;

  get state(): ClientState {
    return this.#state;
  }

  /** The join result, refreshed on every rejoin; null before the first join. */
  get session(): JoinResult | null {
    return this.#session;
  }

  /** Everyone in the room, this client included: one entry per session. */
  get people(): readonly Person[] {
    return this.#people;
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.#events.on(event, listener);
  }

  onNaf(handler: (message: NafMessage) => void): () => void {
    return this.on('naf', handler);
  }

  onChat(handler: (message: ChatMessage) => void): () => void {
    return this.on('chat', handler);
  }

  /** Opens the socket. Resolves once it is open; rejects (and stops retrying) if it fails before that. */
  connect(opts: ConnectOptions): Promise<void> {
    if (this.#socket) throw new Error('HubClient.connect: already connected');
    const base = opts.url.replace(/^http/, 'ws').replace(/\/+$/, '');
    const socket = new Socket(`${base}/socket`, {
      ...(opts.transport ? { transport: opts.transport } : {}),
      // A function, so a reconnect presents the token of the latest join and keeps the session id.
      params: () => {
        const token = this.#session?.sessionToken ?? opts.sessionToken;
        return token === undefined || token === '' ? {} : { session_token: token };
      },
    });
    this.#socket = socket;
    this.#isLeaving = false;
    this.#setState({ kind: 'connecting' });
    socket.onClose((event: unknown) => this.#onSocketClose(closeCodeOf(event), closeReasonOf(event)));
    return new Promise<void>((resolve, reject) => {
      let isSettled = false;
      const settle = (err?: Error) => {
        if (isSettled) return;
        isSettled = true;
        clearTimeout(timer);
        socket.off([opened, failed]);
        if (!err) return resolve();
        this.#stopSocket();
        this.#setState({ kind: 'disconnected' });
        reject(err);
      };
      const timer = setTimeout(() => settle(new Error(`could not connect to ${base} within ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`)), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      const opened = socket.onOpen(() => settle());
      const failed = socket.onError(() => settle(new Error(`could not connect to ${base}`)));
      socket.connect();
    });
  }

  /**
   * Joins `hub:<hubSid>`. Resolves with the join result; rejects with
   * `JoinRefused` carrying the server's reason (`not_found`, `closed`,
   * `room_full`, `banned`, `join_denied`, ...) or `timeout`.
   */
  join(hubSid: string, opts: JoinOptions): Promise<JoinResult> {
    const socket = this.#socket;
    if (!socket) throw new Error('HubClient.join: connect first');
    if (this.#channel) throw new Error('HubClient.join: one room per client');
    const params: Payload = { profile: opts.profile, context: opts.context ?? DEFAULT_CONTEXT };
    if (opts.authToken !== undefined) params['auth_token'] = opts.authToken;
    if (opts.hubInviteId !== undefined) params['hub_invite_id'] = opts.hubInviteId;
    this.#joinParams = params;
    const channel = socket.channel(`hub:${hubSid}`, () => this.#joinParams);
    this.#channel = channel;
    this.#isChannelDone = false;
    this.#watch(channel);
    this.#setState({ kind: 'connecting' });
    return new Promise<JoinResult>((resolve, reject) => {
      let isFirst = true;
      const refuse = (err: JoinRefused) => {
        if (this.#isChannelDone) return;
        this.#isChannelDone = true;
        this.#setState(isFirst ? { kind: 'refused', reason: err.reason } : err.reason === 'closed' ? { kind: 'closed' } : { kind: 'refused', reason: err.reason });
        if (channel.state !== 'closed') channel.leave();
        if (isFirst) reject(err);
        isFirst = false;
      };
      channel
        .join(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
        .receive('ok', (reply: unknown) => {
          const session = this.#readJoin(reply);
          this.#session = session;
          // Phoenix sends the same join again after a reconnect, and this callback runs again.
          this.#setState({ kind: isFirst ? 'joined' : 'reconnected' });
          if (isFirst) resolve(session);
          isFirst = false;
        })
        .receive('error', (response: unknown) => {
          const { reason, message } = reasonOf(response, 'join_denied');
          refuse(new JoinRefused(reason, message));
        })
        .receive('timeout', () => refuse(new JoinRefused('timeout', 'no reply to the join')));
    });
  }

  /**
   * Sends a NAF message (`u`, `um`, `r`, or a custom type) to everyone else
   * in the room. First syncs go as `naf`, the rest as `nafr` (parity 2.9).
   * With `isReliable: false` it is dropped while the socket is down, as
   * Hubs does for unreliable sends; otherwise it is buffered.
   */
  sendNaf(dataType: string, data: unknown, opts: { readonly isReliable?: boolean } = {}): void {
    const channel = this.#joinedChannel('sendNaf');
    if (opts.isReliable === false && this.#socket?.isConnected() !== true) return;
    const { event, payload } = encodeNaf(dataType, data);
    channel.push(event, payload);
  }

  /** Sends a chat message to everyone, this client included. A refusal (no `text_chat`) arrives as an `error` event. */
  sendChat(body: string): void {
    this.#joinedChannel('sendChat')
      .push('message', { type: 'chat', body })
      .receive('error', (response: unknown) => {
        const { reason, message } = reasonOf(response, 'unauthorized');
        this.#reportError(new ActionRefused('message', reason, message));
      });
  }

  /** Puts a session out of the room (needs `kick_users`). Rejects with `ActionRefused`. */
  async kick(sessionId: string): Promise<void> {
    await this.#request('kick', { session_id: sessionId });
  }

  /** Asks a session to mute its microphone (needs `mute_users`). Rejects with `ActionRefused`. */
  async mute(sessionId: string): Promise<void> {
    await this.#request('mute', { session_id: sessionId });
  }

  /** Closes the room for good: everyone is put out and later joins are refused with `closed` (needs `close_hub`). */
  async closeHub(): Promise<void> {
    await this.#request('close_hub', {});
  }

  /**
   * Signs this member in with an account token (`sign_in`), in the room at
   * once: presence shows the account's roles and permissions, and rejoins
   * after a reconnect carry it. With the room's `creatorAssignmentToken`
   * (from creating it) an account claims a room nobody has claimed and
   * becomes its creator. Rejects with `ActionRefused`: `invalid_token` for
   * a token that does not verify or a disabled account; the member stays
   * as it was.
   */
  async signIn(token: string, creatorAssignmentToken?: string): Promise<void> {
    const payload: Payload = { token };
    if (creatorAssignmentToken !== undefined && creatorAssignmentToken !== '') payload['creator_assignment_token'] = creatorAssignmentToken;
    const reply = await this.#request('sign_in', payload);
    this.#joinParams = { ...this.#joinParams, auth_token: token };
    this.#takePermsToken(reply);
  }

  /** Signs the account out (`sign_out`): this member is a guest again, here and on rejoins. Rejects with `ActionRefused`. */
  async signOut(): Promise<void> {
    await this.#request('sign_out', {});
    const { auth_token: _dropped, ...params } = this.#joinParams;
    this.#joinParams = params;
    await this.refreshPermsToken();
  }

  /**
   * Asks for a fresh perms token (`refresh_perms_token`): the join's lasts 5
   * minutes and carries the permissions of its time. Resolves to the token,
   * also kept in `session`; rejects with `ActionRefused`.
   */
  async refreshPermsToken(): Promise<string> {
    this.#takePermsToken(await this.#request('refresh_perms_token', {}));
    return this.#session?.permsToken ?? '';
  }

  /** Whether an account is signed in on this member: from its presence roles, or the perms token before presence arrives. */
  get isSignedIn(): boolean {
    const self = this.#session && this.#people.find((p) => p.sessionId === this.#session?.sessionId);
    if (self) return self.roles.signed_in;
    const account = this.#session ? readJwtClaims(this.#session.permsToken)['account_id'] : null;
    return typeof account === 'string' && account !== '';
  }

  /** Whether this member may do `permission` now: from its presence meta, or the perms token before presence arrives. */
  can(permission: HubPermissionName): boolean {
    const self = this.#session && this.#people.find((p) => p.sessionId === this.#session?.sessionId);
    if (self) return self.permissions[permission] === true;
    return this.#session !== null && readJwtClaims(this.#session.permsToken)[permission] === true;
  }

  /** Leaves the room and closes the socket. Idempotent. */
  async disconnect(): Promise<void> {
    const socket = this.#socket;
    if (!socket || this.#isLeaving) return;
    this.#isLeaving = true;
    this.#setState({ kind: 'disconnected' });
    await new Promise<void>((resolve) => {
      if (!socket.isConnected()) return socket.disconnect(() => resolve());
      socket.onClose(() => resolve());
      socket.disconnect();
    });
    this.#events.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect();
  }

  #watch(channel: Channel): void {
    const presence = new Presence(channel);
    presence.onSync(() => {
      this.#people = presence.list((sessionId: string, entry: { metas?: unknown[] }) => readPerson(sessionId, entry.metas?.[0]));
      this.#events.emit('people', this.#people);
    });
    channel.on('naf', (payload: unknown) => this.#emitNaf(isPayload(payload) ? readNaf(payload) : null));
    channel.on('nafr', (payload: unknown) => this.#emitNaf(isPayload(payload) ? readNafr(payload) : null));
    channel.on('message', (payload: unknown) => {
      if (!isPayload(payload) || payload['type'] !== 'chat' || typeof payload['body'] !== 'string') return;
      this.#events.emit('chat', { body: payload['body'], sessionId: typeof payload['session_id'] === 'string' ? payload['session_id'] : '' });
    });
    channel.on('mute', () => this.#events.emit('mute'));
    channel.on('hub_refresh', (payload: unknown) => {
      if (isPayload(payload)) this.#events.emit('hub', firstHub(payload));
    });
    // The server ends the channel when the room closes (close_hub); our own leave and refusals are handled where they start.
    channel.onClose(() => {
      if (this.#isLeaving || this.#isChannelDone) return;
      this.#isChannelDone = true;
      this.#setState({ kind: 'closed' });
    });
    channel.onError(() => {
      if (this.#socket?.isConnected() === true && this.#isInRoom()) this.#setState({ kind: 'reconnecting' });
    });
  }

  /**
   * The server closes a kicked session's socket with 1000 (CloseCode.NORMAL,
   * which Hubs takes as "do not come back"), with the text `banned` when a
   * ban put it out; any other close is a dropped connection that phoenix
   * retries.
   */
  #onSocketClose(code: number | null, reason: string): void {
    if (this.#isLeaving || this.#isChannelDone) return;
    if (code === 1000 && this.#channel) {
      this.#isChannelDone = true;
      this.#setState({ kind: reason === 'banned' ? 'banned' : 'kicked' });
      this.#stopSocket();
      return;
    }
    if (this.#isInRoom()) this.#setState({ kind: 'reconnecting' });
  }

  #isInRoom(): boolean {
    const { kind } = this.#state;
    return kind === 'joined' || kind === 'reconnected';
  }

  #stopSocket(): void {
    this.#socket?.disconnect();
  }

  #emitNaf(message: NafMessage | null): void {
    if (message) this.#events.emit('naf', message);
  }

  #readJoin(reply: unknown): JoinResult {
    const r = isPayload(reply) ? reply : {};
    const text = (key: string) => (typeof r[key] === 'string' ? r[key] : '');
    return { sessionId: text('session_id'), sessionToken: text('session_token'), permsToken: text('perms_token'), hub: firstHub(r) };
  }

  #takePermsToken(reply: Payload): void {
    const permsToken = reply['perms_token'];
    if (this.#session && typeof permsToken === 'string') this.#session = { ...this.#session, permsToken };
  }

  #joinedChannel(what: string): Channel {
    if (!this.#channel || this.#isChannelDone) throw new Error(`HubClient.${what}: not in a room`);
    return this.#channel;
  }

  #request(event: string, payload: Payload, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Payload> {
    const channel = this.#joinedChannel(event);
    return new Promise((resolve, reject) => {
      channel
        .push(event, payload, timeoutMs)
        .receive('ok', (response: unknown) => resolve(isPayload(response) ? response : {}))
        .receive('error', (response: unknown) => {
          const { reason, message } = reasonOf(response, 'unauthorized');
          reject(new ActionRefused(event, reason, message));
        })
        .receive('timeout', () => reject(new ActionRefused(event, 'timeout', `no reply to ${event}`)));
    });
  }

  #setState(state: ClientState): void {
    this.#state = state;
    this.#events.emit('state', state);
  }
}
