/**
 * The SFU a room is assigned (parity 5.1 `hubs.host`, 7.5), recorded as
 * `name:port` (src/core/sfu-placement.ts); null until the room has one.
 * Forward-only; PostgreSQL 15 compatible, as 0001.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // A host name (at most 253 characters) in brackets, a colon and a port fit in 300.
  await db.schema.alterTable('hubs').addColumn('host', 'text', (c) => c.check(sql`char_length(host) <= 300`)).execute();
}
