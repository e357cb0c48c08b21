/**
 * The embedded store: PostgreSQL in WASM (PGlite) with its files under the
 * data directory. Same schema and queries as PostgreSQL (sql-store.ts).
 */
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect } from 'kysely';
import { migrateToLatest, SqlStore, type Database } from './sql-store.js';

const INT8 = 20;

export interface PgliteStoreOptions {
  /** Where PGlite keeps its files; omitted, the database lives in memory. */
  readonly dir?: string;
  readonly migrate?: boolean;
}

export async function openPgliteStore(opts: PgliteStoreOptions): Promise<SqlStore> {
  if (opts.dir !== undefined) await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const pglite = await PGlite.create(opts.dir, { parsers: { [INT8]: (v: string) => Number(v) } });
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  if (opts.migrate ?? true) await migrateToLatest(db as Kysely<unknown>);
  return new SqlStore(db);
}
