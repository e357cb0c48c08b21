/**
 * The store on a PostgreSQL server (DATABASE_URL), through a pg pool.
 * Same schema and queries as PGlite (sql-store.ts).
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest, SqlStore, type Database } from './sql-store.js';

const INT8 = 20;

export interface PgStoreOptions {
  readonly url: string;
  readonly migrate?: boolean;
  readonly poolSize?: number;
}

export async function openPgStore(opts: PgStoreOptions): Promise<SqlStore> {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
    // bigint as number, as PGlite gives it: our ids stay far below 2^53.
    types: { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) },
  });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  // Nor one checked out at that moment: pg-pool listens for errors only on idle clients, and a client
  // with no listener throws its 'error' event. Its query rejects anyway, and the pool drops it on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  if (opts.migrate ?? true) await migrateToLatest(db as Kysely<unknown>);
  return new SqlStore(db);
}
