/**
 * The Store over SQL with kysely: one implementation for PostgreSQL and
 * PGlite, which differ only in how they connect (pg-store.ts,
 * pglite-store.ts). Semantics: src/ports/store.ts. Both drivers are set to
 * return bigint as number and timestamptz as Date, so rows look the same.
 */
import { Kysely, sql, type ColumnType, type Generated, type Selectable } from 'kysely';
import { Migrator, type MigrationResult } from 'kysely/migration';
import { migrations } from '../../migrations/index.js';
import type { EntryMode, Hub } from '../core/hub.js';
import { AppError } from '../errors.js';
import type { Payload } from '../protocol/frames.js';
import type { HubPatch, Store, StoredFile } from '../ports/store.js';

type Json = ColumnType<Payload | null, string | null, string | null>;

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

export interface Database {
  hubs: HubsTable;
  owned_files: OwnedFilesTable;
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
    createdAt: row.created_at,
  };
}

const json = (value: Payload | null | undefined): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

/** Applies every migration not yet applied; resolves to the names applied now. */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw new AppError('PERSIST_FAILED', 'database migration failed', { cause: error });
  return (results ?? []).filter((r: MigrationResult) => r.status === 'Success').map((r: MigrationResult) => r.migrationName);
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

  /** An insert whose unique key may be taken: that is BAD_REQUEST (`duplicate`), anything else PERSIST_FAILED. */
  async #insert(what: string, duplicate: string, fn: () => Promise<unknown>): Promise<void> {
    await this.#write(what, async () => {
      try {
        await fn();
      } catch (err) {
        if (pgCode(err) === UNIQUE_VIOLATION) throw new AppError('BAD_REQUEST', duplicate, { cause: err });
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
            created_by_account_id: null,
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
          updated_at: sql<Date>`now()`,
        })
        .where('hub_sid', '=', hubSid)
        .returningAll()
        .executeTakeFirst(),
    );
    return row ? toHub(row) : undefined;
  }

  async listPublicHubs(limit: number): Promise<Hub[]> {
    const rows = await this.#read('list hubs', () =>
      this.#db.selectFrom('hubs').selectAll().where('allow_promotion', '=', true).orderBy('created_at', 'desc').orderBy('hub_id', 'desc').limit(limit).execute(),
    );
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
