/**
 * PGlite stores for tests. Starting PGlite and migrating takes seconds, so a
 * migrated database is made once per worker and each store loads a copy.
 */
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect } from 'kysely';
import { migrateToLatest, SqlStore, type Database } from '../../src/adapters/sql-store.js';

let template: Promise<Blob> | undefined;

function migratedTemplate(): Promise<Blob> {
  template ??= (async () => {
    const pglite = await PGlite.create();
    await migrateToLatest(new Kysely<unknown>({ dialect: new PGliteDialect({ pglite }) }));
    const dump = await pglite.dumpDataDir('none');
    await pglite.close();
    return dump;
  })();
  return template;
}

/** A fresh, migrated, in-memory PGlite store, as the embedded adapter builds it. */
export async function freshPgliteStore(): Promise<SqlStore> {
  const pglite = await PGlite.create({ loadDataDir: await migratedTemplate(), parsers: { 20: (v: string) => Number(v) } });
  return new SqlStore(new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) }));
}
