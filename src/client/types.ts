/**
 * What the hub client hands its user, typed from the wire shapes of
 * `hub:<sid>` (parity 2.4-2.10): the join reply, the presence metas, NAF
 * and chat messages, and the client's states.
 */
import type { HubPermissionName } from '../core/permissions.js';
import type { Payload } from '../protocol/frames.js';

export type { HubPermissionName };

export interface ConnectOptions {
  /** The server's base URL (`http(s)://` or `ws(s)://`); the socket is at `/socket/websocket`. */
  readonly url: string;
  /** A WebSocket constructor; the global one by default. Node passes the `ws` package. */
  readonly transport?: new (url: string) => object;
  /** A session token from an earlier join, to keep the same session id. */
  readonly sessionToken?: string;
  /** How long the first connection may take, in milliseconds. */
  readonly timeoutMs?: number;
}

export interface JoinOptions {
  /** Shown to others in presence, as Hubs sends it (`displayName`, `avatarId`, ...). */
  readonly profile: Payload;
  /** Device hints (`mobile`, `embed`, `hmd`); all false by default. */
  readonly context?: Payload;
  /**
   * An account token: without one, or with one that does not verify, the
   * join is a guest's (as in Reticulum), so check `isSignedIn` after the
   * join; `signIn` refuses a bad token outright.
   */
  readonly authToken?: string;
  /** The room's active invite, for rooms in `invite` entry mode. */
  readonly hubInviteId?: string;
  readonly timeoutMs?: number;
}

/** The room as the join reply and `hub_refresh` describe it. */
export interface HubView {
  readonly hubId: string;
  readonly name: string;
  readonly slug: string;
  readonly url: string;
  readonly entryMode: 'allow' | 'invite' | 'deny';
  readonly roomSize: number;
  /** The SFU for voice and video as `host`/`port`; null while no SFU is known. */
  readonly host: string | null;
  readonly port: number | null;
  /** The whole view as sent, for fields not lifted out above. */
  readonly raw: Payload;
}

export interface JoinResult {
  readonly sessionId: string;
  /** Keeps this session id across reconnects: pass it back as `sessionToken` to `connect`. */
  readonly sessionToken: string;
  /** A JWT of this member's permissions in the room, signed by the server. */
  readonly permsToken: string;
  readonly hub: HubView;
}

/**
 * Reasons a join is refused, spelled as the server sends them
 * (src/errors.ts, src/core/join.ts): an unknown room, a closed one, a
 * disabled account or an invite-only room without the active invite
 * (`join_denied`), a ban, a full room, bad join params, accounts that
 * cannot be checked now. `timeout` is the client's own: no reply came.
 */
export const JOIN_REFUSED_REASONS = ['not_found', 'closed', 'join_denied', 'banned', 'room_full', 'bad_request', 'store_unavailable', 'timeout'] as const;
export type JoinRefusedReason = (typeof JOIN_REFUSED_REASONS)[number];

/** A refused join. `reason` is one of JOIN_REFUSED_REASONS, or the server's string for one this client does not know. */
export class JoinRefused extends Error {
  override readonly name = 'JoinRefused';

  constructor(
    readonly reason: JoinRefusedReason | (string & {}),
    message: string,
  ) {
    super(message);
  }
}

/** A channel event the server refused (`unauthorized`, `bad_request`, ...) or did not answer (`timeout`). */
export class ActionRefused extends Error {
  override readonly name = 'ActionRefused';

  constructor(
    readonly event: string,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface PersonRoles {
  readonly owner: boolean;
  readonly creator: boolean;
  readonly signed_in: boolean;
}

/** One session in the room, from its presence meta. */
export interface Person {
  readonly sessionId: string;
  /** `lobby` until the member enters the room (`events:entering`-style updates). */
  readonly presence: 'lobby' | 'room';
  readonly profile: Payload;
  readonly roles: PersonRoles;
  readonly permissions: Readonly<Partial<Record<HubPermissionName, boolean>>>;
  /** The whole meta as sent (flags such as `typing` or `hand_raised` are here once set). */
  readonly meta: Payload;
}

/** A NAF message as received: `naf` payloads as they are, `nafr` strings parsed. */
export interface NafMessage {
  readonly dataType: string;
  readonly data: unknown;
  readonly fromSessionId: string;
}

export interface ChatMessage {
  readonly body: string;
  readonly sessionId: string;
}

/**
 * - `connecting`: opening the socket or waiting for the join reply;
 * - `joined`: in the room;
 * - `reconnecting`: the connection dropped; the socket and channel retry on their own;
 * - `reconnected`: back in the room (same session when a session token was given);
 * - `kicked`: a moderator put this session out; the client does not come back;
 * - `banned`: a moderator banned this session (or its account) and put it out; a new join is refused with `banned`;
 * - `closed`: the room was closed; the client is out and a new join is refused with `closed`;
 * - `refused`: the join was refused (see `reason`);
 * - `disconnected`: the client was disconnected by its user, or never connected.
 */
export type ClientState =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'joined' }
  | { readonly kind: 'reconnecting' }
  | { readonly kind: 'reconnected' }
  | { readonly kind: 'kicked' }
  | { readonly kind: 'banned' }
  | { readonly kind: 'closed' }
  | { readonly kind: 'refused'; readonly reason: JoinRefused['reason'] }
  | { readonly kind: 'disconnected' };

export type ClientEvents = {
  state: [ClientState];
  people: [readonly Person[]];
  naf: [NafMessage];
  chat: [ChatMessage];
  mute: [];
  hub: [HubView];
  error: [unknown];
};
