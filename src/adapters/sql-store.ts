/**
 * The Store over SQL with kysely: one implementation for PostgreSQL and
 * PGlite, which differ only in how they connect (pg-store.ts,
 * pglite-store.ts). Semantics: src/ports/store.ts. Both drivers are set to
 * return bigint as number and timestamptz as Date, so rows look the same.
 */
import { Kysely, sql, type ColumnType, type Generated, type OnConflictBuilder, type Selectable } from 'kysely';
import { Migrator, type MigrationResult } from 'kysely/migration';
import { migrations } from '../../migrations/index.js';
import type { EntryMode, Hub } from '../core/hub.js';
import { AppError, type ErrorCodeName } from '../errors.js';
import type { Payload } from '../protocol/frames.js';
import type { Account, AccountPatch, AuditEntry, ChatMessage, Ban, EntityState, EntityUpdate, HubPatch, NewAccount, NewBan, RoomObject, SimState, Store, StoredFile } from '../ports/store.js';

type Json = ColumnType<Payload | null, string | null, string | null>;
type RequiredJson = ColumnType<Payload, string, string>;

export interface HubsTable {
  hub_id: Generated<number>;
  hub_sid: string;
  name: string;
  slug: string;
  description: string | null;
  user_data: Json;
  room_size: number;
  member_permissions: number;
  entry_mode: EntryMode;
  allow_promotion: boolean;
  creator_assignment_token: string | null;
  embed_token: string;
  embedded: Generated<boolean>;
  created_by_account_id: number | null;
  host: ColumnType<string | null, string | null | undefined, string | null>;
  last_active_at: Date | null;
  max_occupant_count: Generated<number>;
  spawned_object_types: Generated<number>;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface OwnedFilesTable {
  file_id: string;
  token_hash: string;
  promotion_token_hash: string | null;
  content_type: string;
  content_length: number;
  account_id: number | null;
  state: StoredFile['state'];
  created_at: ColumnType<Date, Date | undefined, never>;
  promoted_at: Date | null;
}

export interface AccountsTable {
  account_id: Generated<number>;
  email: string | null;
  display_name: string | null;
  is_admin: Generated<boolean>;
  state: Generated<Account['state']>;
  oidc_issuer: string | null;
  oidc_subject: string | null;
  created_at: Generated<Date>;
}

export interface HubRolesTable {
  hub_id: number;
  account_id: number;
  role: 'owner' | 'moderator';
  created_at: Generated<Date>;
}

export interface BansTable {
  ban_id: Generated<number>;
  hub_id: number;
  session_id: string | null;
  account_id: number | null;
  reason: string | null;
  banned_by_account_id: number | null;
  created_at: Generated<Date>;
  expires_at: Date | null;
}

export interface HubInvitesTable {
  hub_invite_id: Generated<number>;
  hub_id: number;
  invite_sid: string;
  state: 'active' | 'revoked';
  created_at: Generated<Date>;
}

export interface RoomObjectsTable {
  hub_id: number;
  object_id: string;
  gltf_node: RequiredJson;
  entity: Json;
  account_id: number | null;
  seq: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface SimStatesTable {
  hub_id: number;
  name: string;
  state: RequiredJson;
  updated_at: Generated<Date>;
}

export interface EntityStatesTable {
  hub_id: number;
  nid: string;
  create_message: RequiredJson;
  account_id: number | null;
  seq: Generated<number>;
  created_at: Generated<Date>;
}

export interface EntitySubStatesTable {
  hub_id: number;
  nid: string;
  root_nid: string;
  update_message: RequiredJson;
  seq: Generated<number>;
  updated_at: Generated<Date>;
}

export interface AuditLogTable {
  audit_id: Generated<number>;
  at: Generated<Date>;
  hub_id: number | null;
  actor_account_id: number | null;
  actor_session_id: string | null;
  action: string;
  target: string | null;
  details: Json;
}

export interface Database {
  hubs: HubsTable;
  owned_files: OwnedFilesTable;
  accounts: AccountsTable;
  hub_roles: HubRolesTable;
  bans: BansTable;
  hub_invites: HubInvitesTable;
  room_objects: RoomObjectsTable;
  sim_states: SimStatesTable;
  entity_states: EntityStatesTable;
  entity_sub_states: EntitySubStatesTable;
  audit_log: AuditLogTable;
  chat_messages: ChatMessagesTable;
}

export interface ChatMessagesTable {
  chat_message_id: Generated<number>;
  hub_id: number;
  session_id: string;
  account_id: number | null;
  type: string;
  body: ColumnType<unknown, string | null, string | null>;
  created_at: ColumnType<Date, Date | undefined, never>;
}

function toFile(row: Selectable<OwnedFilesTable>): StoredFile {
  return {
    fileId: row.file_id,
    tokenHash: row.token_hash,
    promotionTokenHash: row.promotion_token_hash,
    contentType: row.content_type,
    contentLength: row.content_length,
    state: row.state,
    createdAt: row.created_at,
  };
}

const UNIQUE_VIOLATION = '23505';

function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function toHub(row: Selectable<HubsTable>): Hub {
  return {
    hubSid: row.hub_sid,
    name: row.name,
    slug: row.slug,
    description: row.description,
    userData: row.user_data,
    roomSize: row.room_size,
    memberPermissions: row.member_permissions,
    entryMode: row.entry_mode,
    allowPromotion: row.allow_promotion,
    creatorAssignmentToken: row.creator_assignment_token ?? '',
    embedToken: row.embed_token,
    embedded: row.embedded,
    createdByAccountId: row.created_by_account_id,
    host: row.host,
    createdAt: row.created_at,
  };
}

function toAccount(row: Selectable<AccountsTable>): Account {
  return {
    accountId: row.account_id,
    email: row.email,
    displayName: row.display_name,
    isAdmin: row.is_admin,
    state: row.state,
    oidcIssuer: row.oidc_issuer,
    oidcSubject: row.oidc_subject,
    createdAt: row.created_at,
  };
}

function toBan(hubSid: string, row: Selectable<BansTable>): Ban {
  return {
    banId: row.ban_id,
    hubSid,
    sessionId: row.session_id,
    accountId: row.account_id,
    reason: row.reason,
    bannedByAccountId: row.banned_by_account_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

/** Parity: Ret.insert_or_update_sub_entity; a later update for a nid replaces the earlier one but keeps its place. */
const replaceSubState = (oc: OnConflictBuilder<Database, 'entity_sub_states'>) =>
  oc.columns(['hub_id', 'nid']).doUpdateSet((eb) => ({ root_nid: eb.ref('excluded.root_nid'), update_message: eb.ref('excluded.update_message'), updated_at: sql<Date>`now()` }));

const json = (value: Payload | null | undefined): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

/**
 * Applies every migration not yet applied, one at a time, telling `onApplied`
 * of each as it lands; resolves to the names applied now. A failed one stops
 * there, its own changes rolled back where the database allows.
 */
export async function migrateToLatest(db: Kysely<unknown>, onApplied?: (name: string) => void): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } });
  const applied: string[] = [];
  for (;;) {
    const { error, results } = await migrator.migrateUp();
    if (error) throw new AppError('PERSIST_FAILED', 'database migration failed', { cause: error });
    const done = (results ?? []).filter((r: MigrationResult) => r.status === 'Success').map((r: MigrationResult) => r.migrationName);
    if (done.length === 0) return applied;
    for (const name of done) {
      applied.push(name);
      onApplied?.(name);
    }
  }
}

export class SqlStore implements Store {
  readonly #db: Kysely<Database>;
  #closing: Promise<void> | undefined;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** For migrations and tools. */
  get db(): Kysely<Database> {
    return this.#db;
  }

  #check(): void {
    if (this.#closing) throw new AppError('CLOSED', 'store is closed');
  }

  async #write<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.#check();
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('PERSIST_FAILED', `could not ${what}`, { cause: err });
    }
  }

  /** An insert whose unique key may be taken: that is `code` (`duplicate`), anything else PERSIST_FAILED. */
  async #insert<T>(what: string, duplicate: string, fn: () => Promise<T>, code: ErrorCodeName = 'BAD_REQUEST'): Promise<T> {
    return this.#write(what, async () => {
      try {
        return await fn();
      } catch (err) {
        if (pgCode(err) === UNIQUE_VIOLATION) throw new AppError(code, duplicate, { cause: err });
        throw err;
      }
    });
  }

  async #read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.#check();
    try {
      return await fn();
    } catch (err) {
      throw new AppError('STORE_UNAVAILABLE', `could not ${what}`, { cause: err });
    }
  }

  /** The room's hub_id as a subquery: callers address rooms by sid, rows reference the id. */
  #hubId(hubSid: string) {
    return this.#db.selectFrom('hubs').select('hub_id').where('hub_sid', '=', hubSid);
  }

  async createHub(hub: Hub): Promise<void> {
    await this.#insert('store the hub', `hub ${hub.hubSid} already exists`, () =>
      this.#db
          .insertInto('hubs')
          .values({
            hub_sid: hub.hubSid,
            name: hub.name,
            slug: hub.slug,
            description: hub.description,
            user_data: json(hub.userData),
            room_size: hub.roomSize,
            member_permissions: hub.memberPermissions,
            entry_mode: hub.entryMode,
            allow_promotion: hub.allowPromotion,
            creator_assignment_token: hub.creatorAssignmentToken,
            embed_token: hub.embedToken,
            embedded: hub.embedded,
            created_by_account_id: hub.createdByAccountId,
            host: hub.host,
            last_active_at: null,
            created_at: hub.createdAt,
          })
          .execute(),
    );
  }

  async getHub(hubSid: string): Promise<Hub | undefined> {
    const row = await this.#read('read the hub', () => this.#db.selectFrom('hubs').selectAll().where('hub_sid', '=', hubSid).executeTakeFirst());
    return row ? toHub(row) : undefined;
  }

  async updateHub(hubSid: string, patch: HubPatch): Promise<Hub | undefined> {
    const row = await this.#write('update the hub', () =>
      this.#db
        .updateTable('hubs')
        .set({
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.slug !== undefined ? { slug: patch.slug } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          ...(patch.userData !== undefined ? { user_data: json(patch.userData) } : {}),
          ...(patch.roomSize !== undefined ? { room_size: patch.roomSize } : {}),
          ...(patch.memberPermissions !== undefined ? { member_permissions: patch.memberPermissions } : {}),
          ...(patch.allowPromotion !== undefined ? { allow_promotion: patch.allowPromotion } : {}),
          ...(patch.entryMode !== undefined ? { entry_mode: patch.entryMode } : {}),
          ...(patch.embedded !== undefined ? { embedded: patch.embedded } : {}),
          updated_at: sql<Date>`now()`,
        })
        .where('hub_sid', '=', hubSid)
        .returningAll()
        .executeTakeFirst(),
    );
    return row ? toHub(row) : undefined;
  }

  async setHubHost(hubSid: string, host: string | null, ifHost: string | null): Promise<string | null | undefined> {
    // One conditional UPDATE: the row lock makes it a compare-and-set under concurrent writers.
    const updated = await this.#write('record the room host', () =>
      this.#db
        .updateTable('hubs')
        .set({ host, updated_at: sql<Date>`now()` })
        .where('hub_sid', '=', hubSid)
        .where((eb) => (ifHost === null ? eb('host', 'is', null) : eb('host', '=', ifHost)))
        .returning('host')
        .executeTakeFirst(),
    );
    if (updated) return updated.host;
    const row = await this.#read('read the room host', () => this.#db.selectFrom('hubs').select('host').where('hub_sid', '=', hubSid).executeTakeFirst());
    return row?.host;
  }

  async listPublicHubs(limit: number): Promise<Hub[]> {
    const rows = await this.#read('list hubs', () =>
      this.#db.selectFrom('hubs').selectAll().where('allow_promotion', '=', true).orderBy('created_at', 'desc').orderBy('hub_id', 'desc').limit(limit).execute(),
    );
    return rows.map(toHub);
  }

  async listHubs(limit: number): Promise<Hub[]> {
    const rows = await this.#read('list hubs', () => this.#db.selectFrom('hubs').selectAll().orderBy('created_at', 'desc').orderBy('hub_id', 'desc').limit(limit).execute());
    return rows.map(toHub);
  }

  async createFile(file: StoredFile): Promise<void> {
    await this.#insert('store the file record', `file ${file.fileId} already exists`, () =>
      this.#db
          .insertInto('owned_files')
          .values({
            file_id: file.fileId,
            token_hash: file.tokenHash,
            promotion_token_hash: file.promotionTokenHash,
            content_type: file.contentType,
            content_length: file.contentLength,
            account_id: null,
            state: file.state,
            created_at: file.createdAt,
            promoted_at: null,
          })
          .execute(),
    );
  }

  async getFile(fileId: string): Promise<StoredFile | undefined> {
    const row = await this.#read('read the file record', () => this.#db.selectFrom('owned_files').selectAll().where('file_id', '=', fileId).executeTakeFirst());
    return row ? toFile(row) : undefined;
  }

  async promoteFile(fileId: string): Promise<boolean> {
    return this.#write('promote the file', async () => {
      await this.#db.updateTable('owned_files').set({ state: 'active', promoted_at: sql<Date>`now()` }).where('file_id', '=', fileId).where('state', '=', 'expiring').execute();
      return (await this.#db.selectFrom('owned_files').select('file_id').where('file_id', '=', fileId).executeTakeFirst()) !== undefined;
    });
  }

  async listExpiredFiles(createdBefore: Date, limit: number): Promise<string[]> {
    const rows = await this.#read('list expired files', () =>
      this.#db.selectFrom('owned_files').select('file_id').where('state', '=', 'expiring').where('created_at', '<', createdBefore).orderBy('created_at').limit(limit).execute(),
    );
    return rows.map((r) => r.file_id);
  }

  async deleteFile(fileId: string): Promise<void> {
    await this.#write('delete the file record', () => this.#db.deleteFrom('owned_files').where('file_id', '=', fileId).execute());
  }

  async setFileActive(fileId: string, active: boolean): Promise<boolean> {
    return this.#write('mark the file', async () => {
      // An expiring file stays expiring: only promotion may save it from the sweep.
      await this.#db.updateTable('owned_files').set({ state: active ? 'active' : 'inactive' }).where('file_id', '=', fileId).where('state', '<>', 'expiring').execute();
      return (await this.#db.selectFrom('owned_files').select('file_id').where('file_id', '=', fileId).executeTakeFirst()) !== undefined;
    });
  }

  async createAccount(account: NewAccount): Promise<Account> {
    const row = await this.#insert('store the account', 'the email or OIDC identity already has an account', () =>
      this.#db
        .insertInto('accounts')
        .values({
          email: account.email ?? null,
          display_name: account.displayName ?? null,
          is_admin: account.isAdmin ?? false,
          oidc_issuer: account.oidcIssuer ?? null,
          oidc_subject: account.oidcSubject ?? null,
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return toAccount(row);
  }

  async getAccount(accountId: number): Promise<Account | undefined> {
    const row = await this.#read('read the account', () => this.#db.selectFrom('accounts').selectAll().where('account_id', '=', accountId).executeTakeFirst());
    return row ? toAccount(row) : undefined;
  }

  async findOidcAccount(issuer: string, subject: string): Promise<Account | undefined> {
    const row = await this.#read('read the account', () =>
      this.#db.selectFrom('accounts').selectAll().where('oidc_issuer', '=', issuer).where('oidc_subject', '=', subject).executeTakeFirst(),
    );
    return row ? toAccount(row) : undefined;
  }

  async updateAccount(accountId: number, patch: AccountPatch): Promise<Account | undefined> {
    const changes = {
      ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
      ...(patch.isAdmin !== undefined ? { is_admin: patch.isAdmin } : {}),
      ...(patch.state !== undefined ? { state: patch.state } : {}),
    };
    // An UPDATE needs at least one column, and accounts have no updated_at to set.
    if (Object.keys(changes).length === 0) return this.getAccount(accountId);
    const row = await this.#write('update the account', () => this.#db.updateTable('accounts').set(changes).where('account_id', '=', accountId).returningAll().executeTakeFirst());
    return row ? toAccount(row) : undefined;
  }

  async listOwners(hubSid: string): Promise<number[]> {
    const rows = await this.#read('list owners', () =>
      this.#db.selectFrom('hub_roles').select('account_id').where('hub_id', '=', this.#hubId(hubSid)).where('role', '=', 'owner').orderBy('account_id').execute(),
    );
    return rows.map((r) => r.account_id);
  }

  async addOwner(hubSid: string, accountId: number): Promise<boolean> {
    // The cross join yields no row, so inserts nothing, when the room or the account is missing.
    const row = await this.#write('add the owner', () =>
      this.#db
        .insertInto('hub_roles')
        .columns(['hub_id', 'account_id', 'role'])
        .expression((eb) =>
          eb
            .selectFrom(['hubs', 'accounts'])
            .select(['hubs.hub_id', 'accounts.account_id', sql.lit('owner').as('role')])
            .where('hubs.hub_sid', '=', hubSid)
            .where('accounts.account_id', '=', accountId),
        )
        .onConflict((oc) => oc.columns(['hub_id', 'account_id']).doUpdateSet({ role: 'owner' }))
        .returning('account_id')
        .executeTakeFirst(),
    );
    return row !== undefined;
  }

  async removeOwner(hubSid: string, accountId: number): Promise<boolean> {
    // One statement: the delete runs as a CTE, the select tells whether the room exists.
    const hub = await this.#write('remove the owner', () =>
      this.#db
        .with('removed', (db) => db.deleteFrom('hub_roles').where('hub_id', '=', this.#hubId(hubSid)).where('account_id', '=', accountId).where('role', '=', 'owner').returning('account_id'))
        .selectFrom('hubs')
        .select('hub_id')
        .where('hub_sid', '=', hubSid)
        .executeTakeFirst(),
    );
    return hub !== undefined;
  }

  async claimCreator(hubSid: string, accountId: number, token: string): Promise<boolean> {
    // Parity: RetWeb.HubChannel sign_in with creator_assignment_token; clearing the token makes the claim single-use.
    const result = await this.#write('claim the hub', () =>
      this.#db
        .updateTable('hubs')
        .set({ created_by_account_id: accountId, creator_assignment_token: null, updated_at: sql<Date>`now()` })
        .where('hub_sid', '=', hubSid)
        .where('creator_assignment_token', '=', token)
        .executeTakeFirst(),
    );
    return result.numUpdatedRows > 0n;
  }

  async createBan(ban: NewBan): Promise<Ban> {
    if (ban.sessionId === null && ban.accountId === null) throw new TypeError('a ban needs a session or an account');
    const row = await this.#write('store the ban', () =>
      this.#db
        .insertInto('bans')
        .columns(['hub_id', 'session_id', 'account_id', 'reason', 'banned_by_account_id', 'expires_at'])
        .expression((eb) =>
          eb
            .selectFrom('hubs')
            .select([
              'hub_id',
              eb.val(ban.sessionId).as('session_id'),
              eb.val(ban.accountId).as('account_id'),
              eb.val(ban.reason).as('reason'),
              eb.val(ban.bannedByAccountId).as('banned_by_account_id'),
              eb.val(ban.expiresAt).as('expires_at'),
            ])
            .where('hub_sid', '=', ban.hubSid),
        )
        .returningAll()
        .executeTakeFirst(),
    );
    if (!row) throw new AppError('HUB_NOT_FOUND', `no hub ${ban.hubSid}`);
    return toBan(ban.hubSid, row);
  }

  async listBans(hubSid: string, now: Date): Promise<Ban[]> {
    const rows = await this.#read('list bans', () =>
      this.#db
        .selectFrom('bans')
        .selectAll()
        .where('hub_id', '=', this.#hubId(hubSid))
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .orderBy('created_at')
        .orderBy('ban_id')
        .execute(),
    );
    return rows.map((row) => toBan(hubSid, row));
  }

  async deleteBan(hubSid: string, banId: number): Promise<boolean> {
    const result = await this.#write('delete the ban', () =>
      this.#db.deleteFrom('bans').where('ban_id', '=', banId).where('hub_id', '=', this.#hubId(hubSid)).executeTakeFirst(),
    );
    return result.numDeletedRows > 0n;
  }

  async activeInvite(hubSid: string): Promise<string | undefined> {
    const row = await this.#read('read the invite', () =>
      this.#db.selectFrom('hub_invites').select('invite_sid').where('hub_id', '=', this.#hubId(hubSid)).where('state', '=', 'active').executeTakeFirst(),
    );
    return row?.invite_sid;
  }

  async createInvite(hubSid: string, inviteSid: string): Promise<void> {
    await this.#write('store the invite', () =>
      this.#db.transaction().execute(async (trx) => {
        // Locking the room serializes two creates, which would otherwise both insert an active invite.
        const hub = await trx.selectFrom('hubs').select('hub_id').where('hub_sid', '=', hubSid).forUpdate().executeTakeFirst();
        if (!hub) throw new AppError('HUB_NOT_FOUND', `no hub ${hubSid}`);
        await trx.updateTable('hub_invites').set({ state: 'revoked' }).where('hub_id', '=', hub.hub_id).where('state', '=', 'active').execute();
        await trx.insertInto('hub_invites').values({ hub_id: hub.hub_id, invite_sid: inviteSid, state: 'active' }).execute();
      }),
    );
  }

  async revokeInvite(hubSid: string, inviteSid: string): Promise<boolean> {
    const result = await this.#write('revoke the invite', () =>
      this.#db
        .updateTable('hub_invites')
        .set({ state: 'revoked' })
        .where('invite_sid', '=', inviteSid)
        .where('hub_id', '=', this.#hubId(hubSid))
        .where('state', '=', 'active')
        .executeTakeFirst(),
    );
    return result.numUpdatedRows > 0n;
  }

  async upsertRoomObject(hubSid: string, object: RoomObject): Promise<void> {
    const row = await this.#write('pin the object', () =>
      this.#db
        .insertInto('room_objects')
        .columns(['hub_id', 'object_id', 'gltf_node', 'entity', 'account_id'])
        .expression((eb) =>
          eb
            .selectFrom('hubs')
            .select([
              'hub_id',
              eb.val(object.objectId).as('object_id'),
              eb.val(JSON.stringify(object.gltfNode)).as('gltf_node'),
              eb.val(json(object.entity)).as('entity'),
              eb.val(object.accountId).as('account_id'),
            ])
            .where('hub_sid', '=', hubSid),
        )
        // The row keeps created_at and seq, so the object keeps its place in the listing.
        .onConflict((oc) =>
          oc.columns(['hub_id', 'object_id']).doUpdateSet((eb) => ({
            gltf_node: eb.ref('excluded.gltf_node'),
            entity: eb.ref('excluded.entity'),
            account_id: eb.ref('excluded.account_id'),
            updated_at: sql<Date>`now()`,
          })),
        )
        .returning('object_id')
        .executeTakeFirst(),
    );
    if (!row) throw new AppError('HUB_NOT_FOUND', `no hub ${hubSid}`);
  }

  async deleteRoomObject(hubSid: string, objectId: string): Promise<boolean> {
    const result = await this.#write('unpin the object', () =>
      this.#db.deleteFrom('room_objects').where('hub_id', '=', this.#hubId(hubSid)).where('object_id', '=', objectId).executeTakeFirst(),
    );
    return result.numDeletedRows > 0n;
  }

  async listRoomObjects(hubSid: string): Promise<RoomObject[]> {
    const rows = await this.#read('list pinned objects', () =>
      this.#db
        .selectFrom('room_objects')
        .select(['object_id', 'gltf_node', 'entity', 'account_id'])
        .where('hub_id', '=', this.#hubId(hubSid))
        .orderBy('created_at')
        .orderBy('seq')
        .execute(),
    );
    return rows.map((r) => ({ objectId: r.object_id, gltfNode: r.gltf_node, entity: r.entity, accountId: r.account_id }));
  }

  async saveSimState(hubSid: string, name: string, state: Payload): Promise<void> {
    const row = await this.#write('save the simulation state', () =>
      this.#db
        .insertInto('sim_states')
        .columns(['hub_id', 'name', 'state'])
        .expression((eb) => eb.selectFrom('hubs').select(['hub_id', eb.val(name).as('name'), eb.val(JSON.stringify(state)).as('state')]).where('hub_sid', '=', hubSid))
        .onConflict((oc) => oc.columns(['hub_id', 'name']).doUpdateSet((eb) => ({ state: eb.ref('excluded.state'), updated_at: sql<Date>`now()` })))
        .returning('name')
        .executeTakeFirst(),
    );
    if (!row) throw new AppError('HUB_NOT_FOUND', `no hub ${hubSid}`);
  }

  async listSimStates(hubSid: string): Promise<SimState[]> {
    const rows = await this.#read('list simulation states', () =>
      this.#db.selectFrom('sim_states').select(['name', 'state', 'updated_at']).where('hub_id', '=', this.#hubId(hubSid)).orderBy('name').execute(),
    );
    return rows.map((r) => ({ name: r.name, state: r.state, updatedAt: new Date(r.updated_at) }));
  }

  async deleteSimState(hubSid: string, name: string): Promise<boolean> {
    const result = await this.#write('delete the simulation state', () =>
      this.#db.deleteFrom('sim_states').where('hub_id', '=', this.#hubId(hubSid)).where('name', '=', name).executeTakeFirst(),
    );
    return result.numDeletedRows > 0n;
  }

  async saveEntityState(hubSid: string, state: EntityState): Promise<void> {
    if (state.updates.some((u) => u.rootNid !== state.nid)) throw new TypeError(`every update of entity ${state.nid} must have it as root`);
    await this.#insert(
      'save the entity state',
      `entity ${state.nid} already exists`,
      () =>
        this.#db.transaction().execute(async (trx) => {
          const row = await trx
            .insertInto('entity_states')
            .columns(['hub_id', 'nid', 'create_message', 'account_id'])
            .expression((eb) =>
              eb
                .selectFrom('hubs')
                .select(['hub_id', eb.val(state.nid).as('nid'), eb.val(JSON.stringify(state.createMessage)).as('create_message'), eb.val(state.accountId).as('account_id')])
                .where('hub_sid', '=', hubSid),
            )
            .returning('hub_id')
            .executeTakeFirst();
          if (!row) throw new AppError('HUB_NOT_FOUND', `no hub ${hubSid}`);
          if (state.updates.length === 0) return;
          await trx
            .insertInto('entity_sub_states')
            .values(state.updates.map((u) => ({ hub_id: row.hub_id, nid: u.nid, root_nid: u.rootNid, update_message: JSON.stringify(u.updateMessage) })))
            .onConflict(replaceSubState)
            .execute();
        }),
      'ENTITY_EXISTS',
    );
  }

  async updateEntityState(hubSid: string, update: EntityUpdate): Promise<boolean> {
    // Selecting from the root entity inserts nothing when it does not exist (in this room, unlike Reticulum).
    const row = await this.#write('save the entity update', () =>
      this.#db
        .insertInto('entity_sub_states')
        .columns(['hub_id', 'nid', 'root_nid', 'update_message'])
        .expression((eb) =>
          eb
            .selectFrom('entity_states')
            .select(['hub_id', eb.val(update.nid).as('nid'), eb.val(update.rootNid).as('root_nid'), eb.val(JSON.stringify(update.updateMessage)).as('update_message')])
            .where('hub_id', '=', this.#hubId(hubSid))
            .where('entity_states.nid', '=', update.rootNid),
        )
        .onConflict(replaceSubState)
        .returning('nid')
        .executeTakeFirst(),
    );
    return row !== undefined;
  }

  async deleteEntityState(hubSid: string, nid: string): Promise<boolean> {
    // Parity: Ret.delete_entity also unpins the room_object of that nid. Updates go by the foreign key's cascade.
    return this.#write('delete the entity state', () =>
      this.#db.transaction().execute(async (trx) => {
        await trx.deleteFrom('room_objects').where('hub_id', '=', this.#hubId(hubSid)).where('object_id', '=', nid).execute();
        const result = await trx.deleteFrom('entity_states').where('hub_id', '=', this.#hubId(hubSid)).where('nid', '=', nid).executeTakeFirst();
        return result.numDeletedRows > 0n;
      }),
    );
  }

  async listEntityStates(hubSid: string): Promise<EntityState[]> {
    // One statement, so entities and their updates come from the same snapshot.
    const rows = await this.#read('list entity states', () =>
      this.#db
        .selectFrom('entity_states as e')
        .leftJoin('entity_sub_states as s', (j) => j.onRef('s.hub_id', '=', 'e.hub_id').onRef('s.root_nid', '=', 'e.nid'))
        .select(['e.nid', 'e.create_message', 'e.account_id', 's.nid as sub_nid', 's.update_message'])
        .where('e.hub_id', '=', this.#hubId(hubSid))
        .orderBy('e.created_at')
        .orderBy('e.seq')
        .orderBy('s.seq')
        .execute(),
    );
    const states = new Map<string, { nid: string; createMessage: Payload; accountId: number | null; updates: EntityUpdate[] }>();
    for (const r of rows) {
      let state = states.get(r.nid);
      if (!state) states.set(r.nid, (state = { nid: r.nid, createMessage: r.create_message, accountId: r.account_id, updates: [] }));
      if (r.sub_nid !== null && r.update_message !== null) state.updates.push({ nid: r.sub_nid, rootNid: r.nid, updateMessage: r.update_message });
    }
    return [...states.values()];
  }

  async appendChat(hubSid: string, message: ChatMessage, keep: number): Promise<void> {
    await this.#write('store the chat message', async () => {
      const hub = await this.#db.selectFrom('hubs').select('hub_id').where('hub_sid', '=', hubSid).executeTakeFirst();
      if (!hub) throw new AppError('HUB_NOT_FOUND', `no hub ${hubSid}`);
      await this.#db.transaction().execute(async (tx) => {
        await tx
          .insertInto('chat_messages')
          .values({ hub_id: hub.hub_id, session_id: message.sessionId, account_id: message.accountId, type: message.type, body: message.body === undefined ? null : JSON.stringify(message.body) })
          .execute();
        // Keep the newest `keep`: everything older than the keep-th newest goes.
        const cutoff = await tx.selectFrom('chat_messages').select('chat_message_id').where('hub_id', '=', hub.hub_id).orderBy('chat_message_id', 'desc').offset(keep).limit(1).executeTakeFirst();
        if (cutoff) await tx.deleteFrom('chat_messages').where('hub_id', '=', hub.hub_id).where('chat_message_id', '<=', cutoff.chat_message_id).execute();
      });
    });
  }

  async listChat(hubSid: string, limit: number): Promise<ChatMessage[]> {
    const rows = await this.#read('list chat messages', () =>
      this.#db.selectFrom('chat_messages').selectAll().where('hub_id', '=', this.#hubId(hubSid)).orderBy('chat_message_id', 'desc').limit(limit).execute(),
    );
    return rows.reverse().map((r) => ({ sessionId: r.session_id, accountId: r.account_id, type: r.type, body: r.body, createdAt: r.created_at }));
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.#write('record the audit entry', () =>
      this.#db
        .insertInto('audit_log')
        .values({
          hub_id: entry.hubSid === null ? null : this.#hubId(entry.hubSid),
          actor_account_id: entry.actorAccountId,
          actor_session_id: entry.actorSessionId,
          action: entry.action,
          target: entry.target,
          details: json(entry.details),
        })
        .execute(),
    );
  }

  async listAudit(hubSid: string, limit: number): Promise<AuditEntry[]> {
    const rows = await this.#read('list audit entries', () =>
      this.#db.selectFrom('audit_log').selectAll().where('hub_id', '=', this.#hubId(hubSid)).orderBy('at', 'desc').orderBy('audit_id', 'desc').limit(limit).execute(),
    );
    return rows.map((r) => ({
      hubSid,
      actorAccountId: r.actor_account_id,
      actorSessionId: r.actor_session_id,
      action: r.action,
      target: r.target,
      details: r.details,
      at: r.at,
    }));
  }

  async ping(timeoutMs: number): Promise<void> {
    this.#check();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AppError('STORE_UNAVAILABLE', `the database did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([sql`select 1`.execute(this.#db), timeout]);
    } catch (err) {
      throw err instanceof AppError ? err : new AppError('STORE_UNAVAILABLE', 'the database did not answer', { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.#closing ??= this.#db.destroy();
    await this.#closing;
  }
}
