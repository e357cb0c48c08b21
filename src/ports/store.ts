/**
 * Where rooms and everything that must outlive a process are kept. Adapters:
 * MemoryStore (tests and tools), PGlite under the data dir (the embedded
 * default) and PostgreSQL; every one passes test/contract/store.ts.
 *
 * Semantics:
 * - `createHub` resolves once the room is stored; it rejects with
 *   AppError('BAD_REQUEST') when the sid is already taken, and stores nothing.
 * - `getHub` resolves to the room, or `undefined` when there is none.
 * - `updateHub` changes only the fields given and resolves to the room as
 *   stored afterwards, or `undefined` when there is no such room.
 * - `listPublicHubs` resolves to at most `limit` rooms that allow promotion,
 *   newest first; `listHubs` to at most `limit` rooms of any kind, newest
 *   first (for operators).
 * - `setHubHost` records the room's SFU (`host`, or null for none) only when
 *   the host stored now is `ifHost` (a compare-and-set, so two nodes never
 *   both move a room); it resolves to the host stored afterwards, which is
 *   `host` when it took and the other one when it did not, or `undefined`
 *   when there is no such room. `updateHub` leaves the host alone.
 * - What comes back equals what went in: the same types (numbers, Dates,
 *   JSON objects) from every adapter, and changing it changes nothing stored.
 * - A write the backend cannot make rejects with AppError('PERSIST_FAILED'),
 *   a read with AppError('STORE_UNAVAILABLE'); nothing half-written remains.
 * - `createFile` stores an upload's record; `getFile` resolves to it or
 *   `undefined`; `promoteFile` makes an expiring file active and resolves to
 *   whether the file exists; `listExpiredFiles` resolves to at most `limit`
 *   ids of files still expiring that were created before `createdBefore`,
 *   oldest first; `deleteFile` is idempotent.
 * - Accounts: `createAccount` resolves to the stored account (ids are
 *   positive integers, assigned by the store); a taken email or OIDC identity
 *   rejects with AppError('BAD_REQUEST'). `getAccount`/`findOidcAccount`
 *   resolve to the account or `undefined`. `updateAccount` changes the fields
 *   given and resolves to the account afterwards, or `undefined`.
 * - Roles: `listOwners` resolves to the account ids holding an owner row for
 *   the room (not the creator, unless it also has a row), ascending.
 *   `addOwner`/`removeOwner` are idempotent and resolve to false when there is
 *   no such room (or account, for `addOwner`). `claimCreator` sets the
 *   creator to `accountId` and clears the assignment token, only when the
 *   stored token is `token`; it resolves to whether it did.
 * - Bans: `createBan` resolves to the stored ban (with its id and
 *   `createdAt`), or rejects with AppError('HUB_NOT_FOUND'). `listBans`
 *   resolves to the bans of the room still in force at `now` (no expiry, or
 *   expiring after `now`), oldest first. `deleteBan` resolves to whether a
 *   ban of that room with that id existed.
 * - Invites: a room has at most one active invite. `activeInvite` resolves
 *   to its sid or `undefined`; `createInvite` revokes any active one and makes
 *   `inviteSid` the active one; `revokeInvite` resolves to whether `inviteSid`
 *   was the room's active invite (it is revoked either way).
 * - Pinned objects: `upsertRoomObject` stores or replaces the object with
 *   that id in the room; `deleteRoomObject` resolves to whether it existed;
 *   `listRoomObjects` resolves to the room's objects in the order they were
 *   first pinned. All three reject with AppError('HUB_NOT_FOUND') for an
 *   unknown room, except that delete and list resolve false / [] instead.
 * - Entity states: `saveEntityState` stores an entity and its updates in one
 *   transaction, rejecting with AppError('ENTITY_EXISTS') when the nid is
 *   taken in the room; `updateEntityState` upserts one update and resolves
 *   false when the root entity does not exist; `deleteEntityState` removes
 *   the entity, its updates and a pinned object with the same id, and
 *   resolves to whether the entity existed; `listEntityStates` resolves to
 *   the room's entities in the order they were saved, each with its updates
 *   in the order first written.
 * - Simulation snapshots: `saveSimState` stores or replaces the snapshot of
 *   simulation `name` in the room (rejects with AppError('HUB_NOT_FOUND')
 *   for an unknown room); `listSimStates` resolves to the room's snapshots
 *   by name ([] for an unknown room); `deleteSimState` resolves to whether
 *   one existed.
 * - `setFileActive` marks a promoted file active (pinned) or inactive, and
 *   resolves to whether the file exists.
 * - `appendAudit` records one moderation or admin action; `listAudit`
 *   resolves to the room's newest `limit` entries, newest first.
 * - Chat history: `appendChat` stores a message of the room and deletes all
 *   but its newest `keep`; `listChat` resolves to the room's newest `limit`
 *   messages, oldest first. An unknown room: append rejects with
 *   AppError('HUB_NOT_FOUND'), list resolves to [].
 * - `ping` resolves when the backend answers, and rejects with
 *   AppError('STORE_UNAVAILABLE') when it does not within `timeoutMs`.
 * - After `close()` (idempotent) every call rejects with AppError('CLOSED').
 */
import type { Hub } from '../core/hub.js';
import type { Payload } from '../protocol/frames.js';

/** A person who signs in. Guests have no account. */
export interface Account {
  readonly accountId: number;
  readonly email: string | null;
  readonly displayName: string | null;
  readonly isAdmin: boolean;
  /** A disabled account may do nothing (parity 4.2). */
  readonly state: 'enabled' | 'disabled';
  /** Set for accounts that an external OpenID Connect issuer vouches for. */
  readonly oidcIssuer: string | null;
  readonly oidcSubject: string | null;
  readonly createdAt: Date;
}

export interface NewAccount {
  readonly email?: string | null;
  readonly displayName?: string | null;
  readonly isAdmin?: boolean;
  readonly oidcIssuer?: string | null;
  readonly oidcSubject?: string | null;
}

export type AccountPatch = Partial<Pick<Account, 'displayName' | 'isAdmin' | 'state'>>;

/** A ban keeps a session or an account (or both) out of a room until it expires. */
export interface Ban {
  readonly banId: number;
  readonly hubSid: string;
  readonly sessionId: string | null;
  readonly accountId: number | null;
  readonly reason: string | null;
  readonly bannedByAccountId: number | null;
  readonly createdAt: Date;
  /** null: until lifted. */
  readonly expiresAt: Date | null;
}

export type NewBan = Omit<Ban, 'banId' | 'createdAt'>;

/** The last snapshot of one simulation of a room (src/sim). */
export interface SimState {
  readonly name: string;
  readonly state: Payload;
  readonly updatedAt: Date;
}

/** A pinned object of the A-Frame client (parity 5.2). */
export interface RoomObject {
  /** The NAF networkId. */
  readonly objectId: string;
  /** The glTF node `objects.gltf` serves. */
  readonly gltfNode: Payload;
  /** The entity as the room last knew it (networkId, template, components, ...), to load into the entity table. */
  readonly entity: Payload | null;
  readonly accountId: number | null;
}

/** One saved sub-entity update of the bitECS client (parity 5.3). */
export interface EntityUpdate {
  readonly nid: string;
  readonly rootNid: string;
  readonly updateMessage: Payload;
}

/** A saved entity of the bitECS client (parity 5.3). */
export interface EntityState {
  readonly nid: string;
  readonly createMessage: Payload;
  readonly updates: readonly EntityUpdate[];
  readonly accountId: number | null;
}

/** A chat message as kept in a room's history. */
export interface ChatMessage {
  readonly sessionId: string;
  readonly accountId: number | null;
  readonly type: string;
  /** Whatever the client sent as `body`: text, or an object for photos and the like. */
  readonly body: unknown;
  /** Set by the store. */
  readonly createdAt?: Date;
}

/** One moderation or admin action. */
export interface AuditEntry {
  readonly hubSid: string | null;
  readonly actorAccountId: number | null;
  readonly actorSessionId: string | null;
  readonly action: string;
  readonly target: string | null;
  readonly details: Payload | null;
  /** Set by the store. */
  readonly at?: Date;
}

/** An upload's record. The access token itself is never stored, only its hash. */
export interface StoredFile {
  /** A UUID. */
  readonly fileId: string;
  readonly tokenHash: string;
  readonly promotionTokenHash: string | null;
  readonly contentType: string;
  readonly contentLength: number;
  /** `expiring` until something (a pin) promotes it; expiring files are swept after the upload TTL. */
  readonly state: 'expiring' | 'active' | 'inactive';
  readonly createdAt: Date;
}

/** The fields of a room that can change after it is created. */
export type HubPatch = Partial<Pick<Hub, 'name' | 'slug' | 'description' | 'userData' | 'roomSize' | 'memberPermissions' | 'allowPromotion' | 'entryMode' | 'embedded'>>;

export interface Store {
  createHub(hub: Hub): Promise<void>;
  getHub(hubSid: string): Promise<Hub | undefined>;
  updateHub(hubSid: string, patch: HubPatch): Promise<Hub | undefined>;
  listPublicHubs(limit: number): Promise<Hub[]>;
  listHubs(limit: number): Promise<Hub[]>;
  setHubHost(hubSid: string, host: string | null, ifHost: string | null): Promise<string | null | undefined>;
  createFile(file: StoredFile): Promise<void>;
  getFile(fileId: string): Promise<StoredFile | undefined>;
  promoteFile(fileId: string): Promise<boolean>;
  listExpiredFiles(createdBefore: Date, limit: number): Promise<string[]>;
  deleteFile(fileId: string): Promise<void>;
  setFileActive(fileId: string, active: boolean): Promise<boolean>;

  createAccount(account: NewAccount): Promise<Account>;
  getAccount(accountId: number): Promise<Account | undefined>;
  findOidcAccount(issuer: string, subject: string): Promise<Account | undefined>;
  updateAccount(accountId: number, patch: AccountPatch): Promise<Account | undefined>;

  listOwners(hubSid: string): Promise<number[]>;
  addOwner(hubSid: string, accountId: number): Promise<boolean>;
  removeOwner(hubSid: string, accountId: number): Promise<boolean>;
  claimCreator(hubSid: string, accountId: number, token: string): Promise<boolean>;

  createBan(ban: NewBan): Promise<Ban>;
  listBans(hubSid: string, now: Date): Promise<Ban[]>;
  deleteBan(hubSid: string, banId: number): Promise<boolean>;

  activeInvite(hubSid: string): Promise<string | undefined>;
  createInvite(hubSid: string, inviteSid: string): Promise<void>;
  revokeInvite(hubSid: string, inviteSid: string): Promise<boolean>;

  upsertRoomObject(hubSid: string, object: RoomObject): Promise<void>;
  deleteRoomObject(hubSid: string, objectId: string): Promise<boolean>;
  listRoomObjects(hubSid: string): Promise<RoomObject[]>;

  saveEntityState(hubSid: string, state: EntityState): Promise<void>;
  updateEntityState(hubSid: string, update: EntityUpdate): Promise<boolean>;
  deleteEntityState(hubSid: string, nid: string): Promise<boolean>;
  listEntityStates(hubSid: string): Promise<EntityState[]>;

  saveSimState(hubSid: string, name: string, state: Payload): Promise<void>;
  listSimStates(hubSid: string): Promise<SimState[]>;
  deleteSimState(hubSid: string, name: string): Promise<boolean>;

  appendChat(hubSid: string, message: ChatMessage, keep: number): Promise<void>;
  listChat(hubSid: string, limit: number): Promise<ChatMessage[]>;

  appendAudit(entry: AuditEntry): Promise<void>;
  listAudit(hubSid: string, limit: number): Promise<AuditEntry[]>;

  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}
