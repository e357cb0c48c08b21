import type { Hub } from '../core/hub.js';
import { AppError } from '../errors.js';
import type { Payload } from '../protocol/frames.js';
import type { Account, AccountPatch, AuditEntry, Ban, ChatMessage, EntityState, EntityUpdate, HubPatch, NewAccount, NewBan, RoomObject, SimState, Store, StoredFile } from '../ports/store.js';

/** The room's map, made on first use. */
function roomMap<K, V>(maps: Map<string, Map<K, V>>, hubSid: string): Map<K, V> {
  let map = maps.get(hubSid);
  if (!map) maps.set(hubSid, (map = new Map()));
  return map;
}

/** A patch without its undefined fields, which mean "unchanged". */
function definedFields<T extends object>(patch: T): Partial<T> {
  return structuredClone(Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>);
}

/**
 * Rooms in Maps: nothing survives the process. See ports/store.ts for the
 * semantics. Per-room Maps keep insertion order, which the listings promise,
 * as the SQL tables' `seq` columns do.
 */
export class MemoryStore implements Store {
  readonly #hubs = new Map<string, Hub>();
  readonly #files = new Map<string, StoredFile>();
  readonly #accounts = new Map<number, Account>();
  readonly #owners = new Map<string, Set<number>>();
  readonly #bans = new Map<number, Ban>();
  /** hubSid → the active invite's sid. */
  readonly #invites = new Map<string, string>();
  readonly #objects = new Map<string, Map<string, RoomObject>>();
  readonly #sims = new Map<string, Map<string, SimState>>();
  readonly #entities = new Map<string, Map<string, Omit<EntityState, 'updates'>>>();
  /** Per room, keyed by the update's own nid, as the SQL primary key. */
  readonly #updates = new Map<string, Map<string, EntityUpdate>>();
  readonly #audit: AuditEntry[] = [];
  readonly #chat = new Map<string, ChatMessage[]>();
  #nextAccountId = 1;
  #nextBanId = 1;
  #closed = false;

  #check(): void {
    if (this.#closed) throw new AppError('CLOSED', 'store is closed');
  }

  #checkHub(hubSid: string): void {
    if (!this.#hubs.has(hubSid)) throw new AppError('HUB_NOT_FOUND', `no hub ${hubSid}`);
  }

  async createHub(hub: Hub): Promise<void> {
    this.#check();
    if (this.#hubs.has(hub.hubSid)) throw new AppError('BAD_REQUEST', `hub ${hub.hubSid} already exists`);
    this.#hubs.set(hub.hubSid, structuredClone(hub));
  }

  async getHub(hubSid: string): Promise<Hub | undefined> {
    this.#check();
    const hub = this.#hubs.get(hubSid);
    return hub ? structuredClone(hub) : undefined;
  }

  async updateHub(hubSid: string, patch: HubPatch): Promise<Hub | undefined> {
    this.#check();
    const hub = this.#hubs.get(hubSid);
    if (!hub) return undefined;
    const next = { ...hub, ...definedFields(patch) };
    this.#hubs.set(hubSid, next);
    return structuredClone(next);
  }

  async setHubHost(hubSid: string, host: string | null, ifHost: string | null): Promise<string | null | undefined> {
    this.#check();
    const hub = this.#hubs.get(hubSid);
    if (!hub) return undefined;
    if (hub.host !== ifHost) return hub.host;
    this.#hubs.set(hubSid, { ...hub, host });
    return host;
  }

  async listPublicHubs(limit: number): Promise<Hub[]> {
    this.#check();
    return this.#newest([...this.#hubs.values()].filter((h) => h.allowPromotion), limit);
  }

  async listHubs(limit: number): Promise<Hub[]> {
    this.#check();
    return this.#newest([...this.#hubs.values()], limit);
  }

  /** Newest first; rooms made in the same millisecond in the order they were made, newest first. */
  #newest(hubs: Hub[], limit: number): Hub[] {
    return hubs
      .map((h, i) => [h, i] as const)
      .sort(([a, i], [b, j]) => b.createdAt.getTime() - a.createdAt.getTime() || j - i)
      .slice(0, limit)
      .map(([h]) => structuredClone(h));
  }

  async createFile(file: StoredFile): Promise<void> {
    this.#check();
    if (this.#files.has(file.fileId)) throw new AppError('BAD_REQUEST', `file ${file.fileId} already exists`);
    this.#files.set(file.fileId, structuredClone(file));
  }

  async getFile(fileId: string): Promise<StoredFile | undefined> {
    this.#check();
    const file = this.#files.get(fileId);
    return file ? structuredClone(file) : undefined;
  }

  async promoteFile(fileId: string): Promise<boolean> {
    this.#check();
    const file = this.#files.get(fileId);
    if (!file) return false;
    if (file.state === 'expiring') this.#files.set(fileId, { ...file, state: 'active' });
    return true;
  }

  async listExpiredFiles(createdBefore: Date, limit: number): Promise<string[]> {
    this.#check();
    return [...this.#files.values()]
      .filter((f) => f.state === 'expiring' && f.createdAt < createdBefore)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, limit)
      .map((f) => f.fileId);
  }

  async deleteFile(fileId: string): Promise<void> {
    this.#check();
    this.#files.delete(fileId);
  }

  async setFileActive(fileId: string, active: boolean): Promise<boolean> {
    this.#check();
    const file = this.#files.get(fileId);
    if (!file) return false;
    // An expiring file stays expiring: only promotion may save it from the sweep.
    if (file.state !== 'expiring') this.#files.set(fileId, { ...file, state: active ? 'active' : 'inactive' });
    return true;
  }

  async createAccount(account: NewAccount): Promise<Account> {
    this.#check();
    const fields = {
      email: account.email ?? null,
      displayName: account.displayName ?? null,
      isAdmin: account.isAdmin ?? false,
      state: 'enabled' as const,
      oidcIssuer: account.oidcIssuer ?? null,
      oidcSubject: account.oidcSubject ?? null,
    };
    // As the SQL unique constraints: NULLs never collide.
    const isTaken = [...this.#accounts.values()].some(
      (a) =>
        (fields.email !== null && a.email === fields.email) ||
        (fields.oidcIssuer !== null && fields.oidcSubject !== null && a.oidcIssuer === fields.oidcIssuer && a.oidcSubject === fields.oidcSubject),
    );
    if (isTaken) throw new AppError('BAD_REQUEST', 'the email or OIDC identity already has an account');
    const stored: Account = { accountId: this.#nextAccountId++, ...fields, createdAt: new Date() };
    this.#accounts.set(stored.accountId, stored);
    return structuredClone(stored);
  }

  async getAccount(accountId: number): Promise<Account | undefined> {
    this.#check();
    const account = this.#accounts.get(accountId);
    return account ? structuredClone(account) : undefined;
  }

  async findOidcAccount(issuer: string, subject: string): Promise<Account | undefined> {
    this.#check();
    const account = [...this.#accounts.values()].find((a) => a.oidcIssuer === issuer && a.oidcSubject === subject);
    return account ? structuredClone(account) : undefined;
  }

  async updateAccount(accountId: number, patch: AccountPatch): Promise<Account | undefined> {
    this.#check();
    const account = this.#accounts.get(accountId);
    if (!account) return undefined;
    const next = { ...account, ...definedFields(patch) };
    this.#accounts.set(accountId, next);
    return structuredClone(next);
  }

  async listOwners(hubSid: string): Promise<number[]> {
    this.#check();
    return [...(this.#owners.get(hubSid) ?? [])].sort((a, b) => a - b);
  }

  async addOwner(hubSid: string, accountId: number): Promise<boolean> {
    this.#check();
    if (!this.#hubs.has(hubSid) || !this.#accounts.has(accountId)) return false;
    this.#owners.set(hubSid, (this.#owners.get(hubSid) ?? new Set()).add(accountId));
    return true;
  }

  async removeOwner(hubSid: string, accountId: number): Promise<boolean> {
    this.#check();
    this.#owners.get(hubSid)?.delete(accountId);
    return this.#hubs.has(hubSid);
  }

  async claimCreator(hubSid: string, accountId: number, token: string): Promise<boolean> {
    this.#check();
    const hub = this.#hubs.get(hubSid);
    // '' is how a cleared token reads back (SQL stores NULL), so it never matches.
    if (!hub || hub.creatorAssignmentToken === '' || hub.creatorAssignmentToken !== token) return false;
    this.#hubs.set(hubSid, { ...hub, createdByAccountId: accountId, creatorAssignmentToken: '' });
    return true;
  }

  async createBan(ban: NewBan): Promise<Ban> {
    this.#check();
    if (ban.sessionId === null && ban.accountId === null) throw new TypeError('a ban needs a session or an account');
    this.#checkHub(ban.hubSid);
    const stored: Ban = { ...structuredClone(ban), banId: this.#nextBanId++, createdAt: new Date() };
    this.#bans.set(stored.banId, stored);
    return structuredClone(stored);
  }

  async listBans(hubSid: string, now: Date): Promise<Ban[]> {
    this.#check();
    return [...this.#bans.values()].filter((b) => b.hubSid === hubSid && (b.expiresAt === null || b.expiresAt > now)).map((b) => structuredClone(b));
  }

  async deleteBan(hubSid: string, banId: number): Promise<boolean> {
    this.#check();
    return this.#bans.get(banId)?.hubSid === hubSid && this.#bans.delete(banId);
  }

  async activeInvite(hubSid: string): Promise<string | undefined> {
    this.#check();
    return this.#invites.get(hubSid);
  }

  async createInvite(hubSid: string, inviteSid: string): Promise<void> {
    this.#check();
    this.#checkHub(hubSid);
    this.#invites.set(hubSid, inviteSid);
  }

  async revokeInvite(hubSid: string, inviteSid: string): Promise<boolean> {
    this.#check();
    return this.#invites.get(hubSid) === inviteSid && this.#invites.delete(hubSid);
  }

  async upsertRoomObject(hubSid: string, object: RoomObject): Promise<void> {
    this.#check();
    this.#checkHub(hubSid);
    // Map.set on a present key keeps its place: the listing is in first-pinned order.
    roomMap(this.#objects, hubSid).set(object.objectId, structuredClone(object));
  }

  async deleteRoomObject(hubSid: string, objectId: string): Promise<boolean> {
    this.#check();
    return this.#objects.get(hubSid)?.delete(objectId) ?? false;
  }

  async listRoomObjects(hubSid: string): Promise<RoomObject[]> {
    this.#check();
    return [...(this.#objects.get(hubSid)?.values() ?? [])].map((o) => structuredClone(o));
  }

  async saveSimState(hubSid: string, name: string, state: Payload): Promise<void> {
    this.#check();
    this.#checkHub(hubSid);
    roomMap(this.#sims, hubSid).set(name, { name, state: structuredClone(state), updatedAt: new Date() });
  }

  async listSimStates(hubSid: string): Promise<SimState[]> {
    this.#check();
    return [...(this.#sims.get(hubSid)?.values() ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((s) => structuredClone(s));
  }

  async deleteSimState(hubSid: string, name: string): Promise<boolean> {
    this.#check();
    return this.#sims.get(hubSid)?.delete(name) ?? false;
  }

  async saveEntityState(hubSid: string, state: EntityState): Promise<void> {
    this.#check();
    if (state.updates.some((u) => u.rootNid !== state.nid)) throw new TypeError(`every update of entity ${state.nid} must have it as root`);
    this.#checkHub(hubSid);
    const entities = roomMap(this.#entities, hubSid);
    if (entities.has(state.nid)) throw new AppError('ENTITY_EXISTS', `entity ${state.nid} already exists`);
    const { updates, ...entity } = structuredClone(state);
    entities.set(state.nid, entity);
    const stored = roomMap(this.#updates, hubSid);
    for (const u of updates) stored.set(u.nid, u);
  }

  async updateEntityState(hubSid: string, update: EntityUpdate): Promise<boolean> {
    this.#check();
    if (!this.#entities.get(hubSid)?.has(update.rootNid)) return false;
    roomMap(this.#updates, hubSid).set(update.nid, structuredClone(update));
    return true;
  }

  async deleteEntityState(hubSid: string, nid: string): Promise<boolean> {
    this.#check();
    this.#objects.get(hubSid)?.delete(nid);
    const updates = this.#updates.get(hubSid);
    for (const u of updates?.values() ?? []) if (u.rootNid === nid) updates?.delete(u.nid);
    return this.#entities.get(hubSid)?.delete(nid) ?? false;
  }

  async listEntityStates(hubSid: string): Promise<EntityState[]> {
    this.#check();
    const updates = [...(this.#updates.get(hubSid)?.values() ?? [])];
    return [...(this.#entities.get(hubSid)?.values() ?? [])].map((e) => structuredClone({ ...e, updates: updates.filter((u) => u.rootNid === e.nid) }));
  }

  async appendChat(hubSid: string, message: ChatMessage, keep: number): Promise<void> {
    this.#check();
    if (!this.#hubs.has(hubSid)) throw new AppError('HUB_NOT_FOUND', `no hub ${hubSid}`);
    const history = this.#chat.get(hubSid) ?? [];
    history.push({ ...structuredClone(message), createdAt: new Date() });
    this.#chat.set(hubSid, history.slice(-keep));
  }

  async listChat(hubSid: string, limit: number): Promise<ChatMessage[]> {
    this.#check();
    return structuredClone((this.#chat.get(hubSid) ?? []).slice(-limit));
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    this.#check();
    // An unknown room is not recorded against, as the SQL foreign key would have it.
    const hubSid = entry.hubSid !== null && this.#hubs.has(entry.hubSid) ? entry.hubSid : null;
    this.#audit.push({ ...structuredClone(entry), hubSid, at: new Date() });
  }

  async listAudit(hubSid: string, limit: number): Promise<AuditEntry[]> {
    this.#check();
    return this.#audit
      .filter((e) => e.hubSid === hubSid)
      .reverse()
      .slice(0, limit)
      .map((e) => structuredClone(e));
  }

  async ping(_timeoutMs: number): Promise<void> {
    this.#check();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
